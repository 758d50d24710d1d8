"""Newest-first pages keyed by id: `before` is the id to list below, and one row more than
asked says whether there is a next page, without a COUNT."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .db import MAX_ID

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
# Below every id: the first page.
TOP = MAX_ID


def fetch_size(limit: int) -> int:
    """How many rows to ask for: one more than the page."""
    return limit + 1


def below(before: int | None) -> int:
    return TOP if before is None else before


def split(rows: Sequence[Any], limit: int) -> tuple[Sequence[Any], int | None]:
    """The page, and the `before` of the next one (None at the end)."""
    page = rows[:limit]
    return page, (page[-1]["id"] if len(rows) > limit else None)
