"""The console's customers over Flask's test client, on both engines: found by the whole phone
number or by its last digits, a customer's page (balance, ledger, payouts, scans with their
devices), a scan reversed with and without restoring its coupon, the balance adjusted, each
once however often its form is sent, checked through the API; and each role refused what the
table denies (the browser walk is in test_console_customers_browser.py)."""

from __future__ import annotations

import re

import pytest

from rewards.ledger.search import NAMES as ENDING_NAMES
from rewards.ledger.search import STATEMENTS as SEARCHES

from .support.client import ADMIN_KEY, Api, Login, TestClientTransport
from .support.pages import Visitor, console_sign_in, visible_text

ADMIN = {"X-API-Key": ADMIN_KEY}
VIEWER_KEY, ISSUER_KEY, FINANCE_KEY = "v" * 32, "i" * 32, "f" * 32
ROLES = {
    "ADMIN_API_KEYS": f"vera:{VIEWER_KEY},ivan:{ISSUER_KEY},fiona:{FINANCE_KEY}",
    "OPERATOR_ROLES": "vera:viewer,ivan:issuer,fiona:finance",
}


def sign_in(visitor: Visitor, key: str = ADMIN_KEY) -> None:
    assert console_sign_in(visitor, key).status_code == 303


def text_of(response) -> str:
    return visible_text(response.get_data(as_text=True))


def request_id(html: str, action: str) -> str:
    """The Idempotency key of the form that posts to `action`."""
    form = re.search(rf'<form[^>]*action="{re.escape(action)}".*?</form>', html, re.S).group(0)
    return re.search(r'name="request_id" value="([^"]+)"', form).group(1)


def customer_with_scans(api: Api, phone: str, count: int = 2, points: int = 10, **scan: str) -> tuple[Login, list]:
    """A customer who collected `count` coupons of `points` each: (login, the scans' ids)."""
    login = api.login(phone)
    scans = []
    for token in api.generate(count, points=points):
        done = api.scan(login.access_token, token, **scan)
        assert done.status == 200, done.body
        scans.append((done.body["scan_id"], token))
    return login, scans


def wallet(api: Api, user_id: int) -> dict:
    return api.call("GET", f"/users/{user_id}/wallet", headers=ADMIN).body


def coupon_status(api: Api, token: str) -> str:
    return api.call("GET", f"/coupons/{token}", headers=ADMIN).body["status"]


def audit(api: Api, action: str) -> list[dict]:
    return api.call("GET", f"/audit?action={action}", headers=ADMIN).body["entries"]


# Finding a customer ---------------------------------------------------------------------------


def test_the_whole_number_opens_the_customers_page(api, visitor):
    login = api.login("+919876543210")
    sign_in(visitor)
    form = visitor.get("/console/users").get_data(as_text=True)
    assert 'for="phone">Phone<' in form and ">Search</button>" in form
    assert 'href="/console/users" aria-current="page"' in form
    for typed in ("+919876543210", " +919876543210 "):
        found = visitor.get("/console/users", query_string={"phone": typed})
        assert found.status_code == 303 and found.headers["Location"] == f"/console/users/{login.user['id']}"
    missing = visitor.get("/console/users", query_string={"phone": "+919876543211"})
    assert missing.status_code == 404 and "No customer has the phone number +919876543211." in text_of(missing)


def test_the_last_digits_list_every_customer_whose_phone_ends_with_them_newest_first(api, visitor):
    first = api.login("+919876504321").user["id"]
    api.login("+15550004320")  # ends otherwise
    second = api.login("+447700904321").user["id"]
    third = api.login("+15554321000").user["id"]  # 4321 inside, not at the end
    sign_in(visitor)
    page = visitor.get("/console/users", query_string={"phone": "4321"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert [int(n) for n in re.findall(r'href="/console/users/(\d+)"', html)] == [second, first]
    assert f'href="/console/users/{third}"' not in html
    assert "Phones ending in 4321" in text_of(page) and "+447700904321" in text_of(page)
    one = visitor.get("/console/users", query_string={"phone": "04321"})  # more digits, fewer customers
    assert re.findall(r'href="/console/users/(\d+)"', one.get_data(as_text=True)) == [str(second), str(first)]
    assert re.findall(
        r'href="/console/users/(\d+)"', visitor.get("/console/users?phone=904321").get_data(as_text=True)
    ) == [str(second)]
    none = visitor.get("/console/users", query_string={"phone": "999"})
    assert none.status_code == 200 and "No customer has a phone number ending in 999." in text_of(none)


def test_the_last_digits_page_through_the_customers(api, visitor):
    ids = [api.login(f"+1555000{n}777").user["id"] for n in range(5)]
    sign_in(visitor)
    html = visitor.get("/console/users?phone=777&limit=2").get_data(as_text=True)
    assert [int(n) for n in re.findall(r'href="/console/users/(\d+)"', html)] == [ids[4], ids[3]]
    more = re.search(r'href="(/console/users\?phone=777[^"]*before=\d+[^"]*)"', html).group(1).replace("&amp;", "&")
    rest = visitor.get(more).get_data(as_text=True)
    assert [int(n) for n in re.findall(r'href="/console/users/(\d+)"', rest)] == [ids[2], ids[1], ids[0]]


def test_the_search_by_last_digits_reads_the_index_of_phone_endings(db):
    """At a few thousand customers either planner would rather read the index than every row:
    the statements for three digits and for more both name users_by_phone_ending."""
    db.execute(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000) "
        "INSERT INTO users (phone, created_at) SELECT '+1555' || CAST(1000000 + i AS TEXT), 1 FROM n"
    )
    if db.engine == "postgresql":
        db.execute("ANALYZE users")
    explain = "EXPLAIN QUERY PLAN " if db.engine == "sqlite" else "EXPLAIN "
    common = {"before": 2**62, "limit": 51, "pattern": "%4321"}
    for three, endings in (
        (True, {name: f"{d}321" for d, name in enumerate(ENDING_NAMES)}),
        (False, {"ending_a": "4321"}),
    ):
        used = "\n".join(str(tuple(row)[-1]) for row in db.execute(explain + SEARCHES[three], common | endings))
        assert "users_by_phone_ending" in used, used


@pytest.mark.parametrize("typed", ["", "12", "+12", "98765 43210", "abc", "1" * 16, "+919876543210x", "٣٢١٠"])
def test_anything_else_is_a_400_page_saying_what_to_type(visitor, typed):
    sign_in(visitor)
    refused = visitor.get("/console/users", query_string={"phone": typed})
    assert refused.status_code == 400 and refused.mimetype == "text/html"
    assert "Type the whole number with + and the country code" in text_of(refused)
    assert "3 or more of its last digits" in text_of(refused)


def test_a_phone_sent_twice_or_too_long_for_any_is_the_same_400_page(visitor):
    sign_in(visitor)
    for query in ("phone=4321&phone=321", "phone=" + "1" * 101):
        refused = visitor.get(f"/console/users?{query}")
        assert refused.status_code == 400 and "Type the whole number with +" in text_of(refused)


# A customer's page ----------------------------------------------------------------------------


def test_a_customers_page_shows_the_balance_ledger_payouts_and_scans(api, visitor):
    login, scans = customer_with_scans(api, "+919800000001", count=3, points=40, device_id="phone-abc")
    asked = api.call("POST", "/users/me/payouts", {"points": 50}, {"Authorization": f"Bearer {login.access_token}"})
    assert asked.status == 201, asked.body
    payout = asked.body["payout"]["id"]
    api.call("POST", f"/payouts/{payout}/approve", {"reference": "UTR-778"}, ADMIN)
    user_id = login.user["id"]
    sign_in(visitor)
    page = visitor.get(f"/console/users/{user_id}")
    html, text = page.get_data(as_text=True), text_of(page)
    assert page.status_code == 200
    assert "Customer +919800000001" in text and "Balance 70 points" in text and "Scans counted 3" in text
    assert 'href="/console/users" aria-current="page"' in html
    # the ledger newest first, in words, with the coupon each scan came from
    assert text.index("Payout requested") < text.index("Coupon collected")
    assert text.count("Coupon collected") == 3 and "−50" in text
    for scan_id, token in scans:
        assert f'href="/console/coupons/{token}"' in html
        assert f'action="/console/users/{user_id}/scans/{scan_id}/reverse"' in html
    assert text.count("Device: phone-abc") == 3
    assert "Paid" in text and "Reference: UTR-778" in text
    for label in ("Reason", "Restore the coupon", "Points"):
        assert f">{label}</label>" in html
    assert ">Reverse</button>" in html and ">Adjust</button>" in html


def test_the_transactions_page_with_before_like_the_wallet(api, visitor):
    login, _scans = customer_with_scans(api, "+919800000002", count=3)
    sign_in(visitor)
    html = visitor.get(f"/console/users/{login.user['id']}?limit=2").get_data(as_text=True)
    assert html.count("Coupon collected") == 2
    older = re.search(r'href="([^"]*before=(\d+)[^"]*)">Older transactions', html)
    assert (
        older
        and visitor.get(older.group(1).replace("&amp;", "&")).get_data(as_text=True).count("Coupon collected") == 1
    )


@pytest.mark.parametrize("ref", ["999", "0", "x", "-1", "99999999999999999999"])
def test_an_unknown_customer_is_the_404_page(visitor, ref):
    sign_in(visitor)
    page = visitor.get(f"/console/users/{ref}")
    assert page.status_code == 404 and page.mimetype == "text/html"
    assert "Not found" in text_of(page) and ">Batches</a>" in page.get_data(as_text=True)


# Reversing a scan -----------------------------------------------------------------------------


def test_a_scan_is_reversed_with_the_coupon_restored_checked_through_the_api(api, visitor):
    login, [(scan_id, token), _other] = customer_with_scans(api, "+919800000003")
    user_id = login.user["id"]
    sign_in(visitor)
    page = visitor.get(f"/console/users/{user_id}").get_data(as_text=True)
    action = f"/console/users/{user_id}/scans/{scan_id}/reverse"
    form = {"reason": "scanned by the shop's staff", "restore": "yes", "request_id": request_id(page, action)}
    done = visitor.post(action, form)
    assert done.status_code == 303
    shown = text_of(visitor.get(done.headers["Location"]))
    assert "The scan was reversed: its points left the balance, and the coupon can be scanned again." in shown
    assert "the coupon can be scanned again." in shown and "Balance 10 points" in shown
    found = wallet(api, user_id)
    assert found["points"] == 10 and found["scans"] == 1
    assert found["transactions"][0]["kind"] == "reversal"
    assert found["transactions"][0]["reason"] == "scanned by the shop's staff"
    assert coupon_status(api, token) == "active"
    [entry] = audit(api, "scan.reverse")
    assert entry["operator"] == "admin" and entry["target"] == f"scan:{scan_id}"
    assert entry["reason"] == "scanned by the shop's staff" and entry["details"]["restore"] is True


def test_a_scan_reversed_without_restoring_leaves_the_coupon_void(make_app):
    app = make_app(**ROLES)
    api = Api(TestClientTransport(app.test_client()))
    login, [(scan_id, token), _other] = customer_with_scans(api, "+919800000004")
    user_id = login.user["id"]
    finance = Visitor(app.test_client())
    sign_in(finance, FINANCE_KEY)
    page = finance.get(f"/console/users/{user_id}").get_data(as_text=True)
    action = f"/console/users/{user_id}/scans/{scan_id}/reverse"
    done = finance.post(action, {"reason": "a photo of the code", "request_id": request_id(page, action)})
    assert done.status_code == 303
    assert "and the coupon is void." in text_of(finance.get(done.headers["Location"]))
    assert wallet(api, user_id)["points"] == 10
    assert coupon_status(api, token) == "void"
    [entry] = audit(api, "scan.reverse")
    assert entry["operator"] == "fiona" and entry["details"]["restore"] is False


def test_a_scan_reversed_twice_by_a_double_submit_is_reversed_once(api, visitor, db):
    login, [(scan_id, _token), _other] = customer_with_scans(api, "+919800000005")
    user_id = login.user["id"]
    sign_in(visitor)
    page = visitor.get(f"/console/users/{user_id}").get_data(as_text=True)
    action = f"/console/users/{user_id}/scans/{scan_id}/reverse"
    form = {"reason": "twice", "request_id": request_id(page, action)}
    first, second = visitor.post(action, form), visitor.post(action, form)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert wallet(api, user_id)["points"] == 10
    assert db.scalar("SELECT count(*) FROM ledger_entries WHERE kind = 'reversal'") == 1
    assert len(audit(api, "scan.reverse")) == 1
    # A new form (another key) for a scan reversed already: said in words, 409.
    again = visitor.post(action, {"reason": "again", "request_id": "b" * 16})
    assert again.status_code == 409 and "This scan was reversed before" in text_of(again)
    assert 'action="' + action not in again.get_data(as_text=True)  # no Reverse button for it any more


def test_a_reversal_the_balance_cannot_cover_is_refused_in_words(api, visitor):
    login, [(scan_id, token)] = customer_with_scans(api, "+919800000006", count=1, points=60)
    asked = api.call("POST", "/users/me/payouts", {"points": 50}, {"Authorization": f"Bearer {login.access_token}"})
    assert asked.status == 201, asked.body
    user_id = login.user["id"]
    sign_in(visitor)
    page = visitor.get(f"/console/users/{user_id}").get_data(as_text=True)
    action = f"/console/users/{user_id}/scans/{scan_id}/reverse"
    refused = visitor.post(action, {"reason": "too late", "request_id": request_id(page, action)})
    assert refused.status_code == 409
    assert "would take the balance below zero. Nothing was changed." in text_of(refused)
    assert 'value="too late"' in refused.get_data(as_text=True)  # the form kept what was typed
    assert wallet(api, user_id)["points"] == 10 and coupon_status(api, token) == "redeemed"
    assert audit(api, "scan.reverse") == []


def test_a_reversal_without_a_reason_or_of_another_customers_scan_changes_nothing(api, visitor):
    login, [(scan_id, _token)] = customer_with_scans(api, "+919800000007", count=1)
    other, [(others_scan, _t)] = customer_with_scans(api, "+919800000008", count=1)
    user_id = login.user["id"]
    sign_in(visitor)
    page = visitor.get(f"/console/users/{user_id}").get_data(as_text=True)
    action = f"/console/users/{user_id}/scans/{scan_id}/reverse"
    blank = visitor.post(action, {"reason": "  ", "request_id": request_id(page, action)})
    assert blank.status_code == 400 and "Write the reason for reversing the scan" in text_of(blank)
    elsewhere = visitor.post(
        f"/console/users/{user_id}/scans/{others_scan}/reverse", {"reason": "x", "request_id": "c" * 16}
    )
    assert elsewhere.status_code == 404 and elsewhere.mimetype == "text/html"
    missing = visitor.post(f"/console/users/{user_id}/scans/999/reverse", {"reason": "x", "request_id": "d" * 16})
    assert missing.status_code == 404
    assert wallet(api, user_id)["points"] == wallet(api, other.user["id"])["points"] == 10
    assert audit(api, "scan.reverse") == []


# Adjusting a balance --------------------------------------------------------------------------


@pytest.mark.parametrize(("typed", "balance"), [("25", 45), ("-15", 5), ("+5", 25), ("−20", 0)])
def test_an_adjustment_moves_the_balance_by_a_whole_number_with_its_reason(api, visitor, typed, balance):
    login, _scans = customer_with_scans(api, "+919800000009", count=2)
    user_id = login.user["id"]
    sign_in(visitor)
    page = visitor.get(f"/console/users/{user_id}").get_data(as_text=True)
    action = f"/console/users/{user_id}/adjustments"
    done = visitor.post(action, {"points": typed, "reason": "goodwill", "request_id": request_id(page, action)})
    assert done.status_code == 303
    shown = text_of(visitor.get(done.headers["Location"]))
    assert "The balance was adjusted." in shown and f"Balance {balance} points" in shown
    assert "Correction by the programme" in shown and "Reason: goodwill" in shown
    found = wallet(api, user_id)
    assert found["points"] == balance and found["transactions"][0]["kind"] == "adjustment"
    [entry] = audit(api, "user.adjust")
    assert entry["operator"] == "admin" and entry["reason"] == "goodwill"
    assert entry["details"]["points"] == balance - 20


def test_an_adjustment_below_zero_is_refused_in_words_and_changes_nothing(api, visitor):
    login, _scans = customer_with_scans(api, "+919800000010", count=1)
    user_id = login.user["id"]
    sign_in(visitor)
    page = visitor.get(f"/console/users/{user_id}").get_data(as_text=True)
    action = f"/console/users/{user_id}/adjustments"
    refused = visitor.post(action, {"points": "-11", "reason": "typo", "request_id": request_id(page, action)})
    assert refused.status_code == 409
    assert "The balance cannot go below zero" in text_of(refused) and "Balance 10 points" in text_of(refused)
    assert wallet(api, user_id)["points"] == 10 and audit(api, "user.adjust") == []


@pytest.mark.parametrize("typed", ["", "0", "1.5", "ten", "1000000001", "-1000000001", "5 0", "٥"])
def test_an_adjustment_that_is_not_a_whole_number_in_range_is_a_400(api, visitor, typed):
    login = api.login("+919800000011")
    user_id = login.user["id"]
    sign_in(visitor)
    page = visitor.get(f"/console/users/{user_id}").get_data(as_text=True)
    action = f"/console/users/{user_id}/adjustments"
    refused = visitor.post(action, {"points": typed, "reason": "x", "request_id": request_id(page, action)})
    assert refused.status_code == 400 and "Write the points as a whole number other than 0" in text_of(refused)
    no_reason = visitor.post(action, {"points": "5", "reason": "", "request_id": request_id(page, action)})
    assert no_reason.status_code == 400 and "Write the reason for the adjustment" in text_of(no_reason)
    assert wallet(api, user_id)["points"] == 0 and audit(api, "user.adjust") == []


def test_an_adjustment_sent_twice_is_made_once(api, visitor, db):
    login = api.login("+919800000012")
    user_id = login.user["id"]
    sign_in(visitor)
    page = visitor.get(f"/console/users/{user_id}").get_data(as_text=True)
    action = f"/console/users/{user_id}/adjustments"
    form = {"points": "30", "reason": "welcome", "request_id": request_id(page, action)}
    first, second = visitor.post(action, form), visitor.post(action, form)
    assert first.status_code == second.status_code == 303
    assert wallet(api, user_id)["points"] == 30
    assert db.scalar("SELECT count(*) FROM ledger_entries WHERE kind = 'adjustment'") == 1
    assert len(audit(api, "user.adjust")) == 1
    # the same form sent again with other values (edited in the history): said, not done
    edited = visitor.post(action, form | {"points": "31"})
    assert edited.status_code == 422 and "already sent with other values" in text_of(edited)
    assert wallet(api, user_id)["points"] == 30
    # a new form drawn is a new adjustment
    page = visitor.get(f"/console/users/{user_id}").get_data(as_text=True)
    assert visitor.post(action, form | {"request_id": request_id(page, action)}).status_code == 303
    assert wallet(api, user_id)["points"] == 60


def test_an_adjustment_of_an_unknown_customer_is_the_404_page(visitor, db):
    sign_in(visitor)
    visitor.get("/console/users")
    page = visitor.post("/console/users/999/adjustments", {"points": "5", "reason": "x", "request_id": "d" * 16})
    assert page.status_code == 404 and page.mimetype == "text/html"
    assert db.scalar("SELECT count(*) FROM ledger_entries") == 0


# Roles and CSRF -------------------------------------------------------------------------------


@pytest.mark.parametrize("key", [VIEWER_KEY, ISSUER_KEY])
def test_a_viewer_and_an_issuer_see_the_customer_but_no_button_and_each_post_is_403(make_app, key):
    app = make_app(**ROLES)
    api = Api(TestClientTransport(app.test_client()))
    login, [(scan_id, token)] = customer_with_scans(api, "+919800000013", count=1)
    user_id = login.user["id"]
    operator = Visitor(app.test_client())
    sign_in(operator, key)
    assert operator.get("/console/users?phone=0013").status_code == 200
    page = operator.get(f"/console/users/{user_id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Balance 10 points" in text_of(page)
    assert ">Reverse</button>" not in html and ">Adjust</button>" not in html and "request_id" not in html
    reversed_ = operator.post(
        f"/console/users/{user_id}/scans/{scan_id}/reverse", {"reason": "x", "request_id": "e" * 16}
    )
    adjusted = operator.post(
        f"/console/users/{user_id}/adjustments", {"points": "5", "reason": "x", "request_id": "f" * 16}
    )
    for refused in (reversed_, adjusted):
        assert refused.status_code == 403 and "needs the role finance or admin" in text_of(refused)
    assert wallet(api, user_id)["points"] == 10 and coupon_status(api, token) == "redeemed"
    assert audit(api, "scan.reverse") == audit(api, "user.adjust") == []


def test_a_finance_operator_may_reverse_and_adjust(make_app):
    app = make_app(**ROLES)
    api = Api(TestClientTransport(app.test_client()))
    login, [(scan_id, _token), _other] = customer_with_scans(api, "+919800000014")
    user_id = login.user["id"]
    finance = Visitor(app.test_client())
    sign_in(finance, FINANCE_KEY)
    page = finance.get(f"/console/users/{user_id}").get_data(as_text=True)
    assert ">Reverse</button>" in page and ">Adjust</button>" in page
    reverse = f"/console/users/{user_id}/scans/{scan_id}/reverse"
    adjust = f"/console/users/{user_id}/adjustments"
    assert finance.post(reverse, {"reason": "r", "request_id": request_id(page, reverse)}).status_code == 303
    assert (
        finance.post(adjust, {"points": "3", "reason": "a", "request_id": request_id(page, adjust)}).status_code == 303
    )
    assert wallet(api, user_id)["points"] == 13
    assert [e["operator"] for e in audit(api, "scan.reverse") + audit(api, "user.adjust")] == ["fiona", "fiona"]


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(api, visitor):
    login, [(scan_id, token)] = customer_with_scans(api, "+919800000015", count=1)
    user_id = login.user["id"]
    sign_in(visitor)
    page = visitor.get(f"/console/users/{user_id}").get_data(as_text=True)
    reverse = f"/console/users/{user_id}/scans/{scan_id}/reverse"
    adjust = f"/console/users/{user_id}/adjustments"
    refused = [
        visitor.post(reverse, {"reason": "r", "request_id": request_id(page, reverse)}, csrf=False),
        visitor.post(adjust, {"points": "3", "reason": "a", "request_id": request_id(page, adjust)}, csrf=False),
    ]
    assert [r.status_code for r in refused] == [400, 400] and all(r.mimetype == "text/html" for r in refused)
    assert wallet(api, user_id)["points"] == 10 and coupon_status(api, token) == "redeemed"
    assert audit(api, "scan.reverse") == audit(api, "user.adjust") == []
