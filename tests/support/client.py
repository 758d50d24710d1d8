"""One client for the service, over Flask's test client or real HTTP to a live gunicorn, so a
test reads the same either way: a user's steps, and replies of one shape."""

from __future__ import annotations

import http.client
import itertools
import json
import time
from dataclasses import dataclass
from typing import Any, NamedTuple

from werkzeug.datastructures import Headers

from rewards.auth.tokens import issue_access_token
from rewards.config import DEVELOPMENT_VALUES

ADMIN_KEY = DEVELOPMENT_VALUES["ADMIN_API_KEY"]
_phones = itertools.count(15550000000)


def fresh_phone() -> str:
    return f"+{next(_phones)}"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Reply:
    status: int
    headers: Headers  # case-insensitive
    body: Any  # parsed JSON, or None
    mimetype: str
    text: str
    data: bytes  # the body as sent (a PDF, an image)


class Login(NamedTuple):
    access_token: str
    user: dict[str, Any]


class TestClientTransport:
    __test__ = False

    def __init__(self, client: Any) -> None:
        self.client = client

    def __call__(self, method: str, path: str, body: Any, headers: dict[str, str], timeout: float) -> Reply:
        response = self.client.open(path, method=method, json=body, headers=headers)
        try:
            return reply_of(response)
        finally:
            response.close()


class HttpTransport:
    def __init__(self, base_url: str) -> None:
        host, port = base_url.removeprefix("http://").split(":")
        self.host, self.port = host, int(port)

    def __call__(self, method: str, path: str, body: Any, headers: dict[str, str], timeout: float) -> Reply:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            data = None if body is None else json.dumps(body).encode()
            sent = {"Content-Type": "application/json"} if data is not None else {}
            sent.update(headers)
            conn.request(method, path, body=data, headers=sent)
            response = conn.getresponse()
            data = response.read()
            text = data.decode("utf-8", "replace")
            mimetype = (response.getheader("Content-Type") or "").split(";")[0].strip()
            return Reply(response.status, Headers(response.getheaders()), _parse(text), mimetype, text, data)
        finally:
            conn.close()


def reply_of(response: Any) -> Reply:
    """A Flask test response as a Reply."""
    data = response.get_data()
    text = data.decode("utf-8", "replace")
    return Reply(response.status_code, Headers(response.headers), _parse(text), response.mimetype, text, data)


def _parse(text: str) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


class Api:
    """The service, step by step as a user and an operator take them."""

    def __init__(self, transport: Any) -> None:
        self.transport = transport

    @property
    def client(self) -> Any:
        """Flask's test client underneath, for requests no step here makes (raw bodies)."""
        return self.transport.client

    def call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None, timeout: float = 30
    ) -> Reply:
        return self.transport(method, path, body, headers or {}, timeout)

    def request_otp(self, phone: str) -> Reply:
        return self.call("POST", "/auth/otp", {"phone": phone})

    def login(self, phone: str | None = None) -> Login:
        phone = phone or fresh_phone()
        sent = self.request_otp(phone)
        assert sent.status == 200, sent.body
        reply = self.call("POST", "/auth/verify", {"phone": phone, "otp": sent.body["otp"]})
        assert reply.status == 200, reply.body
        return Login(reply.body["access_token"], reply.body["user"])

    def generate(self, count: int = 1, **fields: Any) -> list[str]:
        reply = self.call("POST", "/coupons/generate", {"count": count, **fields}, {"X-API-Key": ADMIN_KEY})
        assert reply.status == 201, reply.body
        return [c["token"] for c in reply.body["coupons"]]

    def scan(self, access_token: str, coupon: str, timeout: float = 30, **fields: Any) -> Reply:
        return self.call("POST", "/scan", {"token": coupon, **fields}, bearer(access_token), timeout)

    def wallet(self, access_token: str, query: str = "") -> Reply:
        return self.call("GET", f"/users/me/wallet{query}", headers=bearer(access_token))


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    """The response (a Reply, or a Flask test response) is an RFC 9457 problem with this status
    and contract code."""
    if not isinstance(response, Reply):
        response = reply_of(response)
    assert response.status == status, response.text
    assert response.mimetype == "application/problem+json"
    body = response.body
    assert body["status"] == status and body["code"] == code
    assert body["type"] == "about:blank" and body["title"] and body["detail"]
    return body


def tokens_of_no_user_here(user_id: int, db: Any) -> tuple[str, str]:
    """Well-signed tokens: the same user id in a database since reset or replaced, and an id
    no user of this database has."""
    now, secret = int(time.time()), DEVELOPMENT_VALUES["JWT_SECRET"]
    instance = db.scalar("SELECT instance FROM database_instance")
    return (
        issue_access_token(user_id, "another-database", secret, 600, now),
        issue_access_token(user_id + 1000, instance, secret, 600, now),
    )
