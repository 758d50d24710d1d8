"""rewards: a coupon-based loyalty backend.

`create_app()` builds the Flask application: configuration, logging, database, error
handlers, one blueprint per concern, and the operator commands.
"""

from __future__ import annotations

import logging.config
from collections.abc import Mapping
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from . import console, health, operators
from .auth import routes as auth_routes
from .auth.otp import otp_key
from .cli import register_commands
from .config import build_config, read_environment
from .coupons import routes as coupon_routes
from .db import open_database
from .errors import register_error_handlers
from .http import docs
from .http.bodies import bound_chunked_bodies
from .http.headers import register_security_headers
from .http.json_answers import JsonAnswers
from .http.routing import register_exact_routing
from .ledger import routes as ledger_routes
from .pages import routes as page_routes
from .payouts import routes as payout_routes
from .redemption import routes as redemption_routes
from .version import __version__
from .web import init_web

__all__ = ["__version__", "create_app"]

# Bodies are small JSON objects; anything larger is refused with 413 before it is read.
MAX_BODY_BYTES = 1 << 20


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app. `test_config` overrides the environment (tests, embedding)."""
    raw = read_environment()
    raw.update(test_config or {})
    settings = build_config(raw)  # ConfigError before anything else happens

    configure_logging()
    app = Flask(__name__, static_folder="static", static_url_path="/static")
    app.config.update(settings)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    bound_chunked_bodies(app)
    # orjson where it writes Flask's very bytes (keys in the contract's order, not sorted).
    app.json = JsonAnswers(app)
    # Anything in test_config that is not a setting of ours (TESTING, PROPAGATE_EXCEPTIONS).
    app.config.update({k: v for k, v in (test_config or {}).items() if k not in settings})

    if settings["PROXY_COUNT"]:
        # The client is the PROXY_COUNT-th address from the right of X-Forwarded-For; with no
        # proxy declared the header is ignored, so a client cannot choose its own address.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings["PROXY_COUNT"], x_proto=0, x_host=0, x_port=0, x_prefix=0)
    register_database(app)
    init_web(app)
    register_error_handlers(app)
    register_security_headers(app)
    register_blueprints(app)
    register_commands(app)
    return app


def configure_logging() -> None:
    """Our records to standard error, which gunicorn treats as its error log."""
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {"plain": {"format": "[%(asctime)s] [%(process)d] [%(levelname)s] %(name)s: %(message)s"}},
            "handlers": {
                "stderr": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr", "formatter": "plain"}
            },
            "loggers": {"rewards": {"level": "INFO", "handlers": ["stderr"]}},
        }
    )


def register_database(app: Flask) -> None:
    """One Database per app, so tests with their own files never share a connection."""
    app.extensions["rewards.db"] = open_database(app.config)
    # Derived once: every OTP request and verify needs it.
    app.extensions["rewards.otp_key"] = otp_key(app.config["JWT_SECRET"])

    @app.teardown_request
    def _end_open_transaction(_error: BaseException | None) -> None:
        app.extensions["rewards.db"].end_request()


def register_blueprints(app: Flask) -> None:
    register_exact_routing(app)  # before any rule is added
    app.url_map.converters["coupon_token"] = coupon_routes.CouponTokenSegment
    for module in (
        health,
        auth_routes,
        coupon_routes,
        redemption_routes,
        ledger_routes,
        payout_routes,
        operators,
        docs,
        page_routes,
        console,
    ):
        app.register_blueprint(module.bp)
