"""JSON answers are encoded by orjson (rewards/http/json_answers.py) and must be, byte for byte,
what Flask's own provider sent before: clients and Idempotency-Key replays see no change."""

from __future__ import annotations

import uuid
from collections import namedtuple
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pytest
from flask import Flask
from flask.json.provider import DefaultJSONProvider
from markupsafe import Markup

from rewards.http.json_answers import JsonAnswers

from .support.client import ADMIN_KEY, fresh_phone


def flask_bytes(app: Flask, body: Any) -> bytes:
    provider = DefaultJSONProvider(app)
    provider.sort_keys = False
    with app.app_context():
        return provider.response(body).get_data()


Pair = namedtuple("Pair", "left right")


@dataclass
class Card:
    name: str
    points: int


@pytest.mark.parametrize(
    "body",
    [
        {"name": "rewards", "version": "1.0.0"},
        {"b": 1, "a": [None, True, False, -(2**63), 2**64 - 1], "c": {"z": "", "y": 'tab\tnew\nline\x00\x1f"\\/'}},
        {"label": "café", "hindi": "रिवॉर्ड्स", "emoji": "🎟"},  # escaped by Flask, not by orjson
        {"delete": "\x7f"},
        {"big": 2**64, "small": -(2**63) - 1},
        {1: "integer key", "2": "text key"},
        {"lone": "\ud800"},
        {"pair": Pair(1, "two"), "tuple": (3, 4)},
        {"when": datetime(2026, 12, 3, 20, 55, 51, tzinfo=UTC), "day": date(2026, 12, 3)},
        {"card": Card("a", 1), "id": uuid.UUID("0f8fad5b-d9cb-469f-a165-70867728950e"), "html": Markup("<b>")},
        [1, "list at the top"],
    ],
    ids=lambda body: str(list(body)[:2] if isinstance(body, dict) else body)[:40],
)
def test_every_kind_of_body_is_written_as_flask_writes_it(body):
    app = Flask(__name__)
    app.json = JsonAnswers(app)
    with app.app_context():
        answer = app.json.response(body)
    assert answer.mimetype == "application/json"
    assert answer.get_data() == flask_bytes(app, body)


def test_a_debug_app_keeps_flasks_indented_answers():
    app = Flask(__name__)
    app.debug = True
    app.json = JsonAnswers(app)
    with app.app_context():
        assert app.json.response({"a": [1, 2]}).get_data() == flask_bytes(app, {"a": [1, 2]})


def test_the_services_answers_are_the_bytes_flask_would_send(app, api):
    def same(reply: Any) -> None:
        assert reply.mimetype == "application/json", reply.text
        assert reply.data == flask_bytes(app, reply.body)

    same(api.call("GET", "/version"))
    phone = fresh_phone()
    same(api.request_otp(phone))
    code = api.request_otp(phone).body["otp"]
    verified = api.call("POST", "/auth/verify", {"phone": phone, "otp": code})
    same(verified)
    token = verified.body["access_token"]
    made = api.call("POST", "/coupons/generate", {"count": 2, "label": "café ☕"}, {"X-API-Key": ADMIN_KEY})
    # Escaped, as Flask has always sent it.
    assert made.body["batch"]["label"] == "café ☕" and '"caf\\u00e9 \\u2615"' in made.text
    same(made)
    scanned = api.scan(token, made.body["coupons"][0]["token"])
    same(scanned)
    # A replayed answer (Idempotency-Key) is written by the same provider.
    keyed = {"Authorization": f"Bearer {token}", "Idempotency-Key": "json-answers"}
    first = api.call("POST", "/scan", {"token": made.body["coupons"][1]["token"]}, keyed)
    replay = api.call("POST", "/scan", {"token": made.body["coupons"][1]["token"]}, keyed)
    assert replay.data == first.data
    same(replay)
    same(api.wallet(token))
    same(api.call("GET", "/stats", headers={"X-API-Key": ADMIN_KEY}))
