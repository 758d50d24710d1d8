"""Random sequences of scans, payouts, approvals, rejections, reversals and adjustments, run
against a model of every balance (hypothesis's stateful testing), on both engines: each answer
is the one the model expects, and after every step every rule of the ledger holds."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from .support.client import ADMIN_KEY, bearer
from .support.invariants import assert_invariants

ADMIN = {"X-API-Key": ADMIN_KEY}


@dataclass
class Customer:
    access_token: str
    id: int
    balance: int = 0


@dataclass
class Coupon:
    token: str
    points: int
    state: str = "active"  # active, redeemed, void


@dataclass
class Scan:
    id: int
    customer: Customer
    coupon: Coupon
    reversed: bool = False


@dataclass
class Payout:
    id: int
    customer: Customer
    points: int
    status: str = "pending"


def machine_for(api, db):
    class Ledger(RuleBasedStateMachine):
        customers = Bundle("customers")
        coupons = Bundle("coupons")
        scans = Bundle("scans")
        payouts = Bundle("payouts")

        def __init__(self) -> None:
            super().__init__()
            self.known: list[Customer] = []

        @rule(target=customers)
        def sign_up(self):
            access_token, user = api.login()
            customer = Customer(access_token, user["id"])
            self.known.append(customer)
            return customer

        @rule(target=coupons, points=st.integers(1, 50))
        def print_coupon(self, points):
            (token,) = api.generate(1, points=points)
            return Coupon(token, points)

        @rule(target=scans, customer=customers, coupon=coupons)
        def scan(self, customer, coupon):
            reply = api.scan(customer.access_token, coupon.token)
            expected = {"active": 200, "redeemed": 409, "void": 410}[coupon.state]
            assert reply.status == expected, reply.body
            if reply.status != 200:
                return None
            coupon.state = "redeemed"
            customer.balance += coupon.points
            assert reply.body["balance"] == customer.balance
            return Scan(reply.body["scan_id"], customer, coupon)

        @rule(target=payouts, customer=customers, points=st.integers(1, 120))
        def request_payout(self, customer, points):
            reply = api.call("POST", "/users/me/payouts", {"points": points}, bearer(customer.access_token))
            if points > customer.balance:
                assert reply.status == 409 and reply.body["code"] == "insufficient_points"
                return None
            assert reply.status == 201, reply.body
            customer.balance -= points
            assert reply.body["balance"] == customer.balance
            return Payout(reply.body["payout"]["id"], customer, points)

        @rule(payout=payouts, approve=st.booleans())
        def decide(self, payout, approve):
            if payout is None:
                return
            path = f"/payouts/{payout.id}/{'approve' if approve else 'reject'}"
            body = {"reference": "T-1"} if approve else {"reason": "checked"}
            reply = api.call("POST", path, body, ADMIN)
            if payout.status != "pending":
                assert reply.status == 409 and reply.body["code"] == "payout_not_pending"
                return
            assert reply.status == 200, reply.body
            payout.status = "approved" if approve else "rejected"
            if not approve:
                payout.customer.balance += payout.points

        @rule(scan=scans, restore=st.booleans())
        def reverse(self, scan, restore):
            if scan is None:
                return
            body = {"reason": "mistake", "restore": restore}
            reply = api.call("POST", f"/scans/{scan.id}/reverse", body, ADMIN)
            if scan.reversed:
                assert reply.status == 409 and reply.body["code"] == "scan_already_reversed"
                return
            if scan.customer.balance < scan.coupon.points:
                assert reply.status == 409 and reply.body["code"] == "insufficient_points"
                return
            assert reply.status == 200, reply.body
            scan.reversed = True
            scan.customer.balance -= scan.coupon.points
            scan.coupon.state = "active" if restore else "void"
            assert reply.body["balance"] == scan.customer.balance

        @rule(customer=customers, points=st.integers(-80, 80).filter(bool))
        def adjust(self, customer, points):
            body = {"points": points, "reason": "correction"}
            reply = api.call("POST", f"/users/{customer.id}/adjustments", body, ADMIN)
            if customer.balance + points < 0:
                assert reply.status == 409 and reply.body["code"] == "insufficient_points"
                return
            assert reply.status == 201, reply.body
            customer.balance += points

        @invariant()
        def balances_match_the_model(self):
            for customer in self.known:
                assert api.wallet(customer.access_token).body["points"] == customer.balance

        @invariant()
        def the_ledger_rules_hold(self):
            assert_invariants(db)
            points = api.call("GET", "/stats", headers=ADMIN).body["points"]
            assert points["outstanding"] == db.scalar("SELECT coalesce(sum(balance), 0) FROM users")
            assert min(points[k] for k in ("credited", "reversed", "pending_payouts", "paid_out")) >= 0

    return Ledger


def test_random_sequences_keep_every_rule_of_the_ledger(api, db):
    run_state_machine_as_test(
        machine_for(api, db),
        settings=settings(
            max_examples=25,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
