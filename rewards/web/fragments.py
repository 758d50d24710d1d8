"""Parts of a page that are the same for every request sharing a few facts, drawn once and kept.

The console's navigation, its language switch and its bars' legend are on every console page;
drawn each time, they cost a dashboard about a seventh of its time (bench/ANALYSIS.md). What such
a part shows must follow only from the facts it is kept by, the page's language and the mount
point.
"""

from __future__ import annotations

from collections.abc import Hashable
from functools import lru_cache

from flask import render_template, request
from markupsafe import Markup

from .i18n import page_language


def fragment(template: str, **facts: Hashable) -> Markup:
    """`template` drawn with `facts` as its variables."""
    return _drawn(template, request.script_root, page_language(), tuple(sorted(facts.items())))


@lru_cache(maxsize=512)
def _drawn(template: str, _script_root: str, _language: str, facts: tuple[tuple[str, Hashable], ...]) -> Markup:
    return Markup(render_template(template, **dict(facts)))
