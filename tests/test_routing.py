"""No path is ever a redirect to a host the client chose (rewards/http/routing.py): doubled
slashes anywhere and a trailing slash more or less are the 404 problem of a path of no route,
with a hostile Host header, in the test client and on a live gunicorn."""

from __future__ import annotations

import http.client
import re
import uuid

import pytest

from rewards.web import PAGE_PREFIXES

from .support.client import ADMIN_KEY, assert_problem, reply_of

# Routing does not depend on the database: SQLite only.
pytestmark = pytest.mark.engines("sqlite")

HOSTILE = {"Host": "evil.example", "X-API-Key": ADMIN_KEY}


def rule_paths(app) -> list[tuple[str, str, bool]]:
    """(method, path, whether the rule takes slashes in an argument) of every rule, with
    made-up arguments."""
    paths = []
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<coupon_token:[^>]+>", str(uuid.uuid4()), rule.rule)
        path = re.sub(r"<path:[^>]+>", "swagger-ui.css", path)
        path = re.sub(r"<[^>]+>", "1", path)
        paths += [(method, path, "<path:" in rule.rule) for method in sorted(rule.methods - {"OPTIONS", "HEAD"})]
    return paths


def variants(path: str) -> list[str]:
    """The paths Werkzeug used to redirect: a slash doubled at each place, a trailing slash
    added or doubled, and the same with a slash dropped from the end."""
    slashes = [i for i, char in enumerate(path) if char == "/"]
    doubled = [path[:i] + "/" + path[i:] for i in slashes]
    return [*doubled, path + "/", path + "//", "/" + path, path.rstrip("/")[:-1] + "/" if path != "/" else "//"]


def assert_not_found(reply, path: str) -> None:
    """The 404 of a path of no route: a page under the pages' paths, a problem elsewhere."""
    stripped = path.lstrip("/")
    if not stripped or stripped.startswith(tuple(prefix.lstrip("/") for prefix in PAGE_PREFIXES)):
        assert reply.status == 404 and reply.mimetype == "text/html", path
    else:
        assert_problem(reply, 404, "not_found")


def raw_path(path: str) -> dict[str, str]:
    """The path as gunicorn hands it over: Werkzeug's test client would read `//users/...` as a
    URL naming the host `users`."""
    return {"PATH_INFO": path, "RAW_URI": path, "REQUEST_URI": path}


def test_no_variant_of_any_route_is_a_redirect(app, client):
    for method, path, takes_slashes in rule_paths(app):
        for variant in variants(path):
            response = client.open(variant, method=method, headers=HOSTILE, environ_overrides=raw_path(variant))
            reply = reply_of(response)
            response.close()
            assert not 300 <= reply.status < 400, (method, variant, reply.headers.get("Location"))
            assert "Location" not in reply.headers, (method, variant)
            if "//" in variant and not takes_slashes:
                # Only an exact path matches a rule: a doubled slash is a path of no route (a
                # path argument, /docs/<path:asset>, is the docs' own to answer).
                assert_not_found(reply, variant)


def test_the_issues_path_is_a_404_problem(client):
    assert_problem(client.get("/users//1/wallet", headers=HOSTILE), 404, "not_found")
    assert_problem(client.get("/", headers=HOSTILE, environ_overrides=raw_path("//users/1/wallet")), 404, "not_found")


def test_a_rule_ending_in_a_slash_asked_without_it_is_a_404_not_a_redirect(make_app):
    """Werkzeug redirects `/console/later` to `/console/later/` (strict_slashes); pages to come
    may have such rules, and must not bring the redirect back. (`/console` itself is the
    dashboard now: a made-up page under it stands in.)"""
    app = make_app()
    app.add_url_rule("/console/later/", "console_later", lambda: "a page to come")
    client = app.test_client()
    assert client.get("/console/later/", headers=HOSTILE).status_code == 200
    assert_not_found(reply_of(client.get("/console/later", headers=HOSTILE)), "/console/later")


@pytest.mark.live
def test_on_gunicorn_no_path_redirects_to_the_host_it_was_sent(gunicorn):
    server = gunicorn(workers=2)
    host, port = server.url.removeprefix("http://").split(":")
    for path in (
        "/users//1/wallet",
        "//users/1/wallet",
        "/batches//1",
        "/docs//swagger-ui.css",
        "/health/",
        "//health",
    ):
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        try:
            # skip_host: http.client would send its own Host; this one is the attacker's.
            conn.putrequest("GET", path, skip_host=True)
            for name, value in HOSTILE.items():
                conn.putheader(name, value)
            conn.endheaders()
            response = conn.getresponse()
            assert response.status == 404 and response.getheader("Location") is None, path
            assert response.getheader("Content-Type") == "application/problem+json"
            response.read()
        finally:
            conn.close()
