"""The operator's console over Flask's test client, on both engines: signing in and out, its
limits and audit entries, whose cookie opens what, CSRF, batches made once and voided only
after the confirmation, and each role refused what the table denies (the browser walk is in
test_console_browser.py)."""

from __future__ import annotations

import itertools
import re
import time
from datetime import UTC, datetime

import itsdangerous
import pytest

from rewards import clock

from .support.client import ADMIN_KEY, Api, TestClientTransport
from .support.pages import Visitor, console_sign_in, visible_text

VIEWER_KEY = "v" * 32
ISSUER_KEY = "i" * 32
ROLES = {"ADMIN_API_KEYS": f"vera:{VIEWER_KEY},ivan:{ISSUER_KEY}", "OPERATOR_ROLES": "vera:viewer,ivan:issuer"}


sign_in = console_sign_in


def request_id(html: str) -> str:
    return re.search(r'name="request_id" value="([^"]+)"', html).group(1)


def actions(db) -> list[tuple[str, str]]:
    return [tuple(row) for row in db.execute("SELECT operator, action FROM audit_log ORDER BY id").fetchall()]


def new_batch(api: Api, count: int = 3) -> int:
    made = api.call("POST", "/coupons/generate", {"count": count, "points": 7}, {"X-API-Key": ADMIN_KEY})
    return made.body["batch"]["id"]


# Signing in and out -------------------------------------------------------------------------


def test_the_console_cookie_is_secure_prefixed_under_an_https_public_url(make_app):
    """Over https the operator's cookie is `__Secure-rewards_console` (its path, /console,
    rules out `__Host-`), and the console reads it by that name."""
    site = "https://rewards.example.com"
    visitor = Visitor(make_app(PUBLIC_URL=site).test_client())
    visitor.get("/console/sign-in", base_url=site)
    done = visitor.post("/console/sign-in", {"key": ADMIN_KEY}, base_url=site, headers={"Referer": f"{site}/console"})
    assert done.status_code == 303
    cookie = next(h for h in done.headers.getlist("Set-Cookie") if h.startswith("__Secure-rewards_console="))
    assert "Secure" in cookie and "Path=/console" in cookie and "HttpOnly" in cookie
    assert visitor.client.get("/console", base_url=site).status_code == 200


def test_an_operator_signs_in_with_the_key_and_sees_the_dashboard(visitor, db):
    page = visitor.get("/console/sign-in")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'for="key">Operator key<' in html and ">Sign in</button>" in html
    done = visitor.post("/console/sign-in", {"key": ADMIN_KEY})
    assert done.status_code == 303 and done.headers["Location"] == "/console"
    cookie = visitor.client.get_cookie("rewards_console", path="/console")
    assert cookie is not None and cookie.http_only and cookie.path == "/console"
    assert visitor.client.get_cookie("rewards_session") is None
    dashboard = visitor.get("/console")
    html = dashboard.get_data(as_text=True)
    assert dashboard.status_code == 200
    assert re.search(r'<svg[^>]*role="img"[^>]*aria-labelledby="scans-chart-title"', html)
    assert '<title id="scans-chart-title">Scans per day</title>' in html
    assert "<caption>Scans per day</caption>" in html  # the numbers, readable without the picture
    assert 'href="/console/payouts"' in html and "0 payouts waiting for approval" in visible_text(html)
    for name in ("Dashboard", "Batches", "Coupons", "Customers", "Payouts", "Audit"):
        assert f">{name}</a>" in html
    assert ">Sign out</button>" in html
    assert actions(db) == [("admin", "operator.sign_in")]


def test_the_dashboard_shows_the_figures_of_stats(api, visitor):
    new_batch(api, 4)
    login = api.login()
    token = api.generate(1, points=9)[0]
    assert api.scan(login.access_token, token).status == 200
    sign_in(visitor)
    text = visible_text(visitor.get("/console").get_data(as_text=True))
    assert "Issued 5" in text and "Redeemed 1" in text and "Customers 1" in text and "Credited 9" in text


def test_a_wrong_key_is_said_on_the_page_and_starts_no_session(visitor, db):
    refused = sign_in(visitor, "not-the-key")
    assert refused.status_code == 401
    assert "That operator key is wrong." in visible_text(refused.get_data(as_text=True))
    assert visitor.client.get_cookie("rewards_console", path="/console") is None
    assert db.scalar("SELECT count(*) FROM web_sessions") == 0
    assert visitor.get("/console").status_code == 303


def test_sign_ins_past_the_address_limit_get_the_429_page_even_with_the_right_key(make_app, db):
    visitor = Visitor(make_app(AUTH_IP_RATE_LIMIT="3 per hour").test_client())
    for _ in range(3):
        assert sign_in(visitor, "wrong").status_code == 401
    past = sign_in(visitor, ADMIN_KEY)
    assert past.status_code == 429 and int(past.headers["Retry-After"]) > 0
    assert "Too many sign-ins" in visible_text(past.get_data(as_text=True))
    assert db.scalar("SELECT count(*) FROM web_sessions") == 0
    # the same counter as /auth/otp: the address is refused there too
    otp = visitor.client.post("/auth/otp", json={"phone": "+15550009999"})
    assert otp.status_code == 429


def test_signing_out_ends_the_session_at_once_and_is_audited(visitor, db):
    sign_in(visitor)
    raw = visitor.client.get_cookie("rewards_console", path="/console").value
    visitor.get("/console")
    out = visitor.post("/console/sign-out")
    assert out.status_code == 303 and out.headers["Location"] == "/console/sign-in"
    assert db.scalar("SELECT count(*) FROM web_sessions") == 0
    visitor.client.set_cookie("rewards_console", raw, path="/console")  # a copy of the old cookie
    assert visitor.get("/console").status_code == 303
    assert actions(db) == [("admin", "operator.sign_in"), ("admin", "operator.sign_out")]


def test_the_session_ends_at_its_lifetime(make_app, db, monkeypatch):
    visitor = Visitor(make_app(CONSOLE_SESSION_TTL_SECONDS="600").test_client())
    sign_in(visitor)
    assert db.scalar("SELECT expires_at - created_at FROM web_sessions") == 600
    assert visitor.get("/console").status_code == 200
    started = db.scalar("SELECT created_at FROM web_sessions")  # not time.time(): a second may have turned
    monkeypatch.setattr(clock, "now", lambda: started + 599)
    assert visitor.get("/console").status_code == 200
    monkeypatch.setattr(clock, "now", lambda: started + 601)
    gone = visitor.get("/console")
    assert gone.status_code == 303 and gone.headers["Location"] == "/console/sign-in"


def test_a_customers_session_opens_no_console_page_and_an_operators_no_customer_page(app, visitor):
    visitor.sign_in()  # a customer
    assert visitor.get("/me").status_code == 200
    to_sign_in = visitor.get("/console")
    assert to_sign_in.status_code == 303 and to_sign_in.headers["Location"] == "/console/sign-in"
    assert visitor.get("/console/batches").status_code == 303

    operator = Visitor(app.test_client())
    sign_in(operator)
    assert operator.get("/console").status_code == 200
    for path in ("/me", "/me/payouts"):
        page = operator.get(path)
        assert page.status_code == 303 and page.headers["Location"].startswith("/sign-in")


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(visitor, db):
    sign_in(visitor)
    page = visitor.get("/console/batches").get_data(as_text=True)
    refused = visitor.post("/console/batches", {"count": "5", "request_id": request_id(page)}, csrf=False)
    assert refused.status_code == 400 and refused.mimetype == "text/html"
    assert db.scalar("SELECT count(*) FROM batches") == 0
    assert visitor.post("/console/sign-out", csrf=False).status_code == 400
    assert visitor.get("/console").status_code == 200  # still signed in


def test_a_form_token_serves_its_own_visitors_pages_and_no_one_elses(app, visitor, db, monkeypatch):
    # The token is signed once per seed and kept (web/form_tokens.py): every page of a visitor
    # gives the same one, and it opens nothing in another visitor's session. Each signature is
    # stamped a second after the last, so a token signed twice would show, whatever the clock.
    stamps = itertools.count(int(time.time()) - 600)  # behind the clock: never a future stamp
    monkeypatch.setattr(itsdangerous.TimestampSigner, "get_timestamp", lambda signer: next(stamps))
    sign_in(visitor)
    first = visitor.csrf
    visitor.get("/console/batches")
    assert visitor.csrf == first
    other = Visitor(app.test_client())
    sign_in(other)
    assert other.csrf != first
    other.csrf = first
    assert other.post("/console/sign-out").status_code == 400
    assert other.get("/console").status_code == 200  # still signed in
    assert visitor.post("/console/sign-out").status_code == 303
    assert visitor.get("/console").status_code == 303


def test_a_forms_cookie_older_than_the_session_lifetime_carries_no_token(app, visitor, monkeypatch):
    # Each forms cookie's signature is checked once and kept (web/FormsCookie); its age is not.
    sign_in(visitor)
    signer = app.session_interface.get_signing_serializer(app)
    seed = signer.loads(visitor.client.get_cookie("rewards_forms").value)
    lifetime = app.config["WEB_SESSION_TTL_SECONDS"]
    signed_now = signer.dumps(seed)
    long_ago = time.time() - lifetime - 60
    monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: long_ago)
    signed_long_ago = signer.dumps(seed)
    monkeypatch.undo()
    for cookie in (signed_now, signed_long_ago, signed_now):  # the same cookies again: kept ones
        visitor.client.set_cookie("rewards_forms", cookie, path="/")
        answer = visitor.post("/console/sign-out")
        assert answer.status_code == (400 if cookie == signed_long_ago else 303)
        sign_in(visitor)


def test_a_wrong_key_without_csrf_is_refused_before_it_is_counted(visitor, db):
    assert visitor.client.post("/console/sign-in", data={"key": ADMIN_KEY}).status_code == 400
    assert db.scalar("SELECT count(*) FROM web_sessions") == 0


# Batches --------------------------------------------------------------------------------------


def test_a_batch_sent_twice_is_created_once_with_its_audit_entry(visitor, db):
    sign_in(visitor)
    page = visitor.get("/console/batches").get_data(as_text=True)
    assert ">Create batch</button>" in page and 'type="date"' in page
    form = {
        "count": "12",
        "points": "25",
        "label": "spring",
        "expires_at": "2099-06-30",
        "request_id": request_id(page),
    }
    first = visitor.post("/console/batches", form)
    second = visitor.post("/console/batches", form)  # a double click
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert db.scalar("SELECT count(*) FROM batches") == 1
    assert db.scalar("SELECT count(*) FROM coupons") == 12
    row = db.execute("SELECT points, label, expires_at FROM batches").fetchone()
    end_of_day = int(datetime(2099, 6, 30, 23, 59, 59, tzinfo=UTC).timestamp())  # the end of the day picked
    assert tuple(row) == (25, "spring", end_of_day)
    assert actions(db)[-1] == ("admin", "batch.create")
    shown = visible_text(visitor.get(first.headers["Location"]).get_data(as_text=True))
    assert "Batch 1 was created." in shown and "Active 12" in shown


def test_a_batch_form_sent_again_with_other_values_says_so_and_makes_nothing(visitor, db):
    sign_in(visitor)
    page = visitor.get("/console/batches").get_data(as_text=True)
    form = {"count": "1", "points": "10", "request_id": request_id(page)}
    assert visitor.post("/console/batches", form).status_code == 303
    # the form edited in the browser's history and sent again: its key was used for the first
    edited = visitor.post("/console/batches", form | {"count": "2"})
    shown = visible_text(edited.get_data(as_text=True))
    assert edited.status_code == 422 and edited.mimetype == "text/html"
    assert "This form was already sent with other values. Check them and send it again." in shown
    assert db.scalar("SELECT count(*) FROM batches") == 1 and db.scalar("SELECT count(*) FROM coupons") == 1
    # the page drawn with it carries a new key: sent, it is a new batch
    again = visitor.post(
        "/console/batches", form | {"count": "2", "request_id": request_id(edited.get_data(as_text=True))}
    )
    assert again.status_code == 303
    assert db.scalar("SELECT count(*) FROM batches") == 2 and db.scalar("SELECT count(*) FROM coupons") == 3


@pytest.mark.parametrize(
    ("count", "expires_at", "words"),
    [
        ("0", "", "Count must be a whole number from 1 to 10,000"),
        ("10001", "", "Count must be"),
        ("ten", "", "Count must be"),
        ("5", "2001-01-01", "Expires at must be in the future"),
    ],
)
def test_a_batch_outside_the_apis_limits_is_refused_on_the_page(visitor, db, count, expires_at, words):
    sign_in(visitor)
    page = visitor.get("/console/batches").get_data(as_text=True)
    refused = visitor.post(
        "/console/batches", {"count": count, "expires_at": expires_at, "request_id": request_id(page)}
    )
    assert refused.status_code == 400
    assert words in visible_text(refused.get_data(as_text=True))
    assert db.scalar("SELECT count(*) FROM batches") == 0


def test_the_list_pages_newest_first_with_the_four_counts(api, visitor):
    ids = [new_batch(api, 2) for _ in range(3)]
    sign_in(visitor)
    html = visitor.get("/console/batches?limit=2").get_data(as_text=True)
    shown = [int(n) for n in re.findall(r'href="/console/batches/(\d+)"', html)]
    assert shown == [ids[2], ids[1]]
    assert f'href="/console/batches?before={ids[1]}"' in html and 'class="counts"' in html
    older = visitor.get(f"/console/batches?before={ids[1]}").get_data(as_text=True)
    assert [int(n) for n in re.findall(r'href="/console/batches/(\d+)"', older)] == [ids[0]]


def test_a_batch_is_voided_only_after_the_confirmation(api, visitor, db):
    batch_id = new_batch(api, 3)
    sign_in(visitor)
    visitor.get(f"/console/batches/{batch_id}")
    asked = visitor.post(f"/console/batches/{batch_id}/void", {"reason": "leaked"})
    assert asked.status_code == 200
    text = visible_text(asked.get_data(as_text=True))
    assert f"Void batch {batch_id}?" in text and "Yes, void it" in text and "leaked" in text
    assert db.scalar("SELECT count(*) FROM coupons WHERE status = 'void'") == 0
    done = visitor.post(f"/console/batches/{batch_id}/void", {"reason": "leaked", "confirmed": "yes"})
    assert done.status_code == 303
    assert db.scalar("SELECT count(*) FROM coupons WHERE status = 'void'") == 3
    assert actions(db)[-1] == ("admin", "batch.void")
    assert db.scalar("SELECT reason FROM audit_log WHERE action = 'batch.void'") == "leaked"
    assert "Void 3" in visible_text(visitor.get(done.headers["Location"]).get_data(as_text=True))


def test_voiding_without_a_reason_changes_nothing(api, visitor, db):
    batch_id = new_batch(api, 2)
    sign_in(visitor)
    visitor.get(f"/console/batches/{batch_id}")
    refused = visitor.post(f"/console/batches/{batch_id}/void", {"reason": " ", "confirmed": "yes"})
    assert refused.status_code == 400
    assert db.scalar("SELECT count(*) FROM coupons WHERE status = 'void'") == 0


def test_the_downloads_stream_what_the_api_streams(api, client, visitor):
    batch_id = new_batch(api, 3)
    sign_in(visitor)
    headers = {"X-API-Key": ADMIN_KEY}
    csv = visitor.client.get(f"/console/batches/{batch_id}/coupons.csv")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    assert csv.data == client.get(f"/batches/{batch_id}/coupons.csv", headers=headers).data
    pdf = visitor.client.get(f"/console/batches/{batch_id}/sheet.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    assert visitor.get("/console/batches/99/coupons.csv").status_code == 404
    assert visitor.get("/console/batches/x/sheet.pdf").status_code == 404


def test_an_unknown_console_path_answers_the_404_page_with_the_navigation(visitor):
    sign_in(visitor)
    page = visitor.get("/console/no-such-page")
    assert page.status_code == 404 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "Not found" in visible_text(html) and ">Batches</a>" in html and ">Sign out</button>" in html
    for path in ("/console/users", "/console/payouts", "/console/audit"):
        assert visitor.get(path).status_code == 200, path
    signed_out = Visitor(visitor.client.application.test_client()).get("/console/no-such-page")
    assert signed_out.status_code == 404 and ">Batches</a>" not in signed_out.get_data(as_text=True)


# Coupons ---------------------------------------------------------------------------------------


def test_a_coupon_is_found_by_its_token_or_the_address_a_phone_read(api, visitor):
    token = api.generate(1)[0]
    sign_in(visitor)
    form = visitor.get("/console/coupons").get_data(as_text=True)
    assert 'for="token">Token<' in form and ">Find</button>" in form
    for typed in (token, token.upper(), f"  {token} ", f"https://rewards.example/c/{token}"):
        found = visitor.get("/console/coupons", query_string={"token": typed})
        assert found.status_code == 303 and found.headers["Location"] == f"/console/coupons/{token}"
    page = visible_text(visitor.get(f"/console/coupons/{token}").get_data(as_text=True))
    assert "Status active" in page and "Not scanned." in page
    refused = visitor.get("/console/coupons", query_string={"token": "not-a-token"})
    assert refused.status_code == 400 and "nor the address of one" in visible_text(refused.get_data(as_text=True))
    missing = visitor.get("/console/coupons/0b7f5d0e-8b7a-4c1e-9a0e-6f7c2f0d1a11")
    assert missing.status_code == 404 and ">Batches</a>" in missing.get_data(as_text=True)


def test_a_coupons_page_shows_its_scan_and_a_coupon_is_voided_with_its_reason(api, visitor, db):
    scanned, other = api.generate(2)
    login = api.login()
    assert api.scan(login.access_token, scanned, device_id="phone-7").status == 200
    sign_in(visitor)
    page = visible_text(visitor.get(f"/console/coupons/{scanned}").get_data(as_text=True))
    assert "Status redeemed" in page and f"Customer {login.user['id']}" in page and "phone-7" in page
    assert "Void coupon" not in page  # a redeemed coupon is reversed, not voided
    refused = visitor.post(f"/console/coupons/{scanned}/void", {"reason": "leak"})
    assert refused.status_code == 409 and "reverse its scan" in visible_text(refused.get_data(as_text=True))
    assert visitor.post(f"/console/coupons/{other}/void", {"reason": ""}).status_code == 400
    done = visitor.post(f"/console/coupons/{other}/void", {"reason": "photo on a forum"})
    assert done.status_code == 303
    after = visible_text(visitor.get(done.headers["Location"]).get_data(as_text=True))
    assert "The coupon is void." in after and "Status void" in after and "photo on a forum" in after
    assert db.scalar("SELECT status FROM coupons WHERE token = ?", (other,)) == "void"
    assert actions(db)[-1] == ("admin", "coupon.void")


def test_a_viewer_sees_a_coupon_but_may_not_void_it(make_app, db):
    app = make_app(**ROLES)
    token = Api(TestClientTransport(app.test_client())).generate(1)[0]
    viewer = Visitor(app.test_client())
    sign_in(viewer, VIEWER_KEY)
    page = viewer.get(f"/console/coupons/{token}").get_data(as_text=True)
    assert page and "Void coupon" not in page
    assert viewer.post(f"/console/coupons/{token}/void", {"reason": "x"}).status_code == 403
    assert db.scalar("SELECT status FROM coupons") == "active"


# Roles -----------------------------------------------------------------------------------------


def test_a_viewer_sees_no_button_it_may_not_use_and_each_post_is_403(make_app, db):
    app = make_app(**ROLES)
    batch_id = new_batch(Api(TestClientTransport(app.test_client())), 2)
    viewer = Visitor(app.test_client())
    assert sign_in(viewer, VIEWER_KEY).status_code == 303
    listing = viewer.get("/console/batches").get_data(as_text=True)
    assert f'href="/console/batches/{batch_id}"' in listing and "Create batch" not in listing
    page = viewer.get(f"/console/batches/{batch_id}").get_data(as_text=True)
    assert "Void batch" not in page and "Download PDF" not in page and "Download CSV" not in page
    created = viewer.post("/console/batches", {"count": "5", "request_id": "a" * 16})
    assert created.status_code == 403 and "needs the role issuer or admin" in visible_text(
        created.get_data(as_text=True)
    )
    voided = viewer.post(f"/console/batches/{batch_id}/void", {"reason": "x", "confirmed": "yes"})
    assert voided.status_code == 403
    for download in ("coupons.csv", "sheet.pdf"):
        assert viewer.client.get(f"/console/batches/{batch_id}/{download}").status_code == 403
    assert db.scalar("SELECT count(*) FROM batches") == 1
    assert db.scalar("SELECT count(*) FROM coupons WHERE status = 'void'") == 0
    assert actions(db)[-1] == ("vera", "operator.sign_in")


def test_an_issuer_creates_voids_and_downloads(make_app, db):
    app = make_app(**ROLES)
    issuer = Visitor(app.test_client())
    sign_in(issuer, ISSUER_KEY)
    page = issuer.get("/console/batches").get_data(as_text=True)
    made = issuer.post("/console/batches", {"count": "2", "request_id": request_id(page)})
    assert made.status_code == 303
    batch_page = issuer.get(made.headers["Location"]).get_data(as_text=True)
    assert "Download PDF" in batch_page and "Void batch" in batch_page
    assert issuer.client.get("/console/batches/1/coupons.csv").status_code == 200
    assert issuer.post("/console/batches/1/void", {"reason": "test", "confirmed": "yes"}).status_code == 303
    assert actions(db)[1:] == [("ivan", "batch.create"), ("ivan", "batch.void")]
