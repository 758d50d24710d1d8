"""GET /docs in a real browser: headless Chromium renders the page from a live gunicorn, with no
internet and under the page's Content-Security-Policy, and every operation of openapi.yaml
appears on it."""

from __future__ import annotations

import subprocess

import pytest
import yaml

from .support.browser import FLAGS
from .support.servers import ROOT
from .support.tools import debian_tool

pytestmark = pytest.mark.live


def chromium(*args: str, profile) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            debian_tool("chromium"),
            "--headless",
            *FLAGS,
            # The page's console on standard error: where a blocked script or style is reported.
            "--enable-logging=stderr",
            "--v=0",
            f"--user-data-dir={profile}",
            # Time for the page's scripts to fetch /openapi.json and render it.
            "--virtual-time-budget=15000",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.engines("sqlite")  # the page is the same whatever the database
def test_docs_renders_every_operation_in_a_browser(gunicorn, tmp_path):
    server = gunicorn(workers=2)
    spec = yaml.safe_load((ROOT / "openapi.yaml").read_text())
    policy = server.api.call("GET", "/docs").headers["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "unsafe" not in policy  # no inline script, no eval
    rendered = chromium("--dump-dom", f"{server.url}/docs", profile=tmp_path / "profile")
    assert rendered.returncode == 0, rendered.stderr[-2000:]
    # The policy blocked nothing the page needs (Chromium logs every blocked script or style).
    assert "Content Security Policy" not in rendered.stderr, rendered.stderr[-2000:]
    dom = rendered.stdout
    for path, item in spec["paths"].items():
        for method in item:
            # Swagger UI renders each operation as an opblock carrying its path and method.
            assert f'data-path="{path}"' in dom, path
            assert f"opblock-{method}" in dom, (path, method)
    assert spec["info"]["title"] in dom
    # A picture of it, to look at when this fails.
    shot = chromium(
        "--window-size=1280,2000",
        f"--screenshot={tmp_path / 'docs.png'}",
        f"{server.url}/docs",
        profile=tmp_path / "profile2",
    )
    assert shot.returncode == 0 and (tmp_path / "docs.png").stat().st_size > 10_000
