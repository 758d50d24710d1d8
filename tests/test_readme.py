"""The README's curl walks work when pasted: run as written against a live gunicorn, leaving
only files git ignores; its commands name the flask a newcomer has; its production section
starts both servers the way the nginx tests do."""

from __future__ import annotations

import ast
import csv
import io
import json
import re
import subprocess

import pytest

from .support.nginx import TEMPLATE
from .support.servers import ROOT
from .support.sheets import read_sheet
from .support.tools import debian_tool

pytestmark = pytest.mark.live


def sh_blocks(heading: str) -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index(heading) :]
    section = section[: section.index("\n## ", len(heading))]
    return re.findall(r"```sh\n(.*?)```", section, re.DOTALL)


def walk_block() -> str:
    return sh_blocks("## A first walk, with curl")[1]  # the first starts the server


def run_block(script: str, port: str, folder) -> list[str]:
    debian_tool("curl")
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        env={"PATH": "/usr/bin:/bin", "PORT": port, "HOME": str(folder)},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=folder,
    )
    assert result.returncode == 0, result.stderr
    return [line for line in result.stdout.splitlines() if line.strip()]


def test_the_curl_walk_works_as_written_on_any_port(gunicorn, tmp_path):
    server = gunicorn(workers=2, OTP_DELIVERY="response")
    port = server.url.rsplit(":", 1)[1]
    assert port != "8000"  # PORT really is honoured, not the default hit by luck
    lines = run_block(walk_block(), port, tmp_path)
    assert re.fullmatch(r"code: \d{6}", lines[0])
    first, second, wallet = (json.loads(line) for line in lines[1:4])
    assert first["points"] == 25 and first["balance"] == 25
    assert second["code"] == "coupon_already_redeemed"
    assert wallet["points"] == 25 and wallet["scans"] == 1 and wallet["transactions"][0]["kind"] == "scan"


def test_the_operators_day_works_as_written_after_the_walk(gunicorn, tmp_path):
    server = gunicorn(workers=2, OTP_DELIVERY="response")
    (day,) = sh_blocks("## An operator's day, with curl")
    reader = tmp_path / "reader"  # where the reader stands: nothing else writes there
    reader.mkdir()
    lines = run_block(walk_block() + day, server.url.rsplit(":", 1)[1], reader)[4:]
    pdf, batch, stats, balance, voided, points, device, reason = lines
    assert pdf == "%PDF-1.4"
    # What the walk leaves where its reader stands, git ignores there (the repository root).
    made = [path.name for path in reader.iterdir() if not path.name.startswith(".")]
    assert made == ["spring.pdf"]
    assert_ignored_by_git(made)
    codes, _, pages = read_sheet((reader / "spring.pdf").read_bytes())
    assert len(set(codes)) == 48 and pages == 2
    assert ast.literal_eval(batch) == {"active": 48, "redeemed": 0, "expired": 0, "void": 0}
    assert ast.literal_eval(stats) == {"issued": 49, "active": 48, "redeemed": 1, "expired": 0, "void": 0}
    assert balance == points == "35"
    assert ast.literal_eval(voided) == {"active": 0, "redeemed": 1, "expired": 0, "void": 47}
    assert device == "phone-7"
    assert reason == "sheet photographed on a forum"


def test_the_payout_walk_works_as_written_after_the_others(gunicorn, tmp_path):
    server = gunicorn(workers=2, OTP_DELIVERY="response")
    (day,) = sh_blocks("## An operator's day, with curl")
    (payout,) = sh_blocks("## A payout, with curl")
    lines = run_block(walk_block() + day + payout, server.url.rsplit(":", 1)[1], tmp_path)[12:]
    replayed, pending, status, kind, points, *csv_lines = lines
    assert replayed.strip().lower() == "idempotent-replayed: true"
    assert pending == "20" and status == "approved" and kind == "payout" and points == "15"
    rows = list(csv.DictReader(io.StringIO("\n".join(csv_lines))))
    assert len(rows) == 1 and rows[0]["status"] == "approved" and rows[0]["reference"] == "BANK-TX-88121"


def assert_ignored_by_git(names: list[str]) -> None:
    for name in names:
        check = subprocess.run(["git", "check-ignore", "--no-index", "-q", name], cwd=ROOT, capture_output=True)
        assert check.returncode == 0, f"{name} would be left untracked in the repository"


def test_the_files_the_readmes_commands_write_are_ignored_by_git():
    readme = (ROOT / "README.md").read_text()
    written = set(re.findall(r"(?:--output|-o) ([a-z][\w.-]*\.(?:pdf|csv))", readme))  # not FILE.pdf
    written |= {"rewards-2026-01-01.dump"}  # pg_dump's --file=rewards-$(date +%F).dump
    assert "spring.pdf" in written and "spring.csv" in written
    assert_ignored_by_git(sorted(written))


def test_every_flask_command_in_the_readme_names_the_virtualenvs_flask():
    """`flask` is not on a newcomer's PATH: make installs it into .venv/bin."""
    readme = (ROOT / "README.md").read_text()
    assert "VENV := .venv" in (ROOT / "Makefile").read_text()
    commands = re.findall(r"(\S*)flask --app", readme)
    assert len(commands) >= 8
    assert set(commands) == {"`.venv/bin/", ".venv/bin/"}, set(commands)
    assert ". .venv/bin/activate" in readme  # and how to do without the prefix


def test_the_production_section_starts_gunicorn_and_nginx_as_the_nginx_tests_do():
    (start,) = [block for block in sh_blocks("## Production") if "gunicorn" in block]
    assert "APP_ENV=production PROXY_COUNT=1 .venv/bin/gunicorn app:app -b 127.0.0.1:8000" in start
    (nginx,) = [block for block in sh_blocks("## Production") if "envsubst" in block]
    # The very command tests/support/nginx.py runs, on the very file.
    assert "envsubst '${NGINX_LISTEN} ${REWARDS_UPSTREAM}' < deploy/nginx/rewards.conf.template" in nginx
    assert TEMPLATE == ROOT / "deploy/nginx/rewards.conf.template" and TEMPLATE.is_file()
