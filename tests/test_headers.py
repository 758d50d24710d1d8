"""The headers of every answer (rewards/http/headers.py): nosniff on all of them, no-store on
every answer to a request that carries credentials, errors included, and the /docs page's
Content-Security-Policy. The browser half of /docs is tests/test_docs_browser.py."""

from __future__ import annotations

import re
import uuid

import pytest

from .support.client import ADMIN_KEY, bearer

# Headers do not depend on the database: these run on SQLite only.
pytestmark = pytest.mark.engines("sqlite")


def every_request(app) -> list[tuple[str, str]]:
    """(method, path) of every rule of the app with made-up arguments, and a path of no rule."""
    requests = [("GET", "/no/such/route"), ("DELETE", "/health")]  # a 404 and a 405
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<coupon_token:[^>]+>", str(uuid.uuid4()), rule.rule)
        path = re.sub(r"<path:[^>]+>", "swagger-ui.css", path)
        path = re.sub(r"<[^>]+>", "1", path)
        requests += [(method, path) for method in sorted(rule.methods - {"OPTIONS"})]
    return requests


def test_every_answer_of_every_route_says_nosniff(app, client):
    for method, path in every_request(app):
        for headers in ({}, {"X-API-Key": ADMIN_KEY}):
            response = client.open(path, method=method, headers=headers)
            assert response.headers.get("X-Content-Type-Options") == "nosniff", (method, path, response.status)
            response.close()


def test_unexpected_errors_say_nosniff_too(make_app):
    app = make_app(PROPAGATE_EXCEPTIONS=False)

    @app.get("/boom")
    def boom():
        raise RuntimeError("boom")

    response = app.test_client().get("/boom", headers={"X-API-Key": ADMIN_KEY})
    assert response.status_code == 500
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"


def test_every_answer_to_a_request_with_credentials_is_no_store(app, client, api):
    with_cookie = app.test_client()
    with_cookie.set_cookie("session", "whatever")  # the test client keeps cookies in its own jar
    credentials = {
        "a right bearer token": (client, bearer(api.login().access_token)),
        "a wrong bearer token": (client, bearer("not-a-token")),
        "a right X-API-Key": (client, {"X-API-Key": ADMIN_KEY}),
        "a wrong X-API-Key": (client, {"X-API-Key": "wrong-key"}),
        "a session cookie": (with_cookie, {}),
    }
    for method, path in every_request(app):
        for kind, (sender, headers) in credentials.items():
            response = sender.open(path, method=method, headers=headers)
            assert response.headers.get("Cache-Control") == "no-store", (kind, method, path, response.status)
            response.close()


def test_an_answer_to_a_request_without_credentials_may_be_kept(client):
    # no-store follows the credentials, not the route: the docs' assets stay cacheable.
    response = client.get("/docs/swagger-ui.css")
    assert response.status_code == 200 and "no-store" not in response.headers.get("Cache-Control", "")
    response.close()
    assert client.get("/version").headers.get("Cache-Control") is None


def test_docs_has_a_policy_that_allows_no_inline_script_and_only_its_own_files(client):
    page = client.get("/docs")
    policy = dict(part.strip().split(" ", 1) for part in page.headers["Content-Security-Policy"].split(";"))
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == "'self'" and policy["connect-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    html = page.get_data(as_text=True)
    assert re.search(r"<script>", html) is None  # every script is a file the service serves
    for script in re.findall(r'<script src="([^"]+)"', html):
        response = client.get(script)
        assert response.status_code == 200 and response.mimetype == "text/javascript", script
        response.close()
