"""A person in a browser, without a browser: Flask's test client keeps the cookies, and each
step reads the page it got (its form's CSRF token, the code shown in development) the way the
pages' own forms would send it. The real browser (Chromium) drives the same pages in
test_pages_browser.py."""

from __future__ import annotations

import re
from typing import Any

from flask.testing import FlaskClient

from .client import ADMIN_KEY, fresh_phone

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_SHOWN_CODE = re.compile(r'data-code="(\d{6})"')
_MAIN = re.compile(r"<main[^>]*>(.*)</main>", re.S)
_TAG = re.compile(r"<[^>]+>")


def visible_text(html: str) -> str:
    """What a reader sees of a page's <main>, white space folded."""
    found = _MAIN.search(html)
    return " ".join(_TAG.sub(" ", found.group(1) if found else html).split())


class Visitor:
    """One browser: its cookies, the last CSRF token a page gave it."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.csrf: str | None = None

    def get(self, path: str, **kwargs: Any) -> Any:
        response = self.client.get(path, **kwargs)
        found = _CSRF.search(response.get_data(as_text=True))
        if found:
            self.csrf = found.group(1)
        return response

    def post(self, path: str, data: dict[str, str] | None = None, *, csrf: bool = True, **kwargs: Any) -> Any:
        form = dict(data or {})
        if csrf:
            if self.csrf is None:
                self.get("/sign-in")
            form["csrf_token"] = self.csrf
        return self.client.post(path, data=form, **kwargs)

    def sign_in(self, phone: str | None = None, next_path: str = "/me") -> str:
        """Both steps of the sign-in page; returns the phone."""
        phone = phone or fresh_phone()
        self.get(f"/sign-in?next={next_path}")
        sent = self.post("/sign-in", {"phone": phone, "next": next_path})
        assert sent.status_code == 303, sent.get_data(as_text=True)
        page = self.get(sent.headers["Location"])
        code = _SHOWN_CODE.search(page.get_data(as_text=True)).group(1)
        done = self.post("/sign-in/code", {"code": code, "next": next_path})
        assert done.status_code == 303, done.get_data(as_text=True)
        # Signing in renews the forms' CSRF seed: a browser reads the new token off the next page.
        self.csrf = None
        self.get("/me/scan")
        return phone

    def session_cookie(self) -> Any:
        return self.client.get_cookie("rewards_session")


def console_sign_in(visitor: Visitor, key: str = ADMIN_KEY) -> Any:
    """Sign `visitor` in on the console with an operator key, as its form does; the answer."""
    visitor.get("/console/sign-in")
    return visitor.post("/console/sign-in", {"key": key})
