"""The files the commands write (gen-coupons --output, print-batch, backup): they hold live coupon
tokens and phone numbers, so each is made readable by its owner only (0600) from the moment it
exists, written beside its target under a hidden name, made durable, and renamed over the target
only when whole. A failure or Ctrl-C part-way removes the part and leaves the target as it was,
so `--force` never costs the file it would have replaced. (A SIGKILL can leave the hidden
`.NAME.*.part` file; it is private, and its tokens name no coupon anyone can see.)
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import click

PRIVATE = 0o600


def check_target(target: Path, param_hint: str) -> None:
    """Exit 2 for a target that is a symbolic link (dangling or not: writing through it would
    create or replace a file elsewhere) or whose folder does not exist."""
    if target.is_symlink():
        raise click.BadParameter(f"{target} is a symbolic link; name a plain file", param_hint=param_hint)
    if not target.parent.is_dir():
        raise click.BadParameter(f"the folder {target.parent} does not exist", param_hint=param_hint)


@contextmanager
def replaced_when_done(target: Path, param_hint: str) -> Iterator[Path]:
    """An empty private file beside `target` for the block to fill by its path; renamed over
    `target` when the block ends, removed if it raises."""
    with _part_beside(target, param_hint) as (handle, part):
        os.close(handle)
        yield part
        _sync(part)


@contextmanager
def written_in_place(target: Path, param_hint: str, *, binary: bool = False) -> Iterator[IO]:
    """A new private file beside `target`, open for writing; renamed over `target` when the
    block ends, removed if it raises."""
    with _part_beside(target, param_hint) as (handle, part):
        text = {} if binary else {"newline": "", "encoding": "utf-8"}
        with os.fdopen(handle, "wb" if binary else "w", **text) as out:
            yield out
            sync(out)


@contextmanager
def _part_beside(target: Path, param_hint: str) -> Iterator[tuple[int, Path]]:
    """The hidden part file (its open handle and its path), put in place of `target` when the
    block ends, removed if it raises (Ctrl-C included)."""
    handle, part = _new_part(target, param_hint)
    try:
        yield handle, part
        _put_in_place(part, target)
    except BaseException:
        part.unlink(missing_ok=True)
        raise


def sync(out: IO) -> None:
    """What was written to `out` is on the disk."""
    out.flush()
    os.fsync(out.fileno())


def _new_part(target: Path, param_hint: str) -> tuple[int, Path]:
    # mkstemp: O_EXCL (never someone else's file or link) and mode 0600 from creation.
    try:
        handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    except OSError as error:
        raise click.BadParameter(f"cannot write in {target.parent}: {error.strerror}", param_hint=param_hint) from None
    os.fchmod(handle, PRIVATE)  # mkstemp's mode already; said here because it is the point
    return handle, Path(name)


def _sync(path: Path) -> None:
    handle = os.open(path, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def _put_in_place(part: Path, target: Path) -> None:
    # rename() replaces a link that appeared meanwhile rather than following it, and makes the
    # new name durable once the folder is synced.
    os.replace(part, target)
    _sync(target.parent)
