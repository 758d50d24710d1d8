"""The token every form of a page carries against cross-site requests: Flask-WTF's own, signed once
per visitor rather than on every page.

Flask-WTF signs the visitor's seed (kept in the forms cookie) afresh on each request, a timestamped
signature costing about 50 µs of a console page's time (bench/ANALYSIS.md). The seed's tokens never
age here (WTF_CSRF_TIME_LIMIT is None: a scan queued offline for days must still be sendable), so
one signature per seed and secret serves every page; Flask-WTF checks it as it checks its own.
"""

from __future__ import annotations

from functools import lru_cache

from flask import current_app, g, session
from flask_wtf.csrf import generate_csrf
from itsdangerous import URLSafeTimedSerializer

FIELD = "csrf_token"  # Flask-WTF's default field and session key, which this app keeps


def form_token() -> str:
    token = g.get(FIELD)
    if token is None:
        seed = session.get(FIELD)
        if not isinstance(seed, str):
            # A new visitor: Flask-WTF makes the seed. Its own token is not kept, for it was
            # stamped with this second and the next page's, from _signed(), would differ.
            fresh = generate_csrf()
            seed = session.get(FIELD)
            if not isinstance(seed, str):
                return fresh
        secret = current_app.config.get("WTF_CSRF_SECRET_KEY") or current_app.secret_key
        token = _signed(secret, seed)
        setattr(g, FIELD, token)  # what generate_csrf() answers for the rest of the request
    return token


@lru_cache(maxsize=4096)
def _signed(secret: str | bytes, seed: str) -> str:
    # Flask-WTF's serializer and salt, so validate_csrf() reads it as one of its own.
    return URLSafeTimedSerializer(secret, salt="wtf-csrf-token").dumps(seed)
