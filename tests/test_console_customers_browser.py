"""The console's customer pages in Debian's Chromium at a desktop's size (1280 x 800), driven by
Playwright against a live gunicorn: an operator finds the customer who calls by the last digits
of the phone, reverses a scan restoring its coupon, adjusts the balance, and the outcome is
checked through the API; axe-core on both pages; both pages at a phone's size too."""

from __future__ import annotations

import re
from functools import partial

import pytest
from playwright.sync_api import expect

from .support.browser import DESKTOP, PHONE, axe_violations, console_sign_in, screenshot
from .support.client import ADMIN_KEY, bearer

pytestmark = pytest.mark.live

ADMIN = {"X-API-Key": ADMIN_KEY}


@pytest.fixture
def server(gunicorn):
    return gunicorn(workers=2)


sign_in = partial(console_sign_in, key=ADMIN_KEY)


def customer_who_calls(server) -> tuple[int, list[str]]:
    """A customer with three coupons of 10 points collected from one phone, a payout paid, and
    a second customer whose phone ends the same way: (user id, tokens, oldest first)."""
    server.api.login("+447700900321")
    customer = server.api.login("+919876500321")
    made = server.api.call("POST", "/coupons/generate", {"count": 3, "points": 10, "label": "diwali"}, ADMIN)
    tokens = [coupon["token"] for coupon in made.body["coupons"]]
    for token in tokens:
        assert server.api.scan(customer.access_token, token, device_id="a-phone-7f3c").status == 200
    asked = server.api.call("POST", "/users/me/payouts", {"points": 5}, bearer(customer.access_token))
    assert asked.status == 201, asked.body
    paid = server.api.call("POST", f"/payouts/{asked.body['payout']['id']}/approve", {"reference": "UTR-1"}, ADMIN)
    assert paid.status == 200, paid.body
    return customer.user["id"], tokens


def test_an_operator_finds_the_caller_reverses_a_scan_restoring_it_and_adjusts(server, chromium):
    user_id, tokens = customer_who_calls(server)
    # CSP bypassed only so that axe (an injected inline script) can run.
    context = chromium.new_context(viewport=DESKTOP, bypass_csp=True)
    page = context.new_page()
    found = {}
    try:
        sign_in(page, server)
        page.get_by_role("navigation", name="Console").get_by_role("link", name="Customers").click()
        page.get_by_label("Phone").fill("0321")
        page.get_by_role("button", name="Search").click()
        expect(page.get_by_role("heading", name=re.compile("Phones ending in 0321"))).to_be_visible()
        expect(page.get_by_role("link", name="+447700900321")).to_be_visible()  # the other customer too
        found["customers"] = axe_violations(page)
        page.get_by_role("link", name="+919876500321").click()

        expect(page.get_by_role("heading", name="Customer +919876500321")).to_be_visible()
        expect(page.get_by_text("25 points")).to_be_visible()
        expect(page.get_by_text("Device: a-phone-7f3c")).to_have_count(3)
        found["customer"] = axe_violations(page)

        wrong = tokens[-1]
        form = page.get_by_role("form", name=f"Reverse the scan of Coupon {wrong[:8]}")
        form.get_by_label("Reason").fill("scanned by the shop's staff")
        form.get_by_label("Restore the coupon").check()
        form.get_by_role("button", name="Reverse").click()
        expect(page.get_by_role("status")).to_have_text(
            "The scan was reversed: its points left the balance, and the coupon can be scanned again."
        )
        expect(page.get_by_role("form", name=f"Reverse the scan of Coupon {wrong[:8]}")).to_have_count(0)

        adjust = page.get_by_role("form", name="Adjust the balance")
        adjust.get_by_label("Points").fill("-7")
        adjust.get_by_label("Reason").fill("a coupon counted twice")
        adjust.get_by_role("button", name="Adjust").click()
        expect(page.get_by_role("status")).to_have_text("The balance was adjusted.")
        expect(page.get_by_text("8 points")).to_be_visible()
        found["after"] = axe_violations(page)
    finally:
        context.close()

    wallet = server.api.call("GET", f"/users/{user_id}/wallet", headers=ADMIN).body
    assert wallet["points"] == 8 and wallet["scans"] == 2
    assert [t["kind"] for t in wallet["transactions"][:2]] == ["adjustment", "reversal"]
    assert server.api.call("GET", f"/coupons/{wrong}", headers=ADMIN).body["status"] == "active"
    entries = server.api.call("GET", "/audit", headers=ADMIN).body["entries"]
    done = [
        (e["operator"], e["action"], e["reason"]) for e in entries if e["action"] in ("scan.reverse", "user.adjust")
    ]
    assert done == [
        ("admin", "user.adjust", "a coupon counted twice"),
        ("admin", "scan.reverse", "scanned by the shop's staff"),
    ]
    assert {name: v for name, v in found.items() if v} == {}


def spill(page) -> int:
    """How far the page is wider than the screen, in pixels (0 when it fits)."""
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_every_customer_page_fits_the_screen(server, chromium, tmp_path, size):
    """Also `make screenshots`: with REWARDS_SCREENSHOTS set, the pictures the README shows."""
    user_id, tokens = customer_who_calls(server)
    reversed_scan = server.api.call("GET", f"/coupons/{tokens[0]}", headers=ADMIN).body["scan"]["id"]
    server.api.call("POST", f"/scans/{reversed_scan}/reverse", {"reason": "a test scan", "restore": True}, ADMIN)
    context = chromium.new_context(viewport=PHONE if size == "phone" else DESKTOP, is_mobile=size == "phone")
    page = context.new_page()
    wide = {}
    try:
        sign_in(page, server)
        page.goto(f"{server.url}/console/users?phone=0321")
        screenshot(page, tmp_path, f"console-customers-{size}")
        wide["customers"] = spill(page)
        page.goto(f"{server.url}/console/users/{user_id}")
        screenshot(page, tmp_path, f"console-customer-{size}")
        wide["customer"] = spill(page)
    finally:
        context.close()
    assert {name: px for name, px in wide.items() if px > 0} == {}
