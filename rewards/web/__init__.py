"""What every page needs, whoever it is for: forms guarded against cross-site requests
(Flask-WTF), the language (Flask-Babel), server-side sessions, the headers of an HTML answer,
and error pages instead of problem+json under the pages' paths."""

from __future__ import annotations

import hashlib
import hmac
import time
from functools import lru_cache

from flask import Flask, Response, current_app, request, url_for
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask.wrappers import Request
from flask_babel import Babel
from flask_wtf.csrf import CSRFProtect
from itsdangerous import BadSignature, URLSafeTimedSerializer

from . import form_tokens, formatting, fragments, i18n, sessions, templating

csrf = CSRFProtect()
babel = Babel()

# Paths whose errors are HTML pages; everything else answers problem+json.
PAGE_PREFIXES = ("/c/", "/me", "/sign-in", "/sign-out", "/console")

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; connect-src 'self'; worker-src 'self'; manifest-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


class FormsCookie(SecureCookieSessionInterface):
    """Flask's signed cookie (it carries only the CSRF seed), its signer built once for the
    app's keys rather than on every request, pages or not, and each cookie's signature checked
    once: a cookie is the same on every page of a visit, and checking it (HMAC, base64, Flask's
    tagged JSON) cost a console page about 0.1 ms. Its age is still checked on every request."""

    def __init__(self) -> None:
        self._signers: dict[tuple, URLSafeTimedSerializer | None] = {}

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        if keys not in self._signers:
            self._signers[keys] = super().get_signing_serializer(app)
        return self._signers[keys]

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        signer = self.get_signing_serializer(app)
        if signer is None:
            return None
        # Without a Cookie header (the API's clients) there is nothing to parse: werkzeug's
        # parse of an absent header still cost 7.7 µs a request.
        value = request.environ.get("HTTP_COOKIE") and request.cookies.get(self.get_cookie_name(app))
        if not value:
            return self.session_class()
        try:
            data, signed_at = _signed_cookie(signer, value)
        except BadSignature:
            return self.session_class()
        # As itsdangerous' own max_age: too old, or signed in the future, is no session.
        age = time.time() - signed_at
        if age < 0 or age > app.permanent_session_lifetime.total_seconds():
            return self.session_class()
        return self.session_class(data)  # a new dict each request: the kept one is never changed


@lru_cache(maxsize=4096)
def _signed_cookie(signer: URLSafeTimedSerializer, value: str) -> tuple[dict, float]:
    data, signed_at = signer.loads(value, return_timestamp=True)
    return data, signed_at.timestamp()


def init_web(app: Flask) -> None:
    # Before anything builds app.jinja_env (Flask-WTF and Flask-Babel add to it below).
    app.jinja_environment = templating.PageEnvironment
    # Flask's signed cookie carries only the CSRF seed; sessions themselves live on the server.
    app.config["SECRET_KEY"] = hmac.new(
        app.config["JWT_SECRET"].encode(), b"rewards page forms", hashlib.sha256
    ).hexdigest()
    secure = sessions.over_https(app.config)
    app.config.update(
        # The CSRF seed: over https only this host may set it, as for the sessions.
        SESSION_COOKIE_NAME=sessions.prefixed("rewards_forms", "/", secure),
        # What a __Host- cookie must be, pinned: any other path or a Domain and browsers drop it.
        SESSION_COOKIE_PATH="/",
        SESSION_COOKIE_DOMAIN=None,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure,
        PERMANENT_SESSION_LIFETIME=app.config["WEB_SESSION_TTL_SECONDS"],
        # Pages opt in (csrf.protect() in their blueprints): the JSON API takes no cookie, so
        # a cross-site request cannot carry its credentials.
        WTF_CSRF_CHECK_DEFAULT=False,
        # A scan queued offline for days must still be sendable: the token lives as long as
        # the seed in the browser's cookie.
        WTF_CSRF_TIME_LIMIT=None,
        BABEL_DEFAULT_LOCALE=i18n.DEFAULT,
        BABEL_TRANSLATION_DIRECTORIES="translations",
    )
    app.session_interface = FormsCookie()
    csrf.init_app(app)
    app.jinja_env.globals["csrf_token"] = form_tokens.form_token
    # Flask-WTF also hands every render its own generate_csrf, over the global: without this a
    # page's own forms carried a token signed afresh, its included ones the kept one.
    processors = app.template_context_processors[None]
    processors[:] = [made for made in processors if made.__module__ != "flask_wtf.csrf"]
    babel.init_app(app, locale_selector=i18n.select_locale)
    i18n.install_page_gettext(app)
    app.jinja_env.globals["programme_name"] = lambda: current_app.config["PROGRAMME_NAME"]
    app.jinja_env.globals["LANGUAGES"] = i18n.NAMES
    app.jinja_env.globals["switched_to"] = i18n.switched_to
    # Every page links these; fixed paths, not a url_for per page (the coupon page's cost is
    # measured against GET /version's in make bench).
    app.jinja_env.globals["STYLESHEET"] = f"{app.static_url_path}/css/site.css"
    app.jinja_env.globals["ICON"] = f"{app.static_url_path}/icons/icon-192.png"
    app.jinja_env.globals["path_for"] = path_for
    app.jinja_env.globals["fragment"] = fragments.fragment
    formatting.register(app)
    app.after_request(_page_headers)


def path_for(endpoint: str, **values: str | int) -> str:
    """url_for of an address a template builds on every page (the console's navigation, its
    style sheets, a batch's links), built once per mount point and kept (the last 256): a
    console page links a dozen."""
    return _built(request.script_root, endpoint, tuple(sorted(values.items())))


@lru_cache(maxsize=256)
def _built(_script_root: str, endpoint: str, values: tuple[tuple[str, str | int], ...]) -> str:
    return url_for(endpoint, **dict(values))


def is_page_request() -> bool:
    path = request.path
    return path == "/" or path.startswith(PAGE_PREFIXES)


def _page_headers(response: Response) -> Response:
    # Every answer under the pages' paths, errors included; nosniff and no-store come from
    # http/headers.py like every other answer's.
    if is_page_request():
        # A language chosen on any page, the console's included, holds for the next ones.
        i18n.remember_choice(response)
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        # Coupon tokens are in the pages' addresses: they must not leave in a Referer.
        response.headers["Referrer-Policy"] = "same-origin"
    return response
