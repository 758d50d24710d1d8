"""The customer's pages in Debian's Chromium at a phone's size (390 x 844), driven by Playwright
against a live gunicorn: what a mason with a phone does, found by label and role."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .support.browser import DESKTOP, PHONE, axe_violations, launch, screenshot
from .support.camera import qr_video
from .support.client import ADMIN_KEY, fresh_phone
from .support.servers import FLASK, run_in_repo
from .support.sheets import read_sheet

pytestmark = pytest.mark.live

COUPON_PAGES = "{PUBLIC_URL}/c/{token}"


@pytest.fixture
def server(gunicorn):
    return gunicorn(workers=2, COUPON_URL_TEMPLATE=COUPON_PAGES)


@pytest.fixture
def phone(chromium):
    context = chromium.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    yield context
    context.close()


@pytest.fixture
def phone_without_worker(chromium):
    """For the offline queue's walks: Chromium's emulated offline (and a route's abort) does not
    always hold back a request a service worker passes on to the network, so these pages run
    without it; the worker's own walk is test_the_scan_page_opens_with_no_network."""
    context = chromium.new_context(viewport=PHONE, is_mobile=True, has_touch=True, service_workers="block")
    yield context
    context.close()


def printed_addresses(server, count: int, points: int) -> list[str]:
    """Print a batch's sheet and read its codes back, as a phone's camera would."""
    made = server.api.call("POST", "/coupons/generate", {"count": count, "points": points}, {"X-API-Key": ADMIN_KEY})
    assert made.status == 201
    sheet = server.api.call("GET", f"/batches/{made.body['batch']['id']}/sheet.pdf", headers={"X-API-Key": ADMIN_KEY})
    codes, _text, _pages = read_sheet(sheet.data)
    assert len(codes) == count
    return codes


def printed_by_print_batch(server, folder, count: int, points: int) -> list[str]:
    """What an operator prints from the shell (flask print-batch), read back as a phone's camera
    would read the paper."""
    made = server.api.call("POST", "/coupons/generate", {"count": count, "points": points}, {"X-API-Key": ADMIN_KEY})
    sheet = folder / "sheet.pdf"
    printed = run_in_repo([*FLASK, "print-batch", str(made.body["batch"]["id"]), "--output", str(sheet)], server.env)
    assert printed.returncode == 0, printed.stderr
    codes, _text, _pages = read_sheet(sheet.read_bytes())
    assert len(codes) == count
    return codes


def token_of(address: str) -> str:
    return address.rsplit("/", 1)[1]


def sign_in(page, number: str) -> None:
    page.get_by_label("Phone number").fill(number)
    page.get_by_role("button", name="Send code").click()
    code = page.locator("[data-code]").get_attribute("data-code")
    page.get_by_label("Code").fill(code)
    page.get_by_role("button", name="Sign in").click()


def scans(server, token: str | None = None) -> int:
    with server.probe() as db:
        if token is None:
            return db.scalar("SELECT count(*) FROM scans")
        return db.scalar(
            "SELECT count(*) FROM scans s JOIN coupons c ON c.id = s.coupon_id WHERE c.token = ?", (token,)
        )


def test_a_printed_coupon_is_collected_by_a_new_customer_in_one_sitting(server, phone, tmp_path):
    address = printed_by_print_batch(server, tmp_path, 3, 50)[0]
    assert address.startswith(f"{server.url}/c/")
    page = phone.new_page()
    page.goto(address)
    expect(page.get_by_role("heading", name="A coupon worth 50 points")).to_be_visible()
    screenshot(page, tmp_path, "coupon-signed-out")
    page.get_by_role("link", name="Sign in to collect").click()
    sign_in(page, fresh_phone())
    expect(page).to_have_url(address)
    page.get_by_role("button", name="Collect 50 points").click()
    expect(page.get_by_role("status")).to_contain_text("You collected 50 points on")
    expect(page.get_by_text("Your balance: 50 points")).to_be_visible()
    screenshot(page, tmp_path, "coupon-collected")
    page.get_by_role("link", name="Open your wallet").click()
    expect(page.get_by_role("heading", name="Your wallet")).to_be_visible()
    expect(page.locator(".balance")).to_have_text("50 points")
    expect(page.get_by_text("Coupon collected", exact=True)).to_be_visible()
    assert scans(server, token_of(address)) == 1


def test_a_double_tap_collects_once(server, phone):
    address = printed_addresses(server, 1, 5)[0]
    page = phone.new_page()
    page.goto(f"{server.url}/sign-in?next=/c/{token_of(address)}")
    sign_in(page, fresh_phone())
    page.get_by_role("button", name="Collect 5 points").dblclick()
    expect(page.get_by_role("status")).to_contain_text("You collected 5 points")
    assert scans(server, token_of(address)) == 1
    with server.probe() as db:
        assert db.scalar("SELECT count(*) FROM ledger_entries") == 1


def test_the_camera_reads_a_printed_code_where_the_browser_has_no_barcode_detector(
    server, playwright_session, tmp_path
):
    address = printed_addresses(server, 1, 12)[0]
    video = qr_video(address, tmp_path / "coupon.y4m")
    browser = launch(
        playwright_session,
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    )
    try:
        context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, permissions=["camera"])
        page = context.new_page()
        page.goto(f"{server.url}/sign-in?next=/me/scan")
        sign_in(page, fresh_phone())
        expect(page.get_by_role("heading", name="Scan a coupon")).to_be_visible()
        # Chromium on Linux has no BarcodeDetector: the decoder served by the service reads it.
        assert page.evaluate("'BarcodeDetector' in window") is False
        page.get_by_role("button", name="Scan with camera").click()
        expect(page).to_have_url(address, timeout=20_000)
        expect(page.get_by_role("status")).to_contain_text("You collected 12 points")
        assert scans(server, token_of(address)) == 1
    finally:
        browser.close()


def test_scans_made_offline_wait_on_the_phone_and_are_sent_once_when_the_network_returns(
    server, phone_without_worker, tmp_path
):
    context = phone_without_worker
    first, second = printed_addresses(server, 2, 9)
    page = context.new_page()
    page.goto(f"{server.url}/sign-in?next=/me/scan")
    sign_in(page, fresh_phone())
    expect(page.get_by_role("button", name="Scan with camera")).to_be_visible()  # its script runs

    context.set_offline(True)
    page.get_by_label("Coupon code").fill(first)  # the address a camera reads
    page.get_by_role("button", name="Redeem").click()
    page.get_by_label("Coupon code").fill(token_of(second).upper())  # the code printed under it
    page.get_by_role("button", name="Redeem").click()
    waiting = page.get_by_role("region", name="Waiting to be sent")
    expect(waiting.get_by_role("listitem")).to_have_count(2)
    screenshot(page, tmp_path, "scan-offline")
    assert scans(server) == 0

    context.set_offline(False)
    sent = page.get_by_role("region", name="Sent", exact=True)
    expect(sent.get_by_role("listitem")).to_have_count(2, timeout=15_000)
    expect(page.get_by_role("region", name="Waiting to be sent")).to_be_hidden()
    page.reload()
    page.wait_for_timeout(500)  # any late resend would land now
    assert scans(server, token_of(first)) == 1 and scans(server, token_of(second)) == 1
    with server.probe() as db:
        assert db.scalar("SELECT count(*) FROM idempotency_keys") == 2
        assert db.scalar("SELECT count(*) FROM ledger_entries") == 2


def test_the_scan_page_opens_with_no_network(server, phone):
    page = phone.new_page()
    page.goto(f"{server.url}/sign-in?next=/me/scan")
    sign_in(page, fresh_phone())
    page.evaluate("async () => { await navigator.serviceWorker.ready; }")
    page.reload()  # now under the service worker, which keeps the page for offline use
    expect(page.get_by_role("button", name="Scan with camera")).to_be_visible()
    phone.set_offline(True)
    page.reload()  # no network: the service worker serves the page, its form and its scripts
    expect(page.get_by_role("heading", name="Scan a coupon")).to_be_visible()
    expect(page.get_by_label("Coupon code")).to_be_visible()
    expect(page.get_by_role("button", name="Scan with camera")).to_be_visible()
    phone.set_offline(False)


def test_a_waiting_scan_survives_a_session_that_ended_meanwhile(server, phone_without_worker):
    phone = phone_without_worker
    address = printed_addresses(server, 1, 3)[0]
    page = phone.new_page()
    number = fresh_phone()
    page.goto(f"{server.url}/sign-in?next=/me/scan")
    sign_in(page, number)
    expect(page.get_by_role("button", name="Scan with camera")).to_be_visible()  # its script runs
    phone.set_offline(True)
    page.get_by_label("Coupon code").fill(address)
    page.get_by_role("button", name="Redeem").click()
    expect(page.get_by_role("region", name="Waiting to be sent").get_by_role("listitem")).to_have_count(1)
    with server.probe() as db:
        db.execute("DELETE FROM web_sessions")  # the session's lifetime ran out while offline
    phone.set_offline(False)
    again = page.get_by_role("link", name="Sign in again to send your waiting scans.")
    expect(again).to_be_visible(timeout=15_000)
    assert scans(server) == 0
    again.click()
    sign_in(page, number)
    sent = page.get_by_role("region", name="Sent", exact=True)
    expect(sent.get_by_role("listitem")).to_have_count(1, timeout=15_000)
    assert scans(server, token_of(address)) == 1


def test_a_cookie_copied_before_sign_out_opens_nothing_after_it(server, chromium):
    context = chromium.new_context(viewport=PHONE)
    page = context.new_page()
    page.goto(f"{server.url}/sign-in")
    sign_in(page, fresh_phone())
    expect(page.get_by_role("heading", name="Your wallet")).to_be_visible()
    copied = context.cookies()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()
    thief = chromium.new_context(viewport=PHONE)
    thief.add_cookies(copied)
    stolen = thief.new_page()
    stolen.goto(f"{server.url}/me")
    expect(stolen).to_have_url(re.compile(r"/sign-in\?next=/me$"))
    thief.close()
    context.close()


def test_the_coupon_page_and_all_it_loads_weigh_under_100_kb(server, phone):
    address = printed_addresses(server, 1, 5)[0]
    page = phone.new_page()
    loaded: dict[str, int] = {}
    page.on("requestfinished", lambda request: loaded.__setitem__(request.url, request.sizes()["responseBodySize"]))
    page.goto(address)
    page.wait_for_load_state("networkidle")
    assert sum(loaded.values()) < 100_000, loaded
    assert not any("jsQR" in url for url in loaded)  # the decoder loads on the scan page only


def test_the_pages_are_an_installable_app(server, phone):
    manifest = server.api.call("GET", "/manifest.webmanifest")
    assert manifest.status == 200 and manifest.mimetype == "application/manifest+json"
    assert manifest.body["start_url"] == "/me" and manifest.body["name"] == "Rewards"
    for icon in manifest.body["icons"]:
        assert server.api.call("GET", icon["src"]).status == 200
    page = phone.new_page()
    page.goto(f"{server.url}/sign-in?next=/me/scan")
    sign_in(page, fresh_phone())
    scope = page.evaluate("async () => (await navigator.serviceWorker.ready).scope")
    assert scope == f"{server.url}/"


def visit_every_customer_page(page, server, token: str, language: str) -> dict[str, list[dict]]:
    """Each customer page in turn, as one visitor: its serious accessibility violations by name,
    and a screenshot of each."""
    found: dict[str, list[dict]] = {}
    page.goto(f"{server.url}/?lang={language}")
    found["home"] = axe_violations(page)
    page.goto(f"{server.url}/sign-in?next=/c/{token}")
    found["sign-in"] = axe_violations(page)
    page.locator("#phone").fill(fresh_phone())
    page.locator("form button[type=submit]").click()
    found["sign-in-code"] = axe_violations(page)
    page.locator("#code").fill(page.locator("[data-code]").get_attribute("data-code"))
    page.locator("form button[type=submit]").click()
    found["coupon"] = axe_violations(page)
    page.locator("form button.big").click()
    found["coupon-collected"] = axe_violations(page)
    for name, path in (
        ("wallet", "/me"),
        ("scan", "/me/scan"),
        ("not-found", "/c/0b7f5d0e-8b7a-4c1e-9a0e-6f7c2f0d1a11"),
    ):
        page.goto(f"{server.url}{path}")
        found[name] = axe_violations(page)
    assert page.evaluate("document.documentElement.lang") == language
    return found


@pytest.mark.parametrize("size", ["phone", "desktop"])
@pytest.mark.parametrize("language", ["en", "hi"])
def test_no_customer_page_has_a_serious_accessibility_violation(server, chromium, language, size):
    token = token_of(printed_addresses(server, 1, 20)[0])
    context = chromium.new_context(viewport=PHONE if size == "phone" else DESKTOP, bypass_csp=True)
    try:
        found = visit_every_customer_page(context.new_page(), server, token, language)
    finally:
        context.close()
    assert {name: violations for name, violations in found.items() if violations} == {}


def photograph_every_customer_page(page, server, token: str, language: str, size: str, folder) -> dict[str, int]:
    """Each customer page as the customer sees it: a screenshot of each, and how far it spills
    sideways past the screen (a page that needs sideways scrolling on a phone is broken)."""
    spill: dict[str, int] = {}

    def shot(name: str) -> None:
        screenshot(page, folder, f"{name}-{size}-{language}")
        spill[name] = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")

    page.goto(f"{server.url}/?lang={language}")
    shot("home")
    page.goto(f"{server.url}/c/{token}")
    shot("coupon")
    page.goto(f"{server.url}/sign-in?next=/c/{token}")
    shot("sign-in")
    page.locator("#phone").fill("+919876543210")
    page.locator("form button[type=submit]").click()
    shot("sign-in-code")
    page.locator("#code").fill(page.locator("[data-code]").get_attribute("data-code"))
    page.locator("form button[type=submit]").click()
    shot("coupon-signed-in")
    page.locator("form button.big").click()
    shot("coupon-collected")
    for name, path in (("wallet", "/me"), ("scan", "/me/scan"), ("payouts", "/me/payouts"), ("not-found", "/c/nope")):
        page.goto(f"{server.url}{path}")
        shot(name)
    return spill


@pytest.mark.parametrize("size", ["phone", "desktop"])
@pytest.mark.parametrize("language", ["en", "hi"])
def test_every_customer_page_fits_the_screen(server, chromium, tmp_path, language, size):
    """Also `make screenshots`: with REWARDS_SCREENSHOTS set, the pictures the README shows."""
    token = token_of(printed_addresses(server, 1, 20)[0])
    context = chromium.new_context(viewport=PHONE if size == "phone" else DESKTOP, is_mobile=size == "phone")
    try:
        spill = photograph_every_customer_page(context.new_page(), server, token, language, size, tmp_path)
    finally:
        context.close()
    assert {name: px for name, px in spill.items() if px > 0} == {}


def test_with_scripts_disabled_a_customer_still_signs_in_collects_and_redeems_a_typed_code(server, chromium):
    first, second = printed_addresses(server, 2, 4)
    context = chromium.new_context(viewport=PHONE, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(first)
        page.get_by_role("link", name="Sign in to collect").click()
        sign_in(page, fresh_phone())
        page.get_by_role("button", name="Collect 4 points").click()
        expect(page.get_by_role("status")).to_contain_text("You collected 4 points")
        page.get_by_role("link", name="Scan the next coupon").click()
        expect(page.get_by_role("button", name="Scan with camera")).to_be_hidden()  # the camera needs scripts
        page.get_by_label("Coupon code").fill(token_of(second))
        page.get_by_role("button", name="Redeem").click()
        expect(page.get_by_text("Your balance: 8 points")).to_be_visible()
        assert scans(server, token_of(first)) == 1 and scans(server, token_of(second)) == 1
    finally:
        context.close()


def test_on_a_shared_phone_a_waiting_scan_stays_its_owners(server, phone_without_worker):
    """A scans with no network and signs out; B signs in on the same phone: B never sends, sees or
    gets A's waiting scan, and A's is sent when A signs in again."""
    phone = phone_without_worker
    address = printed_addresses(server, 1, 11)[0]
    page = phone.new_page()
    first, second = fresh_phone(), fresh_phone()
    page.goto(f"{server.url}/sign-in?next=/me/scan")
    sign_in(page, first)
    expect(page.get_by_role("button", name="Scan with camera")).to_be_visible()
    # The network fails for this scan, for good: it waits on the phone.
    page.route("**/c/**", lambda route: route.abort("internetdisconnected"))
    page.get_by_label("Coupon code").fill(address)
    page.get_by_role("button", name="Redeem").click()
    expect(page.get_by_role("region", name="Waiting to be sent").get_by_role("listitem")).to_have_count(1)
    page.close()
    page = phone.new_page()
    page.goto(f"{server.url}/me")
    page.get_by_role("button", name="Sign out").click()

    page.goto(f"{server.url}/sign-in?next=/me/scan")
    sign_in(page, second)
    expect(page.get_by_role("button", name="Scan with camera")).to_be_visible()
    page.wait_for_timeout(1000)  # time for a wrong send to happen
    expect(page.get_by_role("region", name="Waiting to be sent")).to_be_hidden()
    assert scans(server) == 0

    page.get_by_role("button", name="Sign out").click()
    page.goto(f"{server.url}/sign-in?next=/me/scan")
    sign_in(page, first)
    expect(page.get_by_role("region", name="Sent", exact=True).get_by_role("listitem")).to_have_count(1, timeout=15_000)
    with server.probe() as db:
        owner = db.execute("SELECT u.phone FROM scans s JOIN users u ON u.id = s.user_id").fetchall()
    assert [row[0] for row in owner] == [first], (page.content()[-1500:], server.log()[-2500:])
