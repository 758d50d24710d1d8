"""The console's payouts: the pending queue oldest first, each approved with the transfer's
reference or rejected with a reason (what POST /payouts/<id>/approve and /reject do), several
approved at once when a bank file paid them, the CSV of GET /payouts.csv, and the decided ones
newest first."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from flask import redirect, render_template, request, url_for
from flask_babel import gettext as _

from .. import clock
from ..db import MAX_ID, Transaction, get_db
from ..exceptions import IdempotencyKeyReused, InvalidRequest, PayoutNotFound, PayoutNotPending
from ..http import idempotent, validation
from ..http.streaming import streamed
from ..payouts import queue
from ..payouts.service import MAX_REFERENCE, STATUSES, approve, csv_lines, payout_view, reject
from ..roles import FINANCE_ACTIONS, VIEW
from . import words
from .access import Operator, needs
from .blueprint import bp

# The queue is shown this many at a time: about what one bank file pays.
QUEUE_SIZE = 50
# Approve selected carries out at most this many approvals, one transaction each.
MAX_SELECTED = 100
# What the redirect after a decision reports, by its query parameters.
OUTCOMES = ("approved", "rejected", "no_reference", "decided")


def _payout_id(value: str) -> int:
    try:
        return validation.id_in_path(value, "payout")
    except InvalidRequest:
        raise PayoutNotFound("No payout has that id.") from None


def _reference(raw: str) -> str | None:
    reference = raw.strip()
    return reference if 1 <= len(reference) <= MAX_REFERENCE and validation.storable(reference) else None


@bp.get("/payouts")
@needs(VIEW)
def payouts(operator: Operator):
    return _page(operator)


def _outcome(name: str, ids: str) -> str:
    if name == "approved":
        return _("Approved: %(ids)s.", ids=ids)
    if name == "rejected":
        return _("Rejected, the points given back to the customer: %(ids)s.", ids=ids)
    if name == "no_reference":
        return _("Not approved, no reference of 1 to 100 characters written: %(ids)s.", ids=ids)
    return _("Not approved, decided already or no longer there: %(ids)s.", ids=ids)


def _outcomes() -> list[str]:
    """The redirect's report of what was done, each payout by its number."""
    said = []
    for name in OUTCOMES:
        ids = [part for part in request.args.get(name, "").split(",") if part.isascii() and part.isdigit()]
        if ids:
            said.append(_outcome(name, ", ".join(f"#{n}" for n in ids[:MAX_SELECTED])))
    return said


def _page(operator: Operator, *, status: int = 200, error: str | None = None):
    after = validation.query_integer("after", 0, MAX_ID, None)
    limit, before = validation.page_params()
    with get_db().snapshot() as tx:
        waiting, next_after = queue.pending(tx, QUEUE_SIZE, after)
        decided, next_before = queue.decided(tx, limit, before)
        count = queue.waiting(tx)
    html = render_template(
        "console/payouts.html",
        operator=operator,
        waiting=waiting,
        count=count,
        after=after,
        next_after=next_after,
        decided=decided,
        next_before=next_before,
        # One key per page drawn: each of its forms sent twice (a double click, a reload) is
        # carried out once.
        request_id=str(uuid.uuid4()),
        max_reference=MAX_REFERENCE,
        done=_outcomes(),
        error=error,
    )
    return html, status


def _decide(operator: Operator, key: str, payout_id: int, body: dict, act: Callable[[Transaction], dict]) -> None:
    """`act(tx)` through the API's own idempotency, keyed by the form and the payout: sent
    again, the kept answer is given back and nothing is done twice. Raises what the action
    refuses (PayoutNotPending, PayoutNotFound), the first time and on every replay."""

    def run(tx: Transaction) -> tuple[dict, int]:
        return act(tx), 200

    idempotent.carry_out(f"operator:{operator.name}", body, run, key=f"console-form:{key}:{payout_id}")


def _done(**outcome: list[int]):
    query = {name: ",".join(str(n) for n in ids) for name, ids in outcome.items() if ids}
    return redirect(url_for("console.payouts", **query), 303)


def _already(operator: Operator, payout_id: int):
    with get_db().snapshot() as tx:
        status = payout_view(tx, payout_id)["status"]
    if status == "pending":  # the form's key was used with other values (the Back button, then another edit)
        error = _("This form was sent before with other values. Nothing changed: try again on this page.")
    else:
        error = _(
            "Payout #%(id)s was %(status)s already: nothing changed.", id=payout_id, status=words.in_words(status)
        )
    return _page(operator, status=409, error=error)


@bp.post("/payouts/<payout_ref>/approve")
@needs(FINANCE_ACTIONS)
def approve_one(operator: Operator, payout_ref: str):
    payout_id = _payout_id(payout_ref)
    reference = _reference(request.form.get(f"reference-{payout_id}", ""))
    if reference is None:
        error = _("Write the transfer's reference for payout #%(id)s, in 1 to 100 characters.", id=payout_id)
        return _page(operator, status=400, error=error)
    return _decide_one(
        operator,
        payout_id,
        "approve",
        {"reference": reference},
        lambda tx: approve(tx, operator.name, payout_id, reference, clock.now()),
    )


@bp.post("/payouts/<payout_ref>/reject")
@needs(FINANCE_ACTIONS)
def reject_one(operator: Operator, payout_ref: str):
    payout_id = _payout_id(payout_ref)
    try:
        reason = validation.reason({"reason": request.form.get("reason", "").strip()})
    except InvalidRequest:
        error = _("Write why payout #%(id)s is rejected, in 1 to 500 characters.", id=payout_id)
        return _page(operator, status=400, error=error)
    return _decide_one(
        operator,
        payout_id,
        "reject",
        {"reason": reason},
        lambda tx: reject(tx, operator.name, payout_id, reason, clock.now()),
    )


def _decide_one(operator: Operator, payout_id: int, action: str, body: dict, call):
    """One payout's Approve or Reject, once however often its form is sent; one decided
    meanwhile gets the page saying so."""
    key = idempotent.form_key()
    if key is None:
        return _page(operator, status=400, error=_("The form has expired. Try again."))
    try:
        _decide(operator, f"{key}:{action}", payout_id, body, call)
    except (PayoutNotPending, IdempotencyKeyReused):
        return _already(operator, payout_id)
    return _done(**{"approved" if action == "approve" else "rejected": [payout_id]})


@bp.post("/payouts/approve")
@needs(FINANCE_ACTIONS)
def approve_selected(operator: Operator):
    """Each ticked payout with a reference is approved with its own, in a transaction of its own:
    a payout someone decided meanwhile is reported and the others still go through, as each
    transfer of a bank file was made on its own."""
    picked = request.form.getlist("selected")
    if not all(value.isascii() and value.isdigit() and len(value) <= 19 for value in picked):
        return _page(operator, status=400, error=_("The ticked payouts could not be read. Reload the page."))
    ids = list(dict.fromkeys(int(value) for value in picked))
    if not ids:
        return _page(operator, status=400, error=_("Tick the payouts to approve, each with its reference, first."))
    if len(ids) > MAX_SELECTED:
        return _page(operator, status=400, error=_("Approve at most %(max)s at once.", max=MAX_SELECTED))
    key = idempotent.form_key()
    if key is None:
        return _page(operator, status=400, error=_("The form has expired. Try again."))
    approved, no_reference, decided = [], [], []
    for payout_id in ids:
        reference = _reference(request.form.get(f"reference-{payout_id}", ""))
        if reference is None:
            no_reference.append(payout_id)
            continue
        try:
            _decide(
                operator,
                f"{key}:selected",
                payout_id,
                {"reference": reference, "payout": payout_id},
                lambda tx, payout_id=payout_id, reference=reference: approve(
                    tx, operator.name, payout_id, reference, clock.now()
                ),
            )
        except (PayoutNotPending, PayoutNotFound, IdempotencyKeyReused):
            decided.append(payout_id)
            continue
        approved.append(payout_id)
    return _done(approved=approved, no_reference=no_reference, decided=decided)


@bp.get("/payouts.csv")
@needs(FINANCE_ACTIONS)
def payouts_csv(operator: Operator):
    status = validation.query_text("status", 16)
    if status is not None and status not in STATUSES:
        raise InvalidRequest(f"Query parameter 'status' must be one of {', '.join(STATUSES)}.")
    suffix = f"-{status}" if status else ""
    return streamed(lambda tx: csv_lines(tx, status), "text/csv", f"payouts{suffix}.csv")
