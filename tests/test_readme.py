"""The README's curl walk works when pasted: run as written against a live gunicorn."""

from __future__ import annotations

import ast
import csv
import io
import json
import re
import shutil
import subprocess

import pytest

from .support.servers import ROOT
from .support.sheets import read_sheet

pytestmark = pytest.mark.live


def sh_blocks(heading: str) -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index(heading) :]
    section = section[: section.index("\n## ", len(heading))]
    return re.findall(r"```sh\n(.*?)```", section, re.DOTALL)


def walk_block() -> str:
    return sh_blocks("## A first walk, with curl")[1]  # the first starts the server


def run_block(script: str, port: str, folder) -> list[str]:
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


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
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


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_the_operators_day_works_as_written_after_the_walk(gunicorn, tmp_path):
    server = gunicorn(workers=2, OTP_DELIVERY="response")
    (day,) = sh_blocks("## An operator's day, with curl")
    lines = run_block(walk_block() + day, server.url.rsplit(":", 1)[1], tmp_path)[4:]
    pdf, batch, stats, balance, voided, points, device, reason = lines
    assert pdf == "%PDF-1.4"
    codes, _, pages = read_sheet((tmp_path / "spring.pdf").read_bytes())
    assert len(set(codes)) == 48 and pages == 2
    assert ast.literal_eval(batch) == {"active": 48, "redeemed": 0, "expired": 0, "void": 0}
    assert ast.literal_eval(stats) == {"issued": 49, "active": 48, "redeemed": 1, "expired": 0, "void": 0}
    assert balance == points == "35"
    assert ast.literal_eval(voided) == {"active": 0, "redeemed": 1, "expired": 0, "void": 47}
    assert device == "phone-7"
    assert reason == "sheet photographed on a forum"


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
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
