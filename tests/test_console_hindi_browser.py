"""The console in Hindi in Debian's Chromium at a desktop's size (1280 x 800), against a live
gunicorn: a browser that asks for Hindi (Accept-Language) gets the console in Hindi, is driven
by its Hindi labels, and axe-core finds nothing serious on the dashboard and the payouts page;
both pages are photographed (desktop) and fit the screen."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .support.browser import DESKTOP, axe_violations, screenshot
from .support.client import ADMIN_KEY, bearer

pytestmark = pytest.mark.live
ADMIN = {"X-API-Key": ADMIN_KEY}


@pytest.fixture
def server(gunicorn):
    return gunicorn(workers=2, PROGRAMME_NAME="मिस्त्री इनाम")


def something_on_every_page(server) -> None:
    """A batch with a coupon scanned, a customer with two payouts waiting and one decided."""
    made = server.api.call("POST", "/coupons/generate", {"count": 20, "points": 10, "label": "दिवाली"}, ADMIN)
    login = server.api.login()
    assert server.api.scan(login.access_token, made.body["coupons"][0]["token"]).status == 200
    given = {"points": 1000, "reason": "स्वागत"}
    assert server.api.call("POST", f"/users/{login.user['id']}/adjustments", given, ADMIN).status == 201
    ids = []
    for points in (120, 80, 300):
        asked = server.api.call("POST", "/users/me/payouts", {"points": points}, bearer(login.access_token))
        ids.append(asked.body["payout"]["id"])
    assert server.api.call("POST", f"/payouts/{ids[0]}/approve", {"reference": "UTR-0042"}, ADMIN).status == 200


def spill(page) -> int:
    """How far the page is wider than the screen, in pixels (0 when it fits)."""
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


def test_the_console_in_hindi_is_accessible_and_fits_the_screen(server, chromium, tmp_path):
    """Also `make screenshots`: with REWARDS_SCREENSHOTS set, the pictures the README shows."""
    something_on_every_page(server)
    # CSP bypassed only so that axe (an injected inline script) can run.
    context = chromium.new_context(viewport=DESKTOP, locale="hi-IN", bypass_csp=True)
    page = context.new_page()
    found, wide = {}, {}
    try:
        page.goto(f"{server.url}/console/sign-in")
        expect(page.locator("html")).to_have_attribute("lang", "hi")
        page.get_by_label("संचालक कुंजी").fill(ADMIN_KEY)
        page.get_by_role("button", name="साइन इन करें").click()
        expect(page.get_by_role("heading", name="डैशबोर्ड")).to_be_visible()
        expect(page.get_by_role("navigation", name="भाषा").get_by_role("link", name="English")).to_be_visible()
        found["dashboard"] = axe_violations(page)
        screenshot(page, tmp_path, "console-dashboard-desktop-hi")
        wide["dashboard"] = spill(page)

        page.get_by_role("link", name="2 भुगतान मंज़ूरी के इंतज़ार में").click()
        expect(page.get_by_role("heading", name="भुगतान", exact=True)).to_be_visible()
        expect(page.get_by_role("button", name="चुने हुए मंज़ूर करें")).to_be_visible()
        found["payouts"] = axe_violations(page)
        screenshot(page, tmp_path, "console-payouts-desktop-hi")
        wide["payouts"] = spill(page)
    finally:
        context.close()
    assert {name: v for name, v in found.items() if v} == {}
    assert {name: px for name, px in wide.items() if px > 0} == {}
