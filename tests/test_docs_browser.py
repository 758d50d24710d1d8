"""GET /docs in a real browser: headless Chromium renders the page from a live gunicorn, with no
internet, and every operation of openapi.yaml appears on it."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from .support.servers import ROOT

pytestmark = pytest.mark.live

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def chromium(*args: str, profile) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",  # the tests may run as root
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
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
@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium); CI installs it")
def test_docs_renders_every_operation_in_a_browser(gunicorn, tmp_path):
    server = gunicorn(workers=2)
    spec = yaml.safe_load((ROOT / "openapi.yaml").read_text())
    rendered = chromium("--dump-dom", f"{server.url}/docs", profile=tmp_path / "profile")
    assert rendered.returncode == 0, rendered.stderr[-2000:]
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
