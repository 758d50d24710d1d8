"""The README's curl walk works when pasted: run as written against a live gunicorn."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from .support.servers import ROOT

pytestmark = pytest.mark.live


def walk_block() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## A first walk, with curl") :]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.DOTALL)
    return blocks[1]  # the first starts the server; the second is the walk


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_the_curl_walk_works_as_written_on_any_port(gunicorn, tmp_path):
    server = gunicorn(workers=2, OTP_DELIVERY="response")
    port = server.url.rsplit(":", 1)[1]
    assert port != "8000"  # PORT really is honoured, not the default hit by luck
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", walk_block()],
        env={"PATH": "/usr/bin:/bin", "PORT": port, "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert re.fullmatch(r"code: \d{6}", lines[0])
    first, second, wallet = (json.loads(line) for line in lines[1:4])
    assert first["points"] == 25 and first["balance"] == 25
    assert second["code"] == "coupon_already_redeemed"
    assert wallet["points"] == 25 and wallet["scans"] == 1 and wallet["transactions"][0]["kind"] == "scan"
