"""The files the commands write (gen-coupons --output, print-batch, backup) and the SQLite
database itself hold live coupon tokens and phone numbers (issue #14): they are readable by their
owner only, written beside their target and renamed into place, and a symbolic link is never
written through."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest

from .support.apps import build_app
from .support.engines import with_database

PRIVATE = 0o600


@pytest.fixture(autouse=True)
def usual_umask():
    """The umask most systems give (022): a file made the ordinary way would be 0644."""
    before = os.umask(0o022)
    yield
    os.umask(before)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_gen_coupons_and_print_batch_write_files_only_their_owner_can_read(runner, db, tmp_path):
    csv = tmp_path / "coupons.csv"
    made = runner.invoke(args=["gen-coupons", "--count", "5", "--output", str(csv)])
    assert made.exit_code == 0, made.output
    pdf = tmp_path / "sheet.pdf"
    printed = runner.invoke(args=["print-batch", str(db.scalar("SELECT max(id) FROM batches")), "--output", str(pdf)])
    assert printed.exit_code == 0, printed.output
    assert mode(csv) == PRIVATE and mode(pdf) == PRIVATE
    # Written beside the target and renamed: no part file is left behind.
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


@pytest.mark.engines("sqlite")
def test_a_backup_is_readable_by_its_owner_only(runner, tmp_path):
    copy = tmp_path / "copy.db"
    made = runner.invoke(args=["backup", str(copy)])
    assert made.exit_code == 0, made.output
    assert mode(copy) == PRIVATE
    assert sqlite3.connect(copy).execute("SELECT count(*) FROM batches").fetchone()[0] == 0
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".copy.db")] == []


COMMANDS = {
    "gen-coupons": (["gen-coupons", "--count", "3", "--force", "--output"], "--output"),
    "print-batch": (["print-batch", "1", "--output"], "--output"),
}


def refused_link(runner, tmp_path: Path, args: list[str], hint: str, dangling: bool) -> None:
    pointed_at = tmp_path / "elsewhere" / "target"
    pointed_at.parent.mkdir()
    if not dangling:
        pointed_at.write_text("someone else's file\n")
    link = tmp_path / "out"
    link.symlink_to(pointed_at)
    result = runner.invoke(args=[*args, str(link)])
    assert result.exit_code == 2, result.output
    assert "symbolic link" in result.output and hint in result.output
    assert link.is_symlink() and os.readlink(link) == str(pointed_at)
    if dangling:
        assert not pointed_at.exists()  # its target was not created
    else:
        assert pointed_at.read_text() == "someone else's file\n"


@pytest.mark.parametrize("dangling", [True, False], ids=["dangling", "to-a-file"])
@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_target_that_is_a_symbolic_link_is_refused_with_exit_2(runner, api, db, tmp_path, command, dangling):
    api.generate(2)  # batch 1, for print-batch
    args, hint = COMMANDS[command]
    refused_link(runner, tmp_path, args, hint, dangling)
    assert db.scalar("SELECT count(*) FROM coupons") == 2  # gen-coupons made nothing


@pytest.mark.engines("sqlite")
@pytest.mark.parametrize("dangling", [True, False], ids=["dangling", "to-a-file"])
def test_a_backup_into_a_symbolic_link_is_refused_with_exit_2(engine, runner, tmp_path, dangling):
    refused_link(runner, tmp_path, ["backup"], "DESTINATION", dangling)


def test_force_keeps_the_old_file_when_the_run_fails(engine, database, tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    output = folder / "coupons.csv"
    output.write_text("tokens of an earlier batch\n")
    if engine == "sqlite":
        url = f"sqlite:///{tmp_path / 'none.db'}"
    else:
        url = with_database(database.url, "no_such_database")
    app = build_app(url)
    result = app.test_cli_runner().invoke(args=["gen-coupons", "--count", "3", "--output", str(output), "--force"])
    app.extensions["rewards.db"].close()
    assert result.exit_code == 1 and "nothing was created" in result.output
    assert output.read_text() == "tokens of an earlier batch\n"
    assert [p.name for p in folder.iterdir()] == ["coupons.csv"]


@pytest.mark.engines("sqlite")
def test_init_db_makes_the_database_its_wal_and_shm_and_its_folder_private(engine, tmp_path):
    path = tmp_path / "instance" / "rewards.db"
    app = build_app(f"sqlite:///{path}")
    assert app.test_cli_runner().invoke(args=["init-db"]).exit_code == 0
    runner = app.test_cli_runner()
    assert runner.invoke(args=["gen-coupons", "--count", "2"]).exit_code == 0
    # A service's connection is open: SQLite has made the -wal and -shm files beside the database.
    wal, shm = path.with_name("rewards.db-wal"), path.with_name("rewards.db-shm")
    assert wal.exists() and shm.exists()
    assert mode(path) == PRIVATE and mode(wal) == PRIVATE and mode(shm) == PRIVATE
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    builders = path.with_name("rewards.db-builders")  # gen-coupons' locks
    assert mode(builders) == PRIVATE
    app.extensions["rewards.db"].close()


@pytest.mark.engines("sqlite")
def test_init_db_makes_a_world_readable_database_private(db_path):
    """A database made by an earlier release (0644, with its -wal and -shm) is tightened."""
    holder = sqlite3.connect(db_path)  # keeps the -wal and -shm there
    holder.execute("CREATE TABLE IF NOT EXISTS t (x)")
    files = [db_path, db_path.with_name(db_path.name + "-wal"), db_path.with_name(db_path.name + "-shm")]
    for file in files:
        os.chmod(file, 0o644)
    app = build_app(f"sqlite:///{db_path}")
    said = app.test_cli_runner().invoke(args=["init-db"])
    app.extensions["rewards.db"].close()
    assert said.exit_code == 0, said.output
    assert [mode(file) for file in files] == [PRIVATE, PRIVATE, PRIVATE]
    holder.close()
