"""Apps for tests, built the same way everywhere: every setting a developer's own `.env`
could change is given explicitly, so no test depends on the machine it runs on."""

from __future__ import annotations

from typing import Any

from flask import Flask

from rewards import create_app
from rewards.config import DEVELOPMENT_VALUES

HERMETIC = {
    "TESTING": True,
    "APP_ENV": "development",
    "OTP_DELIVERY": "response",
    "JWT_SECRET": DEVELOPMENT_VALUES["JWT_SECRET"],
    "ADMIN_API_KEY": DEVELOPMENT_VALUES["ADMIN_API_KEY"],
    "ADMIN_API_KEYS": "",
    "OPERATOR_ROLES": "",
    # Every test client calls from 127.0.0.1; tests of a limit set their own.
    "AUTH_IP_RATE_LIMIT": "100000 per hour",
    "SCAN_RATE_LIMIT": "30 per minute",
    # Tests of payouts make more than the default 10 an hour; the tests of that limit set it.
    "PAYOUT_RATE_LIMIT": "100000 per hour",
    "OTP_SEND_LIMIT": "5",
    "PROXY_COUNT": "0",
    "COUPON_URL_TEMPLATE": "{token}",
    "PROGRAMME_NAME": "Rewards",
}


def build_app(database_url: str, **settings: Any) -> Flask:
    return create_app({**HERMETIC, "DATABASE_URL": database_url, **settings})
