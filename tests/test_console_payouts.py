"""The console's payouts, audit log and the dashboard's fastest batches, over Flask's test client
on both engines: the queue oldest first, approving with a reference and rejecting with a reason
(checked through the API: status, refund, audit entry naming the operator), several approved at
once, each form carried out once however often it is sent, the CSV, each role refused what the
table denies; the audit page filtered by action and by operator (the browser walk is in
test_console_payouts_browser.py)."""

from __future__ import annotations

import re

from .support.client import ADMIN_KEY, Api, TestClientTransport, bearer
from .support.pages import Visitor, console_sign_in, visible_text

ADMIN = {"X-API-Key": ADMIN_KEY}
VIEWER_KEY = "v" * 32
ISSUER_KEY = "i" * 32
FINANCE_KEY = "f" * 32
ROLES = {
    "ADMIN_API_KEYS": f"vera:{VIEWER_KEY},ivan:{ISSUER_KEY},fran:{FINANCE_KEY}",
    "OPERATOR_ROLES": "vera:viewer,ivan:issuer,fran:finance",
}


sign_in = console_sign_in


def request_payouts(api: Api, *amounts: int, balance: int = 1000) -> tuple[dict, list[int]]:
    """A customer given `balance` points who asks for a payout of each amount, in order: the
    customer (with its access token) and the payouts' ids."""
    login = api.login()
    user_id = login.user["id"]
    given = api.call("POST", f"/users/{user_id}/adjustments", {"points": balance, "reason": "welcome"}, ADMIN)
    assert given.status == 201, given.body
    ids = []
    for points in amounts:
        asked = api.call("POST", "/users/me/payouts", {"points": points}, bearer(login.access_token))
        assert asked.status == 201, asked.body
        ids.append(asked.body["payout"]["id"])
    return {"id": user_id, "phone": login.user["phone"], "token": login.access_token}, ids


def payout(api: Api, payout_id: int, user_id: int) -> dict:
    listed = api.call("GET", f"/users/{user_id}/payouts?limit=100", headers=ADMIN).body["payouts"]
    return next(p for p in listed if p["id"] == payout_id)


def request_id(html: str) -> str:
    return re.search(r'name="request_id" value="([^"]+)"', html).group(1)


def queue_ids(html: str) -> list[int]:
    """The payouts of the pending queue, in the order shown."""
    return [int(n) for n in re.findall(r'<h3 id="payout-(\d+)"', html)]


def audit_rows(db, action: str) -> list[tuple]:
    return [
        tuple(row)
        for row in db.execute(
            "SELECT operator, target, reason FROM audit_log WHERE action = ? ORDER BY id", (action,)
        ).fetchall()
    ]


# The queue ------------------------------------------------------------------------------------


def test_the_queue_is_pending_payouts_oldest_first_with_the_customers_phone(api, visitor):
    first, (a, b) = request_payouts(api, 10, 20)
    second, (c,) = request_payouts(api, 30)
    assert api.call("POST", f"/payouts/{b}/reject", {"reason": "duplicate"}, ADMIN).status == 200
    sign_in(visitor)
    page = visitor.get("/console/payouts")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert queue_ids(html) == [a, c]  # oldest first; the rejected one is below, decided
    assert f'<a href="/console/users/{first["id"]}">{first["phone"]}</a>' in html
    assert f'<a href="/console/users/{second["id"]}">{second["phone"]}</a>' in html
    text = visible_text(html)
    assert "2 payouts waiting" in text and "requested" in text
    assert "Decided, newest first" in text and f"#{b}" in text and "duplicate" in text
    for words in (">Approve</button>", ">Reject</button>", ">Approve selected</button>", ">Download CSV</a>"):
        assert words in html
    assert f'for="reference-{a}">Reference<' in html and f'for="reason-{a}">Reason<' in html


def test_the_queue_and_the_decided_list_page(api, visitor):
    _customer, ids = request_payouts(api, *[1] * 55)
    for payout_id in ids[:3]:
        assert api.call("POST", f"/payouts/{payout_id}/approve", {"reference": f"T{payout_id}"}, ADMIN).status == 200
    sign_in(visitor)
    html = visitor.get("/console/payouts?limit=2").get_data(as_text=True)
    assert queue_ids(html) == ids[3:53]  # fifty at a time
    assert f'href="/console/payouts?after={ids[52]}"' in html
    assert queue_ids(visitor.get(f"/console/payouts?after={ids[52]}").get_data(as_text=True)) == ids[53:]
    decided = re.findall(r'<th scope="row">#(\d+)</th>', html)
    assert [int(n) for n in decided] == [ids[2], ids[1]] and f'href="/console/payouts?before={ids[1]}"' in html
    older = visitor.get(f"/console/payouts?before={ids[1]}").get_data(as_text=True)
    assert [int(n) for n in re.findall(r'<th scope="row">#(\d+)</th>', older)] == [ids[0]]
    assert visitor.get("/console/payouts?before=x").status_code == 400


# Deciding one ---------------------------------------------------------------------------------


def test_a_payout_is_approved_with_its_reference_and_the_audit_names_the_operator(api, visitor, db):
    customer, (payout_id,) = request_payouts(api, 300)
    sign_in(visitor)
    page = visitor.get("/console/payouts").get_data(as_text=True)
    form = {"request_id": request_id(page), f"reference-{payout_id}": "  UTR-20261203-1 "}
    done = visitor.post(f"/console/payouts/{payout_id}/approve", form)
    assert done.status_code == 303 and done.headers["Location"] == f"/console/payouts?approved={payout_id}"
    assert f"Approved: #{payout_id}." in visible_text(visitor.get(done.headers["Location"]).get_data(as_text=True))
    seen = payout(api, payout_id, customer["id"])
    assert seen["status"] == "approved" and seen["reference"] == "UTR-20261203-1"
    assert api.wallet(customer["token"]).body["points"] == 700  # the points stay paid out
    assert audit_rows(db, "payout.approve") == [("admin", f"payout:{payout_id}", None)]


def test_a_payout_is_rejected_with_its_reason_and_the_points_go_back(api, visitor, db):
    customer, (payout_id,) = request_payouts(api, 300)
    sign_in(visitor)
    page = visitor.get("/console/payouts").get_data(as_text=True)
    done = visitor.post(
        f"/console/payouts/{payout_id}/reject", {"request_id": request_id(page), "reason": "bank details wrong"}
    )
    assert done.status_code == 303
    shown = visible_text(visitor.get(done.headers["Location"]).get_data(as_text=True))
    assert f"Rejected, the points given back to the customer: #{payout_id}." in shown
    seen = payout(api, payout_id, customer["id"])
    assert seen["status"] == "rejected" and seen["reason"] == "bank details wrong"
    wallet = api.wallet(customer["token"]).body
    assert wallet["points"] == 1000
    assert audit_rows(db, "payout.reject") == [("admin", f"payout:{payout_id}", "bank details wrong")]


def test_a_decision_without_its_reference_or_reason_changes_nothing(api, visitor, db):
    _customer, (payout_id,) = request_payouts(api, 300)
    sign_in(visitor)
    key = request_id(visitor.get("/console/payouts").get_data(as_text=True))
    for sent in ({f"reference-{payout_id}": " "}, {f"reference-{payout_id}": "x" * 101}, {}):
        refused = visitor.post(f"/console/payouts/{payout_id}/approve", {"request_id": key, **sent})
        assert refused.status_code == 400
        assert "Write the transfer" in visible_text(refused.get_data(as_text=True))
    refused = visitor.post(f"/console/payouts/{payout_id}/reject", {"request_id": key, "reason": ""})
    assert refused.status_code == 400 and "Write why" in visible_text(refused.get_data(as_text=True))
    assert db.scalar("SELECT status FROM payouts") == "pending"
    assert visitor.post("/console/payouts/999/approve", {"request_id": key, "reference-999": "T"}).status_code == 404
    assert visitor.post("/console/payouts/x/reject", {"request_id": key, "reason": "r"}).status_code == 404


def test_a_payout_decided_already_gets_the_409_page_in_words(api, visitor, db):
    _customer, (payout_id,) = request_payouts(api, 300)
    sign_in(visitor)
    key = request_id(visitor.get("/console/payouts").get_data(as_text=True))
    # Someone else (here the API) decided it after the page was drawn.
    assert api.call("POST", f"/payouts/{payout_id}/approve", {"reference": "FIRST"}, ADMIN).status == 200
    refused = visitor.post(f"/console/payouts/{payout_id}/reject", {"request_id": key, "reason": "late"})
    assert refused.status_code == 409 and refused.mimetype == "text/html"
    assert f"Payout #{payout_id} was approved already: nothing changed." in visible_text(refused.get_data(as_text=True))
    again = visitor.post(f"/console/payouts/{payout_id}/approve", {"request_id": key, f"reference-{payout_id}": "T2"})
    assert again.status_code == 409
    assert db.scalar("SELECT reference FROM payouts") == "FIRST"
    assert db.scalar("SELECT count(*) FROM ledger_entries WHERE kind = 'payout_refund'") == 0


def test_each_form_sent_twice_is_carried_out_once(api, visitor, db):
    _customer, (approved, rejected) = request_payouts(api, 100, 200)
    sign_in(visitor)
    key = request_id(visitor.get("/console/payouts").get_data(as_text=True))
    approve = {"request_id": key, f"reference-{approved}": "T-1"}
    first, second = (visitor.post(f"/console/payouts/{approved}/approve", approve) for _ in range(2))
    assert first.status_code == second.status_code == 303 and first.headers["Location"] == second.headers["Location"]
    reject = {"request_id": key, "reason": "twice"}
    first, second = (visitor.post(f"/console/payouts/{rejected}/reject", reject) for _ in range(2))
    assert first.status_code == second.status_code == 303 and first.headers["Location"] == second.headers["Location"]
    assert len(audit_rows(db, "payout.approve")) == 1 and len(audit_rows(db, "payout.reject")) == 1
    assert db.scalar("SELECT count(*) FROM ledger_entries WHERE kind = 'payout_refund'") == 1
    # The same form sent again with another reference (back, edit, send): refused, the first kept.
    edited = visitor.post(f"/console/payouts/{approved}/approve", {**approve, f"reference-{approved}": "T-2"})
    assert edited.status_code == 409 and f"Payout #{approved} was approved already" in visible_text(
        edited.get_data(as_text=True)
    )
    assert db.scalar("SELECT reference FROM payouts WHERE id = ?", (approved,)) == "T-1"


# Several at once ------------------------------------------------------------------------------


def test_approve_selected_approves_each_ticked_payout_with_its_own_reference(api, visitor, db):
    customer, ids = request_payouts(api, 10, 20, 30, 40, 50)
    paid, also_paid, unreferenced, unticked, decided_meanwhile = ids
    sign_in(visitor)
    page = visitor.get("/console/payouts").get_data(as_text=True)
    assert api.call("POST", f"/payouts/{decided_meanwhile}/reject", {"reason": "fraud"}, ADMIN).status == 200
    form = {
        "request_id": request_id(page),
        f"reference-{paid}": "BANK-1",
        f"reference-{also_paid}": "BANK-2",
        f"reference-{unreferenced}": "  ",
        f"reference-{unticked}": "NOT-THIS-ONE",
        f"reference-{decided_meanwhile}": "BANK-5",
    }
    ticked = [paid, also_paid, unreferenced, decided_meanwhile]
    sent = visitor.client.post(
        "/console/payouts/approve",
        data={**form, "csrf_token": visitor.csrf, "selected": [str(n) for n in ticked]},
    )
    assert sent.status_code == 303
    shown = visible_text(visitor.get(sent.headers["Location"]).get_data(as_text=True))
    assert f"Approved: #{paid}, #{also_paid}." in shown
    assert f"Not approved, no reference of 1 to 100 characters written: #{unreferenced}." in shown
    assert f"Not approved, decided already or no longer there: #{decided_meanwhile}." in shown
    states = {p["id"]: (p["status"], p["reference"]) for p in (payout(api, n, customer["id"]) for n in ids)}
    assert states == {
        paid: ("approved", "BANK-1"),
        also_paid: ("approved", "BANK-2"),
        unreferenced: ("pending", None),
        unticked: ("pending", None),
        decided_meanwhile: ("rejected", None),
    }
    assert [row[1] for row in audit_rows(db, "payout.approve")] == [f"payout:{paid}", f"payout:{also_paid}"]
    # The same form again (a reload): the same report, nothing approved twice.
    again = visitor.client.post(
        "/console/payouts/approve",
        data={**form, "csrf_token": visitor.csrf, "selected": [str(n) for n in ticked]},
    )
    assert again.headers["Location"] == sent.headers["Location"]
    assert len(audit_rows(db, "payout.approve")) == 2


def test_approve_selected_with_nothing_ticked_says_so(api, visitor, db):
    _customer, (payout_id,) = request_payouts(api, 10)
    sign_in(visitor)
    key = request_id(visitor.get("/console/payouts").get_data(as_text=True))
    refused = visitor.post("/console/payouts/approve", {"request_id": key, f"reference-{payout_id}": "T"})
    assert refused.status_code == 400 and "Tick the payouts" in visible_text(refused.get_data(as_text=True))
    tampered = visitor.post("/console/payouts/approve", {"request_id": key, "selected": "one"})
    assert tampered.status_code == 400
    assert db.scalar("SELECT status FROM payouts") == "pending"


# The CSV, roles, CSRF -------------------------------------------------------------------------


def test_the_csv_is_what_the_api_streams(api, client, visitor):
    _customer, (a, b) = request_payouts(api, 10, 20)
    assert api.call("POST", f"/payouts/{a}/approve", {"reference": "=HYPERLINK()"}, ADMIN).status == 200
    sign_in(visitor)
    for query in ("", "?status=pending"):
        csv = visitor.client.get(f"/console/payouts.csv{query}")
        assert csv.status_code == 200 and csv.mimetype == "text/csv"
        assert csv.data == client.get(f"/payouts.csv{query}", headers=ADMIN).data
    assert visitor.get("/console/payouts.csv?status=paid").status_code == 400


def test_a_viewer_and_an_issuer_see_the_queue_without_buttons_and_each_post_is_403(make_app, db):
    app = make_app(**ROLES)
    api = Api(TestClientTransport(app.test_client()))
    _customer, (payout_id,) = request_payouts(api, 10)
    for key, name in ((VIEWER_KEY, "vera"), (ISSUER_KEY, "ivan")):
        operator = Visitor(app.test_client())
        assert sign_in(operator, key).status_code == 303
        html = operator.get("/console/payouts").get_data(as_text=True)
        assert queue_ids(html) == [payout_id]
        for control in ("Approve", "Reject", "Approve selected", "Download CSV", "Reference", "Reason", "Select"):
            assert f">{control}<" not in html, control
        form = {"request_id": "a" * 16, f"reference-{payout_id}": "T", "reason": "r", "selected": str(payout_id)}
        for path in (f"/console/payouts/{payout_id}/approve", f"/console/payouts/{payout_id}/reject"):
            refused = operator.post(path, form)
            assert refused.status_code == 403
            assert "needs the role finance or admin" in visible_text(refused.get_data(as_text=True))
        assert operator.post("/console/payouts/approve", form).status_code == 403
        assert operator.get("/console/payouts.csv").status_code == 403
        assert db.scalar("SELECT status FROM payouts") == "pending"
        assert db.scalar("SELECT count(*) FROM audit_log WHERE action IN ('payout.approve', 'payout.reject')") == 0, (
            name
        )


def test_a_finance_operator_decides_and_downloads(make_app, db):
    app = make_app(**ROLES)
    api = Api(TestClientTransport(app.test_client()))
    _customer, (approved, rejected) = request_payouts(api, 10, 20)
    finance = Visitor(app.test_client())
    sign_in(finance, FINANCE_KEY)
    key = request_id(finance.get("/console/payouts").get_data(as_text=True))
    assert finance.post(f"/console/payouts/{approved}/approve", {"request_id": key, f"reference-{approved}": "T"})
    assert finance.post(f"/console/payouts/{rejected}/reject", {"request_id": key, "reason": "no"}).status_code == 303
    assert finance.get("/console/payouts.csv").status_code == 200
    assert [row[0] for row in audit_rows(db, "payout.approve") + audit_rows(db, "payout.reject")] == ["fran", "fran"]
    # The batches stay the issuer's.
    assert finance.post("/console/batches", {"count": "1", "request_id": "a" * 16}).status_code == 403


def test_a_decision_without_its_csrf_token_is_refused_and_changes_nothing(api, visitor, db):
    _customer, (payout_id,) = request_payouts(api, 10)
    sign_in(visitor)
    key = request_id(visitor.get("/console/payouts").get_data(as_text=True))
    form = {"request_id": key, f"reference-{payout_id}": "T", "reason": "r", "selected": str(payout_id)}
    for path in (f"/console/payouts/{payout_id}/approve", f"/console/payouts/{payout_id}/reject"):
        assert visitor.post(path, form, csrf=False).status_code == 400
    assert visitor.post("/console/payouts/approve", form, csrf=False).status_code == 400
    assert db.scalar("SELECT status FROM payouts") == "pending"
    assert db.scalar("SELECT count(*) FROM audit_log WHERE action IN ('payout.approve', 'payout.reject')") == 0


# The audit log --------------------------------------------------------------------------------


def test_the_audit_page_lists_entries_newest_first_filtered_by_action_and_operator(make_app, db):
    app = make_app(**ROLES)
    api = Api(TestClientTransport(app.test_client()))
    _customer, (approved, rejected) = request_payouts(api, 10, 20)
    fran = {"X-API-Key": FINANCE_KEY}
    assert api.call("POST", f"/payouts/{approved}/approve", {"reference": "T-9"}, fran).status == 200
    assert api.call("POST", f"/payouts/{rejected}/reject", {"reason": "twice asked"}, ADMIN).status == 200
    viewer = Visitor(app.test_client())
    sign_in(viewer, VIEWER_KEY)
    page = viewer.get("/console/audit")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'for="action">Action<' in html and 'for="operator">Operator<' in html and ">Filter</button>" in html
    assert all(f'<option value="{name}"' in html for name in ("payout.approve", "operator.sign_in", "batch.void"))
    rows = re.findall(r"<tr>\s*<td>[^<]*</td>\s*<td>([^<]*)</td>\s*<td>([^<]*)</td>\s*<td>([^<]*)</td>", html)
    assert rows[:3] == [
        ("vera", "operator.sign_in", "operator:vera"),
        ("admin", "payout.reject", f"payout:{rejected}"),
        ("fran", "payout.approve", f"payout:{approved}"),
    ]
    assert "twice asked" in visible_text(html) and "reference: T-9" in visible_text(html)

    by_action = viewer.get("/console/audit?action=payout.approve&operator=").get_data(as_text=True)
    assert [
        r[1] for r in re.findall(r"<td>([^<]*)</td>\s*<td>(payout\.\w+|operator\.\w+|user\.\w+)</td>", by_action)
    ] == ["payout.approve"]
    assert '<option value="payout.approve" selected>' in by_action
    by_operator = viewer.get("/console/audit?operator=fran").get_data(as_text=True)
    assert re.findall(r"<td>(fran|admin|vera)</td>", by_operator) == ["fran"]
    assert 'value="fran"' in by_operator
    both = viewer.get("/console/audit?action=payout.reject&operator=fran").get_data(as_text=True)
    assert "No entries." in visible_text(both)

    refused = viewer.get("/console/audit?action=drop.table")
    assert refused.status_code == 400 and "Choose an action" in visible_text(refused.get_data(as_text=True))
    assert viewer.get("/console/audit?operator=" + "x" * 101).status_code == 400


def test_the_audit_page_pages_with_before_keeping_the_filter(api, visitor):
    _customer, ids = request_payouts(api, 1, 2, 3)
    for payout_id in ids:
        assert api.call("POST", f"/payouts/{payout_id}/reject", {"reason": "no"}, ADMIN).status == 200
    sign_in(visitor)
    html = visitor.get("/console/audit?action=payout.reject&limit=2").get_data(as_text=True)
    targets = re.findall(r"<td>payout:(\d+)</td>", html)
    assert [int(n) for n in targets] == [ids[2], ids[1]]
    link = re.search(r'href="(/console/audit\?before=\d+[^"]*)"', html).group(1).replace("&amp;", "&")
    assert "action=payout.reject" in link and "operator" not in link
    older = visitor.get(link).get_data(as_text=True)
    assert [int(n) for n in re.findall(r"<td>payout:(\d+)</td>", older)] == [ids[0]]


# The dashboard --------------------------------------------------------------------------------


def test_the_dashboard_shows_the_five_batches_redeeming_fastest_and_links_the_queue(api, visitor):
    made = []
    for count in (10, 10, 10, 10, 10, 10, 4):
        reply = api.call("POST", "/coupons/generate", {"count": count, "points": 1}, ADMIN)
        made.append((reply.body["batch"]["id"], [c["token"] for c in reply.body["coupons"]]))
    customer = api.login()
    # Share redeemed: 10%, 20%, ..., 60% of the tens, and 3 of 4 (75%) of the last.
    for n, (_batch_id, tokens) in enumerate(made[:6], start=1):
        for token in tokens[:n]:
            assert api.scan(customer.access_token, token).status == 200
    for token in made[6][1][:3]:
        assert api.scan(customer.access_token, token).status == 200
    void = made[5][0]  # 60%, but void: no longer redeeming
    assert api.call("POST", f"/batches/{void}/void", {"reason": "leaked"}, ADMIN).status == 200
    request_payouts(api, 5)
    sign_in(visitor)
    html = visitor.get("/console").get_data(as_text=True)
    section = html.split('id="fastest-heading"')[1].split("</section>")[0]
    shown = [int(n) for n in re.findall(r'href="/console/batches/(\d+)"', section)]
    assert shown == [made[6][0], made[4][0], made[3][0], made[2][0], made[1][0]]
    assert "3 of 4" in visible_text(section) and "75%" in section
    assert '<a href="/console/payouts">1 payout waiting for approval</a>' in html


def test_the_dashboard_says_when_no_batch_is_redeeming(api, visitor):
    api.generate(3)
    sign_in(visitor)
    assert "No coupon of a batch in play has been redeemed yet." in visible_text(
        visitor.get("/console").get_data(as_text=True)
    )
