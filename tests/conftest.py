"""Fixtures: an app on a fresh SQLite file per test, its client and CLI runner, a helper
that reads like a user's steps, and a real gunicorn for what only processes can prove."""

from __future__ import annotations

import itertools
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import configuration as hypothesis_configuration

from rewards import create_app
from rewards.config import DEVELOPMENT_VALUES
from rewards.db import init_schema

from .live import LiveServer, start_gunicorn

ADMIN_KEY = DEVELOPMENT_VALUES["ADMIN_API_KEY"]

# Tests never write into the working tree: hypothesis keeps its example database in a
# temporary folder (pytest's own cache is off in pyproject.toml, bytecode goes to
# PYTHONPYCACHEPREFIX from the Makefile, and schemathesis runs in the test's folder).
hypothesis_configuration.set_hypothesis_home_dir(tempfile.mkdtemp(prefix="rewards-hypothesis-"))
_phones = itertools.count(15550000000)


def fresh_phone() -> str:
    return f"+{next(_phones)}"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    path = tmp_path / "rewards.db"
    init_schema(str(path))
    return path


@pytest.fixture
def make_app(db_path: Path) -> Iterator[Any]:
    """Build an app on this test's database with extra settings; closed at teardown."""
    apps: list[Flask] = []

    def build(**settings: Any) -> Flask:
        config = {
            "TESTING": True,
            "DATABASE_URL": f"sqlite:///{db_path}",
            "OTP_DELIVERY": "response",
            "APP_ENV": "development",
            # Explicit, so a developer's own .env cannot change the keys the tests sign with.
            "JWT_SECRET": DEVELOPMENT_VALUES["JWT_SECRET"],
            "ADMIN_API_KEY": ADMIN_KEY,
            # Every test client calls from 127.0.0.1; tests of the limit set their own.
            "AUTH_IP_RATE_LIMIT": "100000 per hour",
            **settings,
        }
        app = create_app(config)
        apps.append(app)
        return app

    yield build
    for app in apps:
        app.extensions["rewards.db"].close()


@pytest.fixture
def app(make_app: Any) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()


@pytest.fixture
def db(db_path: Path) -> Iterator[sqlite3.Connection]:
    """A separate connection to the test's database, for arranging and checking rows."""
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.row_factory = sqlite3.Row
    yield conn
    conn.close()


class Api:
    """The service through the test client, step by step as a user takes them."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def request_otp(self, phone: str):
        return self.client.post("/auth/otp", json={"phone": phone})

    def login(self, phone: str | None = None) -> tuple[str, dict[str, Any]]:
        phone = phone or fresh_phone()
        code = self.request_otp(phone).get_json()["otp"]
        body = self.client.post("/auth/verify", json={"phone": phone, "otp": code}).get_json()
        return body["access_token"], body["user"]

    def generate(self, count: int = 1, **fields: Any) -> list[str]:
        response = self.client.post(
            "/coupons/generate", json={"count": count, **fields}, headers={"X-API-Key": ADMIN_KEY}
        )
        assert response.status_code == 201, response.get_json()
        return [c["token"] for c in response.get_json()["coupons"]]

    def scan(self, access_token: str, coupon: str):
        return self.client.post("/scan", json={"token": coupon}, headers=bearer(access_token))

    def wallet(self, access_token: str, query: str = ""):
        return self.client.get(f"/users/me/wallet{query}", headers=bearer(access_token))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_problem(response, status: int, code: str) -> dict[str, Any]:
    """The response is an RFC 9457 problem with this status and contract code."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == status and body["code"] == code
    assert body["type"] == "about:blank" and body["title"] and body["detail"]
    return body


@pytest.fixture
def api(client: FlaskClient) -> Api:
    return Api(client)


@pytest.fixture
def gunicorn(tmp_path: Path) -> Iterator[Any]:
    """Start real gunicorn servers on fresh databases; all are stopped at teardown."""
    servers: list[LiveServer] = []

    def start(workers: int = 4, **env: str) -> LiveServer:
        server = start_gunicorn(tmp_path / f"live{len(servers)}", workers=workers, env=env)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
