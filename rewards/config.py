"""Every setting of the service, read and validated in one place.

The names are the contract's (README, "Configuration"): operators already know them. Values come
from the real environment, then from a `.env` file in the working directory, then from the
defaults below; `create_app(test_config)` lays its mapping on top.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dotenv import dotenv_values

from .roles import ROLES

# Outside production only: fixed values let `make run` work with no editing, and production
# refuses to start with them (they are printed in the README, so they are no secret).
DEVELOPMENT_VALUES = {
    "JWT_SECRET": "development-only-jwt-secret-not-for-production",
    "ADMIN_API_KEY": "dev-admin-key",
}

MIN_SECRET_LENGTH = 32
MAX_PROGRAMME_NAME = 60

DEFAULTS: dict[str, str] = {
    "APP_ENV": "development",
    "DATABASE_URL": "sqlite:///instance/rewards.db",
    "JWT_TTL_SECONDS": "3600",
    "OTP_DELIVERY": "log",
    "OTP_TTL_SECONDS": "300",
    "OTP_MAX_ATTEMPTS": "5",
    "OTP_SEND_LIMIT": "5",
    "OTP_SEND_WINDOW_SECONDS": "900",
    "SCAN_RATE_LIMIT": "30 per minute",
    "AUTH_IP_RATE_LIMIT": "60 per hour",
    "PROXY_COUNT": "0",
    "COUPON_URL_TEMPLATE": "{PUBLIC_URL}/c/{token}",
    "PAYOUT_MIN_POINTS": "1",
    "WEB_SESSION_TTL_SECONDS": "2592000",
    "CONSOLE_SESSION_TTL_SECONDS": "28800",
    "PROGRAMME_NAME": "Rewards",
    "PAYOUT_RATE_LIMIT": "10 per hour",
    "PORT": "8000",
    # Not in the contract's table, but worth a knob: how long a request waits for the write
    # lock before it answers 503, and how long an SMS gateway may take.
    "DATABASE_BUSY_TIMEOUT_MS": "5000",
    "OTP_WEBHOOK_TIMEOUT_SECONDS": "5",
}

KNOWN = (
    *DEFAULTS,
    "JWT_SECRET",
    "ADMIN_API_KEY",
    "ADMIN_API_KEYS",
    "OTP_WEBHOOK_URL",
    "WEB_CONCURRENCY",
    "PUBLIC_URL",
    "OPERATOR_ROLES",
)

# ADMIN_API_KEY is the operator of this name; ADMIN_API_KEYS names the others.
DEFAULT_OPERATOR = "admin"
_OPERATOR_NAME = re.compile(r"[a-z0-9_-]{1,32}")

APP_ENVS = ("development", "production")
OTP_DELIVERIES = ("log", "response", "webhook")

_PERIODS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_RATE = re.compile(r"^\s*(\d+)\s*(?:per|/)\s*(second|minute|hour|day)s?\s*$", re.IGNORECASE)


class ConfigError(Exception):
    """The configuration cannot run the service; the message says which setting and why."""


def read_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The raw settings: defaults, then `.env` in the working directory, then the environment."""
    environ = os.environ if environ is None else environ
    dotenv = {k: v for k, v in dotenv_values(Path.cwd() / ".env").items() if v is not None}
    merged = dict(DEFAULTS)
    for name in KNOWN:
        if name in environ:
            merged[name] = environ[name]
        elif name in dotenv:
            merged[name] = dotenv[name]
    return merged


def build_config(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Typed, validated settings for `app.config`, or ConfigError naming what is wrong."""
    app_env = str(raw.get("APP_ENV", "development")).strip().lower()
    if app_env not in APP_ENVS:
        # A typo such as 'prod' must not quietly run with the public development keys.
        raise ConfigError(f"APP_ENV must be development or production, not {app_env!r}")
    production = app_env == "production"
    delivery = str(raw.get("OTP_DELIVERY", "log")).strip().lower()
    if delivery not in OTP_DELIVERIES:
        raise ConfigError(f"OTP_DELIVERY must be one of {', '.join(OTP_DELIVERIES)}, not {delivery!r}")

    config: dict[str, Any] = {
        "APP_ENV": app_env,
        "DATABASE_URL": _database_url(raw),
        "JWT_SECRET": _secret(raw, "JWT_SECRET", production),
        "OPERATOR_KEYS": operator_keys(raw, production),
        "JWT_TTL_SECONDS": _positive_int(raw, "JWT_TTL_SECONDS"),
        "OTP_DELIVERY": delivery,
        "OTP_WEBHOOK_URL": raw.get("OTP_WEBHOOK_URL") or None,
        "OTP_WEBHOOK_TIMEOUT_SECONDS": _positive_float(raw, "OTP_WEBHOOK_TIMEOUT_SECONDS"),
        "OTP_TTL_SECONDS": _positive_int(raw, "OTP_TTL_SECONDS"),
        "OTP_MAX_ATTEMPTS": _positive_int(raw, "OTP_MAX_ATTEMPTS"),
        "OTP_SEND_LIMIT": _positive_int(raw, "OTP_SEND_LIMIT"),
        "OTP_SEND_WINDOW_SECONDS": _positive_int(raw, "OTP_SEND_WINDOW_SECONDS"),
        "SCAN_RATE_LIMIT": parse_rate(raw, "SCAN_RATE_LIMIT"),
        "AUTH_IP_RATE_LIMIT": parse_rate(raw, "AUTH_IP_RATE_LIMIT"),
        "PROXY_COUNT": _whole_number(raw, "PROXY_COUNT", minimum=0),
        "WEB_SESSION_TTL_SECONDS": _positive_int(raw, "WEB_SESSION_TTL_SECONDS"),
        "CONSOLE_SESSION_TTL_SECONDS": _positive_int(raw, "CONSOLE_SESSION_TTL_SECONDS"),
        "PAYOUT_MIN_POINTS": _positive_int(raw, "PAYOUT_MIN_POINTS"),
        "PROGRAMME_NAME": _programme_name(raw),
        "PAYOUT_RATE_LIMIT": parse_rate(raw, "PAYOUT_RATE_LIMIT"),
        "PORT": _port(raw),
        "DATABASE_BUSY_TIMEOUT_MS": _positive_int(raw, "DATABASE_BUSY_TIMEOUT_MS"),
    }
    config["OPERATOR_ROLES"] = operator_roles(raw, config["OPERATOR_KEYS"])
    config["DATABASE_ENGINE"] = database_engine(config["DATABASE_URL"])
    config["DATABASE_PATH"] = database_path(config["DATABASE_URL"])
    if raw.get("WEB_CONCURRENCY") not in (None, ""):
        # gunicorn reads it itself (and crashes on a bad one); checked here so that `make run`,
        # which runs init-db first, refuses it in one line.
        _whole_number(raw, "WEB_CONCURRENCY", minimum=1)

    if production and delivery == "response":
        raise ConfigError("OTP_DELIVERY=response returns codes to the caller; it is refused in production")
    if delivery == "webhook":
        url = config["OTP_WEBHOOK_URL"]
        if not url:
            raise ConfigError("OTP_DELIVERY=webhook needs OTP_WEBHOOK_URL")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError("OTP_WEBHOOK_URL must be an http:// or https:// URL")
    config["PUBLIC_URL"] = public_url(raw, production)
    config["COUPON_URL_TEMPLATE"] = _url_template(raw, config["PUBLIC_URL"])
    return config


def _database_url(raw: Mapping[str, Any]) -> str:
    """DATABASE_URL as given, refused when it cannot be read. No message quotes it: it may hold
    a password."""
    url = str(raw.get("DATABASE_URL") or DEFAULTS["DATABASE_URL"])
    if url != url.strip():
        # `sqlite:///rewards.db ` would silently make a second, empty database named with a space.
        raise ConfigError("DATABASE_URL has white space before or after it; remove it")
    if database_engine(url) == "postgresql":
        from .db.postgresql import url_problem

        problem = url_problem(url)
        if problem is not None:
            raise ConfigError(f"DATABASE_URL {problem}")
    return url


def database_engine(url: str) -> str:
    """'postgresql' for postgresql:// and postgres:// URLs, else 'sqlite'."""
    return "postgresql" if url.startswith(("postgresql://", "postgres://")) else "sqlite"


def database_path(url: str) -> str | None:
    """The SQLite file behind DATABASE_URL (relative to the working directory), or None for
    PostgreSQL."""
    if database_engine(url) == "postgresql":
        return None
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///") :]
    elif url.startswith("file:"):
        path = url[len("file:") :].split("?", 1)[0]
    else:
        raise ConfigError(
            "DATABASE_URL must look like sqlite:///relative.db, sqlite:////absolute.db, file:./dev.db "
            "or postgresql://user:password@host:5432/dbname"
        )
    if not path or path == ":memory:":
        # Every worker process must see the same data, so it has to be a file.
        raise ConfigError("DATABASE_URL must name a database file")
    return str(Path(path).absolute())


def parse_rate(raw: Mapping[str, Any], name: str) -> tuple[int, int]:
    """'30 per minute' -> (30, 60): that many calls per that many seconds."""
    text = str(raw.get(name, DEFAULTS[name]))
    match = _RATE.match(text)
    if not match:
        raise ConfigError(f"{name} must look like '30 per minute' (per second, minute, hour or day), not {text!r}")
    if int(match.group(1)) < 1:
        raise ConfigError(
            f"{name} must allow at least 1 call per {match.group(2).lower()}; {text!r} would refuse every call"
        )
    return int(match.group(1)), _PERIODS[match.group(2).lower()]


def operator_keys(raw: Mapping[str, Any], production: bool) -> dict[str, str]:
    """Operator name -> key, from ADMIN_API_KEY (the operator `admin`) and ADMIN_API_KEYS
    (`alice:KEY1,bob:KEY2`). Outside production, with neither set, `admin` has the public
    development key."""
    single = str(raw.get("ADMIN_API_KEY") or "")
    named = str(raw.get("ADMIN_API_KEYS") or "").strip()
    if not single and not named:
        if production:
            raise ConfigError("no operator key is set; production needs ADMIN_API_KEY or ADMIN_API_KEYS")
        return {DEFAULT_OPERATOR: DEVELOPMENT_VALUES["ADMIN_API_KEY"]}
    keys: dict[str, str] = {}
    if single:
        keys[DEFAULT_OPERATOR] = _secret({"ADMIN_API_KEY": single}, "ADMIN_API_KEY", production)
    for entry in filter(None, (part.strip() for part in named.split(","))):
        name, colon, key = entry.partition(":")
        name, key = name.strip(), key.strip()
        if not colon or not _OPERATOR_NAME.fullmatch(name) or not key:
            # Never echo the entry: it holds a key.
            raise ConfigError(
                "ADMIN_API_KEYS must look like alice:KEY1,bob:KEY2 (names 1 to 32 of a-z 0-9 _ -); "
                f"entry {len(keys) + 1} does not"
            )
        if name in keys:
            raise ConfigError(f"ADMIN_API_KEYS names the operator {name!r} twice")
        if key in keys.values():
            raise ConfigError(f"ADMIN_API_KEYS gives operator {name!r} a key another operator has")
        if production and len(key) < MIN_SECRET_LENGTH:
            raise ConfigError(
                f"ADMIN_API_KEYS: the key of {name!r} has only {len(key)} characters; production needs at least "
                f"{MIN_SECRET_LENGTH}"
            )
        if production and key == DEVELOPMENT_VALUES["ADMIN_API_KEY"]:
            raise ConfigError(f"ADMIN_API_KEYS: the key of {name!r} is the public development value")
        keys[name] = key
    return keys


def public_url(raw: Mapping[str, Any], production: bool) -> str:
    """Where people reach the service: printed on every coupon, so production must name it, and
    over https (a session cookie must never cross the network in clear)."""
    given = str(raw.get("PUBLIC_URL") or "").strip()
    if not given:
        if production:
            raise ConfigError("PUBLIC_URL is unset; production needs the https:// address people reach the service at")
        port = str(raw.get("PORT") or "8000").strip()
        return f"http://127.0.0.1:{port}"
    parts = urlsplit(given)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path or parts.query or parts.fragment:
        raise ConfigError(
            f"PUBLIC_URL must be a scheme and host (and port) only, e.g. https://rewards.example.com, not {given!r}"
        )
    if production and parts.scheme != "https":
        raise ConfigError("PUBLIC_URL must be https:// in production: session cookies must not travel in clear")
    return given


def operator_roles(raw: Mapping[str, Any], keys: Mapping[str, str]) -> dict[str, str]:
    """Operator name -> role, from OPERATOR_ROLES (`alice:finance,bob:viewer`); an operator not
    named there is `admin`. A name that is no operator, or a role that is none, refuses to start:
    a typo must not quietly leave someone with every right."""
    text = str(raw.get("OPERATOR_ROLES") or "").strip()
    found: dict[str, str] = {}
    for entry in filter(None, (part.strip() for part in text.split(","))):
        name, colon, role = (piece.strip() for piece in entry.partition(":"))
        if not colon or not name or not role:
            raise ConfigError(f"OPERATOR_ROLES must look like alice:finance,bob:viewer; {entry!r} does not")
        if name not in keys:
            raise ConfigError(f"OPERATOR_ROLES names {name!r}, who has no key in ADMIN_API_KEY or ADMIN_API_KEYS")
        if role not in ROLES:
            raise ConfigError(f"OPERATOR_ROLES gives {name!r} the role {role!r}; the roles are {', '.join(ROLES)}")
        if name in found:
            raise ConfigError(f"OPERATOR_ROLES names the operator {name!r} twice")
        found[name] = role
    return found


def _url_template(raw: Mapping[str, Any], public: str) -> str:
    template = str(raw.get("COUPON_URL_TEMPLATE") or DEFAULTS["COUPON_URL_TEMPLATE"]).strip()
    if "{token}" not in template or len(template) > 1000:
        raise ConfigError("COUPON_URL_TEMPLATE must contain {token}, e.g. https://shop.example/s/{token}")
    # {PUBLIC_URL} is filled once here; {token} per coupon.
    return template.replace("{PUBLIC_URL}", public)


def _programme_name(raw: Mapping[str, Any]) -> str:
    # Any Unicode text, as the pages show it; NFC so that a name typed with combining accents
    # counts, prints and compares as the same name typed precomposed.
    name = unicodedata.normalize("NFC", str(raw.get("PROGRAMME_NAME", DEFAULTS["PROGRAMME_NAME"])).strip())
    if not 1 <= len(name) <= MAX_PROGRAMME_NAME:
        raise ConfigError(f"PROGRAMME_NAME must be 1 to {MAX_PROGRAMME_NAME} characters, not {len(name)}")
    if any(unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp") for ch in name):
        raise ConfigError("PROGRAMME_NAME must be one line of text, without control characters")
    return name


def _secret(raw: Mapping[str, Any], name: str, production: bool) -> str:
    value = raw.get(name) or ""
    if production:
        if len(value) < MIN_SECRET_LENGTH:
            state = "unset" if not value else f"only {len(value)} characters"
            raise ConfigError(f"{name} is {state}; production needs at least {MIN_SECRET_LENGTH} random characters")
        if value == DEVELOPMENT_VALUES[name]:
            raise ConfigError(f"{name} is the public development value; set a secret of your own")
        return value
    return value or DEVELOPMENT_VALUES[name]


def _positive_int(raw: Mapping[str, Any], name: str) -> int:
    return _whole_number(raw, name, minimum=1)


def _whole_number(raw: Mapping[str, Any], name: str, *, minimum: int) -> int:
    value = raw.get(name, DEFAULTS.get(name))
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {value!r}") from None
    if number < minimum:
        raise ConfigError(f"{name} must be at least {minimum}")
    return number


def _port(raw: Mapping[str, Any]) -> int:
    value = str(raw.get("PORT", DEFAULTS["PORT"])).strip()
    if not (value.isascii() and value.isdigit() and len(value) <= 5 and 1 <= int(value) <= 65535):
        raise ConfigError(f"PORT must be a number from 1 to 65535, not {value!r}")
    return int(value)


def _positive_float(raw: Mapping[str, Any], name: str) -> float:
    value = raw.get(name, DEFAULTS[name])
    try:
        number = float(str(value).strip())
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, not {value!r}") from None
    if not 0 < number < 3600:
        raise ConfigError(f"{name} must be between 0 and 3600 seconds")
    return number
