"""Debian's Chromium, driven by Playwright for Python as a person would use it: at a phone's
size, finding controls by their labels and roles. Playwright's own browser download cannot
work here, so the tests launch the machine's Chromium (`executable_path`)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .tools import debian_tool

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
AXE = Path(__file__).resolve().parents[1] / "vendor" / "axe-core-4.14.1" / "axe.min.js"
# Without these, Chromium reaches for Google's hosts at start, which this machine refuses.
FLAGS = [
    "--no-sandbox",  # the tests may run as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_chromium() -> str:
    """The Chromium to drive; skips (fails under CI) without one."""
    return debian_tool("chromium")


@pytest.fixture(scope="session")
def playwright_session() -> Iterator[Any]:
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        yield playwright


def launch(playwright: Any, *extra: str) -> Any:
    return playwright.chromium.launch(executable_path=require_chromium(), args=[*FLAGS, *extra])


@pytest.fixture(scope="session")
def chromium(playwright_session: Any) -> Iterator[Any]:
    browser = launch(playwright_session)
    yield browser
    browser.close()


def axe_violations(page: Any) -> list[dict]:
    """Serious and critical accessibility violations axe-core finds on the page as it is now.
    The page's context must bypass CSP (axe is injected as an inline script)."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def screenshot(page: Any, folder: Path, name: str) -> Path:
    """A picture of the page, full length, to look at; REWARDS_SCREENSHOTS names a folder to keep
    them in (make screenshots), else they stay in the test's temporary folder."""
    target = Path(os.environ.get("REWARDS_SCREENSHOTS") or folder)
    target.mkdir(parents=True, exist_ok=True)
    path = target / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def console_sign_in(page: Any, server: Any, key: str) -> None:
    """Sign in on the console as an operator does: the key typed, the button pressed, the
    dashboard shown."""
    from playwright.sync_api import expect

    page.goto(f"{server.url}/console/sign-in")
    page.get_by_label("Operator key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
