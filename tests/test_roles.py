"""Roles (OPERATOR_ROLES): every operator route of the API names the one capability it needs, and
an operator whose role lacks it is refused 403 `forbidden`, naming the roles that may, before
anything is read, written, claimed or audited."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from flask import Flask

from rewards import roles

from .support.client import ADMIN_KEY, Api, TestClientTransport, assert_problem, bearer
from .support.servers import ROOT

# Four named operators with a role each, and one with a key but no role (so: admin).
OPERATORS = {
    "vera": roles.VIEWER,
    "isaac": roles.ISSUER,
    "fiona": roles.FINANCE,
    "adam": roles.ADMIN,
    "una": roles.ADMIN,
}
KEYS = {name: f"{name}-key-0123456789abcdefghijklmnopqrstuvwxyz" for name in OPERATORS}
SETTINGS = {
    "ADMIN_API_KEYS": ",".join(f"{name}:{key}" for name, key in KEYS.items()),
    "OPERATOR_ROLES": "vera:viewer,isaac:issuer,fiona:finance,adam:admin",
}

# The contract's table of roles, route by route: what each operator route of the API needs.
CONTRACT = {
    ("GET", "/coupons/<coupon_token:token>"): roles.VIEW,
    ("POST", "/coupons/<coupon_token:token>/void"): roles.ISSUE,
    ("GET", "/coupons/<coupon_token:token>/qr.svg"): roles.TOKENS,
    ("GET", "/coupons/<coupon_token:token>/qr.png"): roles.TOKENS,
    ("POST", "/coupons/generate"): roles.ISSUE,
    ("GET", "/batches"): roles.VIEW,
    ("GET", "/batches/<batch_ref>"): roles.VIEW,
    ("GET", "/batches/<batch_ref>/coupons.csv"): roles.TOKENS,
    ("GET", "/batches/<batch_ref>/sheet.pdf"): roles.TOKENS,
    ("POST", "/batches/<batch_ref>/void"): roles.ISSUE,
    ("POST", "/scans/<scan_ref>/reverse"): roles.FINANCE_ACTIONS,
    ("GET", "/users"): roles.VIEW,
    ("POST", "/users/<user_ref>/adjustments"): roles.FINANCE_ACTIONS,
    ("GET", "/users/<user_ref>/wallet"): roles.VIEW,
    ("GET", "/users/<user_ref>/payouts"): roles.VIEW,
    ("GET", "/payouts"): roles.VIEW,
    ("GET", "/payouts.csv"): roles.FINANCE_ACTIONS,
    ("POST", "/payouts/<payout_ref>/approve"): roles.FINANCE_ACTIONS,
    ("POST", "/payouts/<payout_ref>/reject"): roles.FINANCE_ACTIONS,
    ("GET", "/stats"): roles.VIEW,
    ("GET", "/audit"): roles.VIEW,
}

# Rules that are no operator's: public, a user's own (bearer token), or a page's (their own
# sign-in and their own test of roles: the customer's pages and the console).
NOT_OPERATORS = {"health.health", "health.version", "auth.request_code", "auth.verify_code", "static"}
NOT_OPERATORS |= {"redemption.scan", "wallet.my_wallet", "payouts.list_mine", "payouts.request_mine"}
NOT_OPERATOR_BLUEPRINTS = {"docs", "pages", "console"}

# A value for each path argument: enough to reach the view, which then answers 400 or 404.
PATH_VALUES = {
    "token": "0f0e0d0c-0b0a-4908-8706-050403020100",
    "batch_ref": "1",
    "scan_ref": "1",
    "user_ref": "1",
    "payout_ref": "1",
}


def operator_rules(app: Flask) -> list[tuple[str, str, str]]:
    """(method, rule, capability) of every API rule whose view names a capability."""
    found = []
    for rule in app.url_map.iter_rules():
        capability = getattr(app.view_functions[rule.endpoint], "operator_capability", None)
        if capability is None or rule.endpoint.split(".")[0] in NOT_OPERATOR_BLUEPRINTS:
            continue
        found += [(method, rule.rule, capability) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return sorted(found)


def path_of(rule: str) -> str:
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: PATH_VALUES[m.group(1)], rule)


def key(name: str) -> dict[str, str]:
    return {"X-API-Key": KEYS[name]}


@pytest.fixture
def roles_app(make_app: Any) -> Flask:
    return make_app(**SETTINGS)


@pytest.fixture
def roles_api(roles_app: Flask) -> Api:
    return Api(TestClientTransport(roles_app.test_client()))


def test_every_operator_route_names_the_capability_the_contract_gives_it(app):
    named = {(method, rule): capability for method, rule, capability in operator_rules(app)}
    assert named == CONTRACT


def test_no_route_but_the_public_the_users_and_the_pages_goes_without_a_capability(app):
    missing = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in NOT_OPERATORS or rule.endpoint.split(".")[0] in NOT_OPERATOR_BLUEPRINTS:
            continue
        if getattr(app.view_functions[rule.endpoint], "operator_capability", None) not in roles.CAPABILITIES:
            missing.append(rule.rule)
    assert missing == []


def test_an_operator_not_in_operator_roles_is_admin(roles_app):
    config = roles_app.config["OPERATOR_ROLES"]
    assert "una" not in config and "admin" not in config  # ADMIN_API_KEY's operator is unlisted too
    assert roles.role_of("una", config) == roles.role_of("admin", config) == roles.ADMIN
    assert roles.role_of("vera", config) == roles.VIEWER


def test_each_role_is_refused_exactly_what_the_table_denies(roles_api, roles_app):
    walked = operator_rules(roles_app)
    assert len(walked) == len(CONTRACT)
    for method, rule, capability in walked:
        path = path_of(rule)
        body = {} if method == "POST" else None
        for name, role in OPERATORS.items():
            reply = roles_api.call(method, path, body, key(name))
            where = f"{name} ({role}) {method} {path}: {reply.status} {reply.text[:200]}"
            if roles.may(role, capability):
                assert reply.status not in (401, 403), where
            else:
                problem = assert_problem(reply, 403, "forbidden")
                allowed = roles.roles_that_may(capability)
                assert role not in allowed
                assert problem["detail"].startswith("This needs the role "), where
                named = re.findall(r"\b(viewer|issuer|finance|admin)\b", problem["detail"].split(";")[0])
                assert named == allowed, where
                assert reply.headers["Cache-Control"] == "no-store"


def test_the_refusal_names_the_roles_that_may(roles_api):
    refused = roles_api.call("GET", "/batches/1/coupons.csv", headers=key("vera"))
    assert assert_problem(refused, 403, "forbidden")["detail"].startswith("This needs the role issuer or admin;")
    refused = roles_api.call("POST", "/payouts/1/approve", {"reference": "T-1"}, key("isaac"))
    assert assert_problem(refused, 403, "forbidden")["detail"].startswith("This needs the role finance or admin;")


def test_no_key_or_a_wrong_key_is_still_401_on_every_operator_route(roles_api):
    for method, rule in CONTRACT:
        body = {} if method == "POST" else None
        assert_problem(roles_api.call(method, path_of(rule), body), 401, "unauthorized")
        assert_problem(roles_api.call(method, path_of(rule), body, {"X-API-Key": "wrong"}), 401, "unauthorized")


def test_a_user_still_reads_their_own_wallet_and_payouts_with_a_bearer_token(roles_api):
    access_token, user = roles_api.login()
    for what in ("wallet", "payouts"):
        assert roles_api.call("GET", f"/users/{user['id']}/{what}", headers=bearer(access_token)).status == 200
        assert roles_api.call("GET", f"/users/{user['id']}/{what}", headers=key("vera")).status == 200
        assert_problem(
            roles_api.call("GET", f"/users/{user['id'] + 1}/{what}", headers=bearer(access_token)), 403, "forbidden"
        )


TABLES = (
    "users",
    "batches",
    "coupons",
    "scans",
    "payouts",
    "ledger_entries",
    "audit_log",
    "idempotency_keys",
    "batch_tallies",
    "stat_tallies",
)


def everything(db) -> dict[str, list[tuple]]:
    return {
        table: [tuple(row) for row in db.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()] for table in TABLES
    }


def test_a_refused_change_writes_no_row_claims_no_key_and_is_not_audited(roles_api, db, make_app):
    access_token, user = roles_api.login()
    scanned, other = roles_api.generate(2, points=40)
    scan = roles_api.scan(access_token, scanned)
    assert scan.status == 200
    payout = roles_api.call("POST", "/users/me/payouts", {"points": 10}, bearer(access_token))
    assert payout.status == 201
    batch_id = db.scalar("SELECT batch_id FROM coupons WHERE token = ?", (other,))
    before = everything(db)
    assert before["audit_log"] and before["payouts"]

    refused = [
        ("vera", "POST", "/coupons/generate", {"count": 5}),
        ("fiona", "POST", f"/coupons/{other}/void", {"reason": "leaked"}),
        ("fiona", "POST", f"/batches/{batch_id}/void", {"reason": "leaked"}),
        ("isaac", "POST", f"/scans/{scan.body['scan_id']}/reverse", {"reason": "wrong", "restore": True}),
        ("isaac", "POST", f"/users/{user['id']}/adjustments", {"points": 5, "reason": "goodwill"}),
        ("vera", "POST", f"/payouts/{payout.body['payout']['id']}/approve", {"reference": "T-1"}),
        ("isaac", "POST", f"/payouts/{payout.body['payout']['id']}/reject", {"reason": "no"}),
    ]
    for name, method, path, body in refused:
        headers = {**key(name), "Idempotency-Key": f"{name}-{path}"}
        assert_problem(roles_api.call(method, path, body, headers), 403, "forbidden")
    assert everything(db) == before

    # The 403 was not kept with its key: once isaac may, the same request with the same key is
    # carried out, not answered again with the refusal.
    promoted = Api(TestClientTransport(make_app(**{**SETTINGS, "OPERATOR_ROLES": "isaac:finance"}).test_client()))
    path = f"/users/{user['id']}/adjustments"
    headers = {**key("isaac"), "Idempotency-Key": f"isaac-{path}"}
    done = promoted.call("POST", path, {"points": 5, "reason": "goodwill"}, headers)
    assert done.status == 201 and "Idempotent-Replayed" not in done.headers
    assert done.body["balance"] == 40 - 10 + 5
    again = promoted.call("POST", path, {"points": 5, "reason": "goodwill"}, headers)
    assert again.status == 201 and again.headers["Idempotent-Replayed"] == "true"


def test_the_default_operator_keeps_every_route(api):
    """A deployment without OPERATOR_ROLES works as before: ADMIN_API_KEY opens everything."""
    (coupon,) = api.generate(1)
    assert api.call("GET", f"/coupons/{coupon}/qr.svg", headers={"X-API-Key": ADMIN_KEY}).status == 200
    assert api.call("POST", f"/coupons/{coupon}/void", {"reason": "x"}, {"X-API-Key": ADMIN_KEY}).status == 200
    assert api.call("GET", "/payouts.csv", headers={"X-API-Key": ADMIN_KEY}).status == 200


def test_the_spec_gives_each_operator_route_its_roles_and_its_403(app):
    document = yaml.safe_load((ROOT / "openapi.yaml").read_text())
    for method, rule, capability in operator_rules(app):
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", "{}", rule)
        (operation,) = [
            item[method.lower()]
            for spec_path, item in document["paths"].items()
            if re.sub(r"\{[^}]+\}", "{}", spec_path) == path
        ]
        assert operation["x-roles"] == roles.roles_that_may(capability), (method, rule)
        assert "403" in operation["responses"], (method, rule)
