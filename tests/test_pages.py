"""The customer's pages over Flask's test client, on both engines: every rule of the contract's
"Pages" that needs no real browser (the browser walks are in test_pages_browser.py)."""

from __future__ import annotations

import re

import pytest

from .support.client import ADMIN_KEY, Api, TestClientTransport, bearer
from .support.pages import Visitor, visible_text


def coupon(api: Api, **fields) -> str:
    return api.generate(1, **fields)[0]


def scans_of(db, token: str) -> int:
    return db.scalar("SELECT count(*) FROM scans s JOIN coupons c ON c.id = s.coupon_id WHERE c.token = ?", (token,))


# A coupon's page --------------------------------------------------------------------------


def test_a_coupon_page_says_what_it_is_worth_and_asks_to_sign_in(api, visitor):
    token = coupon(api, points=25)
    page = visitor.get(f"/c/{token}")
    assert page.status_code == 200 and page.mimetype == "text/html"
    text = visible_text(page.get_data(as_text=True))
    assert "A coupon worth 25 points" in text
    assert "Sign in to collect" in text
    assert f"/sign-in?next=/c/{token}" in page.get_data(as_text=True)


def test_a_get_never_collects_a_coupon(api, visitor, db):
    token = coupon(api)
    visitor.sign_in()
    for _ in range(3):
        assert visitor.get(f"/c/{token}").status_code == 200
    assert scans_of(db, token) == 0
    assert db.scalar("SELECT status FROM coupons WHERE token = ?", (token,)) == "active"


def test_a_signed_in_customer_collects_once_and_sees_points_and_balance(api, visitor, db):
    token = coupon(api, points=40)
    visitor.sign_in()
    page = visitor.get(f"/c/{token}")
    assert "Collect 40 points" in visible_text(page.get_data(as_text=True))
    first = visitor.post(f"/c/{token}")
    second = visitor.post(f"/c/{token}")  # a double tap
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"] == f"/c/{token}"
    text = visible_text(visitor.get(f"/c/{token}").get_data(as_text=True))
    assert "You collected 40 points on" in text and "Your balance: 40 points" in text
    assert scans_of(db, token) == 1
    assert db.scalar("SELECT count(*) FROM ledger_entries") == 1


def test_collecting_stores_the_browsers_own_device_id(api, visitor, db):
    token = coupon(api)
    visitor.sign_in()
    visitor.get(f"/c/{token}")
    device = visitor.client.get_cookie("device")
    assert device is not None and device.http_only
    visitor.post(f"/c/{token}")
    assert db.scalar("SELECT device_id FROM scans") == device.value


def test_a_coupon_someone_else_collected_is_said_in_plain_words(api, app, visitor):
    token = coupon(api)
    other = api.login()
    assert api.scan(other.access_token, token).status == 200
    visitor.sign_in()
    text = visible_text(visitor.get(f"/c/{token}").get_data(as_text=True))
    assert "already been collected by someone else" in text
    refused = visitor.post(f"/c/{token}")
    assert refused.status_code == 303  # shown on its page, which says whose it is
    assert "Collect" not in visible_text(visitor.get(f"/c/{token}").get_data(as_text=True))


def test_a_withdrawn_coupon_is_said_in_plain_words_and_refused(api, visitor, db):
    token = coupon(api)
    api.call("POST", f"/coupons/{token}/void", {"reason": "leaked"}, {"X-API-Key": ADMIN_KEY})
    visitor.sign_in()
    assert "withdrawn by the programme" in visible_text(visitor.get(f"/c/{token}").get_data(as_text=True))
    refused = visitor.post(f"/c/{token}")
    assert refused.status_code == 410 and refused.mimetype == "text/html"
    assert "withdrawn by the programme" in visible_text(refused.get_data(as_text=True))
    assert scans_of(db, token) == 0


def test_an_expired_coupon_is_said_in_plain_words_and_refused(api, visitor, db):
    token = coupon(api, expires_at="2099-01-01T00:00:00Z")
    db.execute("UPDATE batches SET expires_at = 1000")
    visitor.sign_in()
    assert "has expired" in visible_text(visitor.get(f"/c/{token}").get_data(as_text=True))
    refused = visitor.post(f"/c/{token}")
    assert refused.status_code == 410 and "has expired" in visible_text(refused.get_data(as_text=True))
    assert scans_of(db, token) == 0


@pytest.mark.parametrize("path", ["/c/0b7f5d0e-8b7a-4c1e-9a0e-6f7c2f0d1a11", "/c/not-a-token", "/me/nothing-here"])
def test_a_token_that_is_no_coupon_and_an_unknown_path_are_the_404_page(visitor, path):
    page = visitor.get(path)
    assert page.status_code == 404 and page.mimetype == "text/html"
    assert "Not found" in visible_text(page.get_data(as_text=True))
    assert "Traceback" not in page.get_data(as_text=True)


def test_a_wrong_method_under_the_pages_is_an_html_page(visitor):
    page = visitor.client.put("/me")
    assert page.status_code == 405 and page.mimetype == "text/html"


def test_the_scan_rate_limit_holds_on_the_pages_too(api, make_app, db):
    app = make_app(SCAN_RATE_LIMIT="2 per minute")
    visitor = Visitor(app.test_client())
    tokens = Api(TestClientTransport(app.test_client())).generate(3)
    visitor.sign_in()
    assert [visitor.post(f"/c/{t}").status_code for t in tokens] == [303, 303, 429]
    assert db.scalar("SELECT count(*) FROM scans") == 2


def test_a_queued_scan_sent_twice_with_its_key_counts_once(api, visitor, db):
    token = coupon(api, points=7)
    visitor.sign_in()
    visitor.get("/me/scan")
    headers = {"Idempotency-Key": "queued-scan-1"}
    first = visitor.post(f"/c/{token}", headers=headers)
    again = visitor.post(f"/c/{token}", headers=headers)
    assert first.status_code == again.status_code == 303
    assert scans_of(db, token) == 1
    assert db.scalar("SELECT status FROM idempotency_keys WHERE key = 'queued-scan-1'") == 200


# Signing in and out ----------------------------------------------------------------------


def test_every_customer_page_asks_a_visitor_to_sign_in_first(visitor):
    for path in ("/me", "/me/scan", "/me?before=5"):
        response = visitor.get(path)
        assert response.status_code == 303
        assert response.headers["Location"].startswith("/sign-in?next=/me")


def test_signing_in_sets_a_session_cookie_that_scripts_cannot_read(visitor, db):
    visitor.sign_in()
    cookie = visitor.session_cookie()
    assert cookie.http_only and cookie.same_site == "Lax" and not cookie.secure
    stored = db.scalar("SELECT id_hash FROM web_sessions")
    assert stored != cookie.value and len(stored) == 64  # only a hash is kept


def test_the_cookies_are_secure_and_host_only_under_an_https_public_url(make_app):
    """Over https the session and the CSRF seed are `__Host-` cookies, which a browser takes
    only as Secure, for the path /, with no Domain: no sibling subdomain can plant one."""
    visitor = Visitor(make_app(PUBLIC_URL="https://rewards.example.com").test_client())
    form = visitor.get("/sign-in", base_url="https://rewards.example.com")
    seed = next(h for h in form.headers.getlist("Set-Cookie") if h.startswith("__Host-rewards_forms="))
    assert "Secure" in seed and "Path=/;" in seed and "Domain" not in seed
    visitor.client.environ_base["wsgi.url_scheme"] = "https"
    phone = "+919876500001"
    sent = visitor.client.post(
        "/sign-in",
        data={"phone": phone, "next": "/me", "csrf_token": visitor.csrf},
        base_url="https://rewards.example.com",
        headers={"Referer": "https://rewards.example.com/sign-in"},
    )
    assert sent.status_code == 303
    page = visitor.client.get(sent.headers["Location"], base_url="https://rewards.example.com")
    code = re.search(r'data-code="(\d{6})"', page.get_data(as_text=True)).group(1)
    done = visitor.client.post(
        "/sign-in/code",
        data={"code": code, "next": "/me", "csrf_token": visitor.csrf},
        base_url="https://rewards.example.com",
        headers={"Referer": "https://rewards.example.com/sign-in/code"},
    )
    assert done.status_code == 303
    cookie = next(h for h in done.headers.getlist("Set-Cookie") if h.startswith("__Host-rewards_session="))
    assert "Secure" in cookie and "Path=/;" in cookie and "Domain" not in cookie
    # The prefixed name is the one read back: the wallet opens, and signing out ends it.
    assert visitor.get("/me", base_url="https://rewards.example.com").status_code == 200
    out = visitor.client.post(
        "/sign-out",
        data={"csrf_token": visitor.csrf},
        base_url="https://rewards.example.com",
        headers={"Referer": "https://rewards.example.com/me"},
    )
    assert out.status_code == 303
    assert any(h.startswith("__Host-rewards_session=;") for h in out.headers.getlist("Set-Cookie"))
    assert visitor.client.get("/me", base_url="https://rewards.example.com").status_code == 303


def test_signing_in_goes_to_next_and_the_wallet_shows_the_balance(api, visitor):
    visitor.sign_in(next_path="/me/scan")
    page = visitor.get("/me")
    assert page.status_code == 200
    assert "0 points" in visible_text(page.get_data(as_text=True))


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/x",
        "/\\evil.example",
        "https://evil.example/",
        "javascript:alert(1)",
        "evil",
        "/%0d%0aSet-Cookie:x",
    ],
)
def test_next_never_leaves_the_service(visitor, target):
    visitor.get("/sign-in")
    sent = visitor.post("/sign-in", {"phone": "+919876500002", "next": target})
    assert sent.status_code == 303
    page = visitor.get(sent.headers["Location"])
    code = re.search(r'data-code="(\d{6})"', page.get_data(as_text=True)).group(1)
    done = visitor.post("/sign-in/code", {"code": code, "next": target})
    location = done.headers["Location"]
    assert location.startswith("/") and not location.startswith("//") and "evil" not in location
    assert location in ("/me", target) and "\n" not in location


def test_a_post_without_a_valid_csrf_token_is_refused_and_changes_nothing(api, visitor, db):
    token = coupon(api)
    visitor.sign_in()
    for form in ({}, {"csrf_token": "forged"}):
        refused = visitor.post(f"/c/{token}", form, csrf=False)
        assert refused.status_code in (400, 403) and refused.mimetype == "text/html"
        assert visitor.post("/sign-in", {"phone": "+919876500003", **form}, csrf=False).status_code in (400, 403)
    assert scans_of(db, token) == 0
    assert db.scalar("SELECT count(*) FROM otp_codes WHERE phone = '+919876500003'") == 0
    assert visitor.post("/sign-out", {}, csrf=False).status_code in (400, 403)
    assert visitor.get("/me").status_code == 200  # still signed in


def test_sign_out_ends_the_session_and_a_copied_cookie_opens_nothing(app, visitor):
    visitor.sign_in()
    copied = visitor.session_cookie().value
    assert visitor.post("/sign-out").status_code == 303
    assert visitor.get("/me").status_code == 303
    thief = app.test_client()
    thief.set_cookie("rewards_session", copied)
    assert thief.get("/me").status_code == 303


def test_a_session_ends_at_its_lifetime(visitor, db):
    visitor.sign_in()
    assert visitor.get("/me").status_code == 200
    db.execute("UPDATE web_sessions SET expires_at = 1000")
    assert visitor.get("/me").status_code == 303


def test_init_db_reset_ends_every_session(app, visitor, runner):
    visitor.sign_in()
    assert visitor.get("/me").status_code == 200
    result = runner.invoke(args=["init-db", "--reset", "--yes"])
    assert result.exit_code == 0, result.output
    assert visitor.get("/me").status_code == 303


def test_a_bearer_token_opens_no_page_and_a_session_opens_no_api(api, visitor):
    login = api.login()
    assert visitor.client.get("/me", headers=bearer(login.access_token)).status_code == 303
    visitor.sign_in()
    assert visitor.client.get("/users/me/wallet").status_code == 401


def test_sign_in_has_the_limits_of_the_api_on_the_same_counters(make_app):
    app = make_app(AUTH_IP_RATE_LIMIT="3 per hour")
    api = Api(TestClientTransport(app.test_client()))
    visitor = Visitor(app.test_client())
    assert api.request_otp("+919876500004").status == 200
    assert api.request_otp("+919876500005").status == 200
    visitor.get("/sign-in")
    assert visitor.post("/sign-in", {"phone": "+919876500006"}).status_code == 303
    limited = visitor.post("/sign-in", {"phone": "+919876500007"})
    assert limited.status_code == 429 and limited.headers["Retry-After"]
    assert "Too many tries" in visible_text(limited.get_data(as_text=True))
    assert api.request_otp("+919876500008").status == 429


def test_a_wrong_code_says_so_and_counts_against_the_code(visitor, db):
    visitor.get("/sign-in")
    sent = visitor.post("/sign-in", {"phone": "+919876500009", "next": "/me"})
    visitor.get(sent.headers["Location"])
    wrong = visitor.post("/sign-in/code", {"code": "000000", "next": "/me"})
    if wrong.status_code == 303:  # one in a million: the guess was right
        return
    assert wrong.status_code == 401
    assert "wrong, expired or already used" in visible_text(wrong.get_data(as_text=True))
    assert db.scalar("SELECT attempts FROM otp_codes WHERE phone = '+919876500009'") == 1


def test_a_bad_phone_number_is_said_on_the_page(visitor):
    visitor.get("/sign-in")
    refused = visitor.post("/sign-in", {"phone": "98765 43210"})
    assert refused.status_code == 400 and "country code" in visible_text(refused.get_data(as_text=True))


# Headers and languages ---------------------------------------------------------------------


def test_html_answers_allow_scripts_only_from_the_service_and_no_framing(visitor):
    for path in ("/", "/sign-in", "/c/not-a-token"):
        response = visitor.get(path)
        policy = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert "unsafe-inline" not in policy
        assert response.headers["Referrer-Policy"] == "same-origin"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "<script>" not in response.get_data(as_text=True)


def test_the_language_is_chosen_by_query_then_cookie_then_accept_language(visitor):
    def lang_of(response) -> str:
        return re.search(r'<html lang="([a-z]+)"', response.get_data(as_text=True)).group(1)

    assert lang_of(visitor.get("/")) == "en"
    assert lang_of(visitor.get("/", headers={"Accept-Language": "hi-IN,hi;q=0.9,en;q=0.5"})) == "hi"
    chosen = visitor.get("/sign-in?lang=hi")
    assert lang_of(chosen) == "hi" and "फ़ोन नंबर" in chosen.get_data(as_text=True)
    assert lang_of(visitor.get("/")) == "hi"  # remembered
    assert lang_of(visitor.get("/?lang=en", headers={"Accept-Language": "hi"})) == "en"
    assert lang_of(visitor.get("/", headers={"Accept-Language": "hi"})) == "en"


# Payouts -----------------------------------------------------------------------------------


def payout_form_id(page) -> str:
    return re.search(r'name="request_id" value="([^"]+)"', page.get_data(as_text=True)).group(1)


def credit(api, visitor, points: int) -> None:
    token = coupon(api, points=points)
    assert visitor.post(f"/c/{token}").status_code == 303


def test_a_customer_asks_for_a_payout_once_however_often_the_form_is_sent(api, visitor, db):
    visitor.sign_in()
    credit(api, visitor, 100)
    form = visitor.get("/me/payouts")
    assert "Your balance: 100 points" in visible_text(form.get_data(as_text=True))
    request_id = payout_form_id(form)
    for _ in range(3):  # a double tap, then a reload of the answer
        sent = visitor.post("/me/payouts", {"points": "60", "request_id": request_id})
        assert sent.status_code == 303
    page = visible_text(visitor.get(sent.headers["Location"]).get_data(as_text=True))
    assert "Your payout was requested" in page and "Your balance: 40 points" in page
    assert "60 points Waiting for approval" in page
    assert db.scalar("SELECT count(*) FROM payouts") == 1
    assert db.scalar("SELECT balance FROM users") == 40


def test_a_payout_over_the_balance_or_not_a_number_is_said_on_the_page(api, visitor, db):
    visitor.sign_in()
    credit(api, visitor, 10)
    for points, status, words in (
        ("11", 409, "do not have that many points"),
        ("ten", 400, "whole number"),
        ("0", 400, "at least 1"),
    ):
        refused = visitor.post(
            "/me/payouts", {"points": points, "request_id": payout_form_id(visitor.get("/me/payouts"))}
        )
        assert refused.status_code == status and words in visible_text(refused.get_data(as_text=True))
    assert db.scalar("SELECT count(*) FROM payouts") == 0


def test_payout_requests_from_the_page_count_against_the_payout_limit(make_app, db):
    app = make_app(PAYOUT_RATE_LIMIT="2 per hour")
    visitor = Visitor(app.test_client())
    api = Api(TestClientTransport(app.test_client()))
    visitor.sign_in()
    credit(api, visitor, 10)
    answers = [
        visitor.post(
            "/me/payouts", {"points": "1", "request_id": payout_form_id(visitor.get("/me/payouts"))}
        ).status_code
        for _ in range(3)
    ]
    assert answers == [303, 303, 429]
    assert db.scalar("SELECT count(*) FROM payouts") == 2


def test_the_payouts_page_shows_the_reference_or_the_reason(api, visitor, db):
    visitor.sign_in()
    credit(api, visitor, 30)
    for _ in range(2):
        visitor.post("/me/payouts", {"points": "10", "request_id": payout_form_id(visitor.get("/me/payouts"))})
    first, second = (row[0] for row in db.execute("SELECT id FROM payouts ORDER BY id").fetchall())
    admin = {"X-API-Key": ADMIN_KEY}
    assert api.call("POST", f"/payouts/{first}/approve", {"reference": "UTR-4471"}, admin).status == 200
    assert api.call("POST", f"/payouts/{second}/reject", {"reason": "bank details wrong"}, admin).status == 200
    page = visible_text(visitor.get("/me/payouts").get_data(as_text=True))
    assert "10 points Paid" in page and "Reference: UTR-4471" in page
    assert "Refused, points returned" in page and "Reason: bank details wrong" in page
    assert "Your balance: 20 points" in page


# What an attack and a first look found -----------------------------------------------------


def test_signing_in_ends_the_session_this_browser_had_and_renews_the_forms_seed(app, visitor):
    visitor.sign_in()
    first = visitor.session_cookie().value
    old_csrf = visitor.csrf
    visitor.sign_in()  # someone else on the same phone
    thief = app.test_client()
    thief.set_cookie("rewards_session", first)
    assert thief.get("/me").status_code == 303
    assert visitor.post("/sign-out", {"csrf_token": old_csrf}, csrf=False).status_code == 400
    assert visitor.get("/me").status_code == 200


def test_the_language_switch_keeps_the_pages_address_and_its_next(api, visitor):
    token = coupon(api)
    page = visitor.get(f"/sign-in?next=/c/{token}").get_data(as_text=True)
    assert f'href="/sign-in?next=%2Fc%2F{token}&amp;lang=hi"' in page


def test_every_cookie_is_secure_under_an_https_public_url(make_app):
    client = make_app(PUBLIC_URL="https://rewards.example.com").test_client()
    answer = client.get("/sign-in?lang=hi", base_url="https://rewards.example.com")
    cookies = answer.headers.getlist("Set-Cookie")
    assert {c.split("=", 1)[0] for c in cookies} >= {"device", "lang"}
    assert all("Secure" in cookie for cookie in cookies), cookies


def test_a_glance_at_a_coupon_by_someone_signed_out_leaves_no_cookie(api, app):
    # A passer-by or a link preview is given no id; whoever signs in is, before any scan.
    token = coupon(api)
    glance = app.test_client().get(f"/c/{token}")
    assert glance.status_code == 200 and glance.headers.getlist("Set-Cookie") == []
    visitor = Visitor(app.test_client())
    visitor.sign_in(next_path=f"/c/{token}")
    assert visitor.client.get_cookie("device") is not None


def test_an_answer_that_sets_a_cookie_is_never_kept_by_a_shared_cache(api, app):
    token = coupon(api)
    fresh = app.test_client().get(f"/sign-in?next=/c/{token}")  # no cookie sent: a first visit
    assert "device=" in fresh.headers.get("Set-Cookie", "")
    assert fresh.headers["Cache-Control"] == "no-store"


def test_a_signed_out_visitor_is_not_told_someone_else_collected_their_coupon(api, visitor):
    token = coupon(api)
    assert api.scan(api.login().access_token, token).status == 200
    text = visible_text(visitor.get(f"/c/{token}").get_data(as_text=True))
    assert "already been collected" in text and "someone else" not in text and "sign in" in text


def test_a_limit_on_the_pages_says_how_long_to_wait_in_whole_words(make_app):
    app = make_app(SCAN_RATE_LIMIT="1 per minute", PAYOUT_RATE_LIMIT="1 per hour")
    visitor = Visitor(app.test_client())
    tokens = Api(TestClientTransport(app.test_client())).generate(3)
    visitor.sign_in()
    visitor.post(f"/c/{tokens[0]}")
    limited = visitor.post(f"/c/{tokens[1]}")
    assert limited.status_code == 429 and limited.headers["Retry-After"]
    assert "Wait a minute and try again." in visible_text(limited.get_data(as_text=True))
    for expected in (303, 429):
        sent = visitor.post("/me/payouts", {"points": "1", "request_id": payout_form_id(visitor.get("/me/payouts"))})
        assert sent.status_code == expected
    assert sent.headers["Retry-After"]


def test_a_bad_query_parameter_is_said_as_such(visitor):
    visitor.sign_in()
    page = visitor.get("/me?limit=abc")
    assert page.status_code == 400 and "could not be understood" in visible_text(page.get_data(as_text=True))
