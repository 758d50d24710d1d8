"""The operator's console in Debian's Chromium at a desktop's size (1280 x 800), driven by
Playwright against a live gunicorn: an operator's morning, found by label and role, with the
outcome checked in the database; axe-core on every console page; each page at a phone's size."""

from __future__ import annotations

import re
from functools import partial

import pytest
from playwright.sync_api import expect

from .support.browser import DESKTOP, PHONE, axe_violations, console_sign_in, screenshot
from .support.client import ADMIN_KEY
from .support.sheets import read_sheet

pytestmark = pytest.mark.live


@pytest.fixture
def server(gunicorn):
    return gunicorn(workers=2, COUPON_URL_TEMPLATE="{PUBLIC_URL}/c/{token}")


sign_in = partial(console_sign_in, key=ADMIN_KEY)


def spill(page) -> int:
    """How far the page is wider than the screen, in pixels (0 when it fits)."""
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


def test_an_operator_signs_in_makes_prints_and_voids_a_batch_and_signs_out(server, chromium, tmp_path):
    # CSP bypassed only so that axe (an injected inline script) can run.
    context = chromium.new_context(viewport=DESKTOP, bypass_csp=True, accept_downloads=True)
    page = context.new_page()
    found = {}
    try:
        page.goto(f"{server.url}/console")
        expect(page).to_have_url(f"{server.url}/console/sign-in")
        found["sign-in"] = axe_violations(page)
        sign_in(page, server)
        expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
        expect(page.get_by_role("img", name="Scans per day")).to_be_visible()
        expect(page.get_by_role("link", name="0 payouts waiting for approval")).to_have_attribute(
            "href", "/console/payouts"
        )
        found["dashboard"] = axe_violations(page)

        page.get_by_role("navigation", name="Console").get_by_role("link", name="Batches").click()
        page.get_by_label("Count").fill("6")
        page.get_by_label("Points").fill("15")
        page.get_by_label("Label").fill("diwali")
        page.get_by_label("Expires at").fill("2099-12-31")
        found["batches"] = axe_violations(page)
        page.get_by_role("button", name="Create batch").click()
        expect(page.get_by_role("status")).to_have_text(re.compile(r"Batch \d+ was created\."))
        batch_id = int(page.url.rsplit("/", 1)[1].split("?")[0])
        found["batch"] = axe_violations(page)
        with server.probe() as db:
            assert db.scalar("SELECT count(*) FROM coupons WHERE batch_id = ?", (batch_id,)) == 6
            assert (
                db.scalar("SELECT expires_at FROM batches WHERE id = ?", (batch_id,)) == 4102444799
            )  # 2099-12-31T23:59:59Z

        pdf = page.get_by_role("link", name="Download PDF").get_attribute("href")
        sheet = context.request.get(f"{server.url}{pdf}")  # with the console's cookie, as the link is
        assert sheet.status == 200 and sheet.headers["content-type"] == "application/pdf"
        codes, _text, _pages = read_sheet(sheet.body())
        with server.probe() as db:
            tokens = {row[0] for row in db.execute("SELECT token FROM coupons WHERE batch_id = ?", (batch_id,))}
        assert {code.rsplit("/", 1)[1] for code in codes} == tokens and len(codes) == 6

        # One coupon, found by the address a phone read off the sheet, voided alone.
        page.get_by_role("navigation", name="Console").get_by_role("link", name="Coupons").click()
        page.get_by_label("Token").fill(codes[0])
        page.get_by_role("button", name="Find").click()
        expect(page.get_by_role("heading", name=f"Coupon {codes[0].rsplit('/', 1)[1][:8]}")).to_be_visible()
        found["coupon"] = axe_violations(page)
        page.get_by_label("Reason").fill("a sample for the shop window")
        page.get_by_role("button", name="Void coupon").click()
        expect(page.get_by_role("status")).to_have_text("The coupon is void.")
        page.goto(f"{server.url}/console/batches/{batch_id}")

        page.get_by_label("Reason").fill("printed twice")
        page.get_by_role("button", name="Void batch").click()
        expect(page.get_by_role("heading", name=f"Void batch {batch_id}?")).to_be_visible()
        found["void-confirm"] = axe_violations(page)
        with server.probe() as db:  # only the coupon voided alone, until the batch is confirmed
            assert db.scalar("SELECT count(*) FROM coupons WHERE status = 'void'") == 1
        page.get_by_role("button", name="Yes, void it").click()
        expect(page.get_by_role("status")).to_have_text(f"Batch {batch_id} is void.")
        with server.probe() as db:
            assert db.scalar("SELECT count(*) FROM coupons WHERE batch_id = ? AND status = 'void'", (batch_id,)) == 6

        page.get_by_role("button", name="Sign out").click()
        expect(page).to_have_url(f"{server.url}/console/sign-in")
        page.goto(f"{server.url}/console")
        expect(page).to_have_url(f"{server.url}/console/sign-in")
        with server.probe() as db:
            done = [row[0] for row in db.execute("SELECT action FROM audit_log ORDER BY id")]
        assert done == ["operator.sign_in", "batch.create", "coupon.void", "batch.void", "operator.sign_out"]
    finally:
        context.close()
    assert {name: v for name, v in found.items() if v} == {}


def programme_with_some_activity(server) -> int:
    """Two batches, a few coupons collected, a payout waiting: pages with something to show."""
    admin = {"X-API-Key": ADMIN_KEY}
    server.api.call("POST", "/coupons/generate", {"count": 12, "points": 5, "label": "trial"}, admin)
    made = server.api.call("POST", "/coupons/generate", {"count": 40, "points": 10, "label": "diwali"}, admin)
    batch_id = made.body["batch"]["id"]
    csv = server.api.call("GET", f"/batches/{batch_id}/coupons.csv", headers=admin)
    tokens = [line.split(",")[0] for line in csv.data.decode().splitlines()[1:]]
    customer = server.api.login()
    for token in tokens[:5]:
        assert server.api.scan(customer.access_token, token).status == 200
    asked = server.api.call(
        "POST", "/users/me/payouts", {"points": 20}, {"Authorization": f"Bearer {customer.access_token}"}
    )
    assert asked.status == 201, asked.body
    return batch_id


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_every_console_page_fits_the_screen(server, chromium, tmp_path, size):
    """Also `make screenshots`: with REWARDS_SCREENSHOTS set, the pictures the README shows."""
    batch_id = programme_with_some_activity(server)
    context = chromium.new_context(viewport=PHONE if size == "phone" else DESKTOP, is_mobile=size == "phone")
    page = context.new_page()
    wide = {}
    try:
        page.goto(f"{server.url}/console/sign-in")
        screenshot(page, tmp_path, f"console-sign-in-{size}")
        wide["sign-in"] = spill(page)
        sign_in(page, server)
        for name, path in (
            ("dashboard", "/console"),
            ("batches", "/console/batches"),
            ("batch", f"/console/batches/{batch_id}"),
        ):
            page.goto(f"{server.url}{path}")
            screenshot(page, tmp_path, f"console-{name}-{size}")
            wide[name] = spill(page)
        page.get_by_label("Reason").fill("a test")
        page.get_by_role("button", name="Void batch").click()
        screenshot(page, tmp_path, f"console-void-{size}")
        wide["void"] = spill(page)
    finally:
        context.close()
    assert {name: px for name, px in wide.items() if px > 0} == {}


def test_a_viewer_sees_no_button_it_may_not_use_and_the_refusal_pages_pass_axe(gunicorn, chromium):
    viewer_key = "v" * 32
    server = gunicorn(workers=2, ADMIN_API_KEYS=f"vera:{viewer_key}", OPERATOR_ROLES="vera:viewer")
    made = server.api.call("POST", "/coupons/generate", {"count": 3}, {"X-API-Key": ADMIN_KEY})
    batch_id = made.body["batch"]["id"]
    context = chromium.new_context(viewport=DESKTOP, bypass_csp=True)
    page = context.new_page()
    found = {}
    try:
        page.goto(f"{server.url}/console/sign-in")
        page.get_by_label("Operator key").fill(viewer_key)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_text("vera (viewer)")).to_be_visible()
        page.goto(f"{server.url}/console/batches")
        expect(page.get_by_role("link", name=re.compile(f"#{batch_id}"))).to_be_visible()
        expect(page.get_by_role("button", name="Create batch")).to_have_count(0)
        page.goto(f"{server.url}/console/batches/{batch_id}")
        for name in ("Download PDF", "Download CSV"):
            expect(page.get_by_role("link", name=name)).to_have_count(0)
        expect(page.get_by_role("button", name="Void batch")).to_have_count(0)
        refused = page.goto(f"{server.url}/console/batches/{batch_id}/sheet.pdf")
        assert refused.status == 403
        expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
        found["forbidden"] = axe_violations(page)
        missing = page.goto(f"{server.url}/console/no-such-page")
        assert missing.status == 404
        expect(page.get_by_role("navigation", name="Console")).to_be_visible()
        found["not-found"] = axe_violations(page)
    finally:
        context.close()
    assert {name: v for name, v in found.items() if v} == {}
