"""Routes that accept an Idempotency-Key: the action runs in a write transaction that also
claims the key and keeps the answer, or the kept answer is given again."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Response, current_app, request

from .. import clock, idempotency
from ..db import Transaction, get_db
from ..errors import PROBLEM_MIMETYPE, problem_bytes, refusal_for_code, status_and_code
from ..exceptions import InvalidRequest, Refusal

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
_KEY = re.compile(r"[\x20-\x7e]{1,255}")

Action = Callable[[Transaction], tuple[dict[str, Any], int]]


@dataclass(frozen=True)
class Fresh:
    """An action carried out by this request: its payload and status, and the answer already
    encoded when its text was kept with a key (an API route sends that answer as it is)."""

    payload: dict[str, Any]
    status: int
    encoded: Response | None = None


def respond(
    caller: str,
    body: dict[str, Any],
    action: Action,
    *,
    key: str | None,
    pipelined: bool = False,
    before_claim: Callable[[Transaction], None] | None = None,
) -> Response:
    """An API route's answer to `action`, carried out by carry() (see there for the
    arguments): the action's payload as JSON, or the answer kept with the key, marked as given
    again. A refusal is raised for the error handlers to answer."""
    outcome = carry(caller, body, action, key=key, pipelined=pipelined, before_claim=before_claim)
    if isinstance(outcome, Fresh):
        return outcome.encoded or _json(outcome.payload, outcome.status)
    mimetype = "application/json" if outcome.status < 400 else PROBLEM_MIMETYPE
    return Response(outcome.body, status=outcome.status, mimetype=mimetype, headers={REPLAYED: "true"})


def carry_out(caller: str, body: dict[str, Any], action: Action, *, key: str) -> dict[str, Any]:
    """A page form's action, carried out by carry() and keyed by the form: the action's payload;
    a refusal, fresh or kept with the key from the form's first sending, raised as itself."""
    outcome = carry(caller, body, action, key=key)
    if isinstance(outcome, Fresh):
        return outcome.payload
    # Only a kept answer is text: it was kept as the API would send it.
    data = json.loads(outcome.body)
    if outcome.status >= 400:
        raise refusal_for_code(data["code"], data.get("detail", ""))
    return data


def carry(
    caller: str,
    body: dict[str, Any],
    action: Action,
    *,
    key: str | None,
    pipelined: bool = False,
    before_claim: Callable[[Transaction], None] | None = None,
) -> Fresh | idempotency.Kept:
    """Run `action(tx)` -> (payload, status) in one write transaction; with a key, as the
    contract's "Idempotent retries" says: the answer kept with it, or the key's earlier answer
    instead of running the action again. `caller` names the user or operator; `body` is the
    request's parsed JSON body. `key` is the request's key, checked (`request_key()`), or a
    page form's own (`form_key()`, one per form drawn, so a form sent twice is carried out
    once), or None for none. `pipelined`: see Database.write. `before_claim(tx)`, with a key:
    the caller's own check of who calls, sent ahead of the claim and read with it
    (Transaction.check_later), so that it costs no round trip of its own and no key is claimed
    for a caller it refuses."""
    if key is None:
        with get_db().write(pipelined=pipelined) as tx:
            payload, status = action(tx)
        return Fresh(payload, status)
    fingerprint = _fingerprint(body)
    with get_db().write(pipelined=pipelined) as tx:
        if before_claim is not None:
            before_claim(tx)
        with tx.kept_when_refused():  # a refusal is an answer too: kept with the key
            kept = idempotency.claim(tx, caller, key, fingerprint, clock.now())
        if kept is None:
            try:
                payload, status = action(tx)
            except Refusal as refusal:
                _settle_refusal(tx, caller, key, refusal)
                raise
            # Encoded once: the text kept with the key is the answer a route sends now.
            encoded = _json(payload, status)
            idempotency.keep(tx, caller, key, status, encoded.get_data(as_text=True))
            return Fresh(payload, status, encoded)
    return kept


def request_key() -> str | None:
    """The request's Idempotency-Key, or None without one; a 400 when it is not a key."""
    key = request.headers.get(HEADER)
    if key is not None and not _KEY.fullmatch(key):
        raise InvalidRequest(f"The {HEADER} header must be 1 to 255 printable ASCII characters.")
    return key


def form_key() -> str | None:
    """A page form's own key (its `request_id`, drawn with the page, perhaps with a suffix
    naming one of its forms), or None when the form carries none that could be one."""
    key = request.form.get("request_id", "")
    return key if 8 <= len(key) <= 80 and key.isascii() and key.replace("-", "").isalnum() else None


def _settle_refusal(tx: Transaction, caller: str, key: str, refusal: Refusal) -> None:
    """Undo what the action wrote (what it kept on purpose stays: a counted rate-limit hit),
    then keep its answer with the key, or free the key for an answer that is not kept."""
    status, code = status_and_code(refusal)
    tx.undo_since_kept()
    with tx.kept_when_refused():  # so the refusal, raised on, commits all of this
        if status == 429 or status >= 500:
            idempotency.release(tx, caller, key)
        else:
            idempotency.keep(tx, caller, key, status, problem_bytes(status, code, refusal.detail).decode())


def _fingerprint(body: dict[str, Any]) -> str:
    """The request as far as a retry must repeat it: method, path and body (as JSON values, so
    the order of members, white space and how a number is written do not matter: json_body()
    reads 3.0 as 3)."""
    try:
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    except RecursionError:  # parsed a few frames higher up the stack, at the very edge of its depth
        raise InvalidRequest("The body is nested too deeply.") from None
    return hashlib.sha256(f"{request.method} {request.path}\n{canonical}".encode("utf-8", "surrogatepass")).hexdigest()


def _json(payload: dict[str, Any], status: int) -> Response:
    response = current_app.json.response(payload)
    response.status_code = status
    return response
