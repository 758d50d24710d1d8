"""The console's payouts and audit pages in Debian's Chromium at a desktop's size (1280 x 800),
driven by Playwright against a live gunicorn, found by label and role: a finance afternoon
(approve one, reject one, approve two at once, read the audit entries of one action) with the
outcome checked through the API; axe-core on both pages; both pages at a phone's size too."""

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


def payouts_waiting(server, *amounts: int) -> tuple[dict, list[int]]:
    """A customer with 1,000 points who asked for a payout of each amount: (user, ids)."""
    login = server.api.login()
    user_id = login.user["id"]
    given = server.api.call("POST", f"/users/{user_id}/adjustments", {"points": 1000, "reason": "welcome"}, ADMIN)
    assert given.status == 201, given.body
    ids = []
    for points in amounts:
        asked = server.api.call("POST", "/users/me/payouts", {"points": points}, bearer(login.access_token))
        assert asked.status == 201, asked.body
        ids.append(asked.body["payout"]["id"])
    return {"id": user_id, "phone": login.user["phone"], "token": login.access_token}, ids


sign_in = partial(console_sign_in, key=ADMIN_KEY)


def card(page, payout_id: int):
    """The queue's entry of one payout (a list item named by its heading)."""
    return page.get_by_role("listitem", name=re.compile(rf"^Payout #{payout_id}:"))


def test_a_finance_operator_approves_rejects_approves_two_at_once_and_reads_the_audit(server, chromium):
    customer, (one, refused, first_of_two, second_of_two, left) = payouts_waiting(server, 100, 150, 200, 250, 50)
    # CSP bypassed only so that axe (an injected inline script) can run.
    context = chromium.new_context(viewport=DESKTOP, bypass_csp=True)
    page = context.new_page()
    found = {}
    try:
        sign_in(page, server)
        page.get_by_role("link", name="5 payouts waiting for approval").click()
        expect(page.get_by_role("heading", name="Payouts", exact=True)).to_be_visible()
        expect(page.get_by_role("link", name="Payouts")).to_have_attribute("aria-current", "page")
        found["payouts"] = axe_violations(page)

        card(page, one).get_by_label("Reference").fill("UTR-1")
        card(page, one).get_by_role("button", name="Approve", exact=True).click()
        expect(page.get_by_role("status")).to_have_text(f"Approved: #{one}.")

        card(page, refused).get_by_label("Reason").fill("the account is closed")
        card(page, refused).get_by_role("button", name="Reject").click()
        expect(page.get_by_role("status")).to_have_text(f"Rejected, the points given back to the customer: #{refused}.")

        for payout_id, reference in ((first_of_two, "BANKFILE-7"), (second_of_two, "BANKFILE-8")):
            card(page, payout_id).get_by_label("Select").check()
            card(page, payout_id).get_by_label("Reference").fill(reference)
        card(page, left).get_by_label("Reference").fill("NOT-TICKED")
        page.get_by_role("button", name="Approve selected").click()
        expect(page.get_by_role("status")).to_have_text(f"Approved: #{first_of_two}, #{second_of_two}.")
        expect(page.get_by_role("listitem", name=re.compile(r"^Payout #"))).to_have_count(1)
        found["payouts-after"] = axe_violations(page)

        listed = server.api.call("GET", f"/users/{customer['id']}/payouts", headers=ADMIN).body["payouts"]
        assert {p["id"]: (p["status"], p["reference"] or p["reason"]) for p in listed} == {
            one: ("approved", "UTR-1"),
            refused: ("rejected", "the account is closed"),
            first_of_two: ("approved", "BANKFILE-7"),
            second_of_two: ("approved", "BANKFILE-8"),
            left: ("pending", None),
        }
        assert server.api.wallet(customer["token"]).body["points"] == 1000 - 100 - 200 - 250 - 50

        page.get_by_role("navigation", name="Console").get_by_role("link", name="Audit").click()
        page.get_by_label("Action").select_option("payout.approve")
        page.get_by_role("button", name="Filter").click()
        rows = page.get_by_role("row").filter(has_text="payout.approve")
        expect(rows).to_have_count(3)
        expect(page.get_by_role("row").filter(has_text="payout.reject")).to_have_count(0)
        expect(rows.first).to_contain_text(f"payout:{second_of_two}")
        expect(rows.first).to_contain_text("admin")
        page.get_by_label("Operator").fill("nobody")
        page.get_by_role("button", name="Filter").click()
        expect(page.get_by_text("No entries.")).to_be_visible()
        found["audit"] = axe_violations(page)
    finally:
        context.close()
    assert {name: v for name, v in found.items() if v} == {}


def spill(page) -> int:
    """How far the page is wider than the screen, in pixels (0 when it fits)."""
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_the_payouts_and_audit_pages_fit_the_screen(server, chromium, tmp_path, size):
    """Also `make screenshots`: with REWARDS_SCREENSHOTS set, the pictures the README shows."""
    _customer, ids = payouts_waiting(server, 120, 80, 300, 45)
    server.api.call("POST", f"/payouts/{ids[0]}/approve", {"reference": "UTR-20261203-0042"}, ADMIN)
    server.api.call("POST", f"/payouts/{ids[1]}/reject", {"reason": "asked twice"}, ADMIN)
    context = chromium.new_context(viewport=PHONE if size == "phone" else DESKTOP, is_mobile=size == "phone")
    page = context.new_page()
    wide = {}
    try:
        sign_in(page, server)
        for name, path in (("payouts", "/console/payouts"), ("audit", "/console/audit")):
            page.goto(f"{server.url}{path}")
            screenshot(page, tmp_path, f"console-{name}-{size}")
            wide[name] = spill(page)
    finally:
        context.close()
    assert {name: px for name, px in wide.items() if px > 0} == {}
