"""POST /coupons/generate: a batch of coupons, for an operator."""

from __future__ import annotations

from flask import Blueprint, g

from .. import audit, clock
from ..db import get_db
from ..http import validation
from ..http.guards import require_admin
from .batches import API_MAX_COUNT, DEFAULT_POINTS, MAX_LABEL, MAX_POINTS, create_batch

bp = Blueprint("coupons", __name__, url_prefix="/coupons")


@bp.post("/generate")
@require_admin
def generate():
    body = validation.json_body()
    count = validation.integer(body, "count", 1, API_MAX_COUNT)
    points = validation.integer(body, "points", 1, MAX_POINTS, default=DEFAULT_POINTS)
    expires_at = validation.future_time(body, "expires_at")
    label = validation.text(body, "label", MAX_LABEL, required=False)

    tokens: list[str] = []
    now = clock.now()
    with get_db().write() as tx:
        batch = create_batch(
            tx,
            count=count,
            points=points,
            expires_at=expires_at,
            label=label,
            now=now,
            on_chunk=lambda _batch_id, chunk: tokens.extend(chunk),
        )
        audit.record(tx, g.operator, "batch.create", f"batch:{batch.id}", None, batch.as_json(), now)
    expiry = clock.to_rfc3339(expires_at)
    coupons = [{"token": t, "points": points, "expires_at": expiry} for t in tokens]
    return {"batch": batch.as_json(), "coupons": coupons}, 201
