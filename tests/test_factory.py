"""The application factory and its configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from rewards import create_app
from rewards.config import ConfigError, build_config, database_path, parse_rate, read_environment

from .support.engines import TestDatabase
from .support.servers import FLASK, GUNICORN, run_in_repo, service_env

STRONG = "x" * 32


def gunicorn_env(folder, env):
    """The tests' environment on a database file that is never made: these refuse first."""
    return service_env(TestDatabase("sqlite", f"sqlite:///{folder / 'never.db'}", folder / "never.db"), env)


def test_factory_builds_an_app_with_the_contract_defaults(app):
    assert app.config["JWT_TTL_SECONDS"] == 3600
    assert app.config["OTP_TTL_SECONDS"] == 300
    assert app.config["OTP_MAX_ATTEMPTS"] == 5
    assert app.config["OTP_SEND_LIMIT"] == 5
    assert app.config["OTP_SEND_WINDOW_SECONDS"] == 900
    assert app.config["SCAN_RATE_LIMIT"] == (30, 60)
    assert app.config["MAX_CONTENT_LENGTH"] == 1024 * 1024


def test_version_and_health(client):
    assert client.get("/version").get_json() == {"name": "rewards", "version": "1.0.0"}
    response = client.get("/health")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


@pytest.mark.parametrize(
    ("settings", "complaint"),
    [
        ({"ADMIN_API_KEY": STRONG}, "JWT_SECRET is unset"),
        ({"JWT_SECRET": STRONG}, "no operator key is set"),
        ({"JWT_SECRET": STRONG, "ADMIN_API_KEYS": "alice:" + "k" * 31}, "the key of 'alice' has only 31 characters"),
        ({"JWT_SECRET": "short", "ADMIN_API_KEY": STRONG}, "JWT_SECRET is only 5 characters"),
        ({"JWT_SECRET": STRONG, "ADMIN_API_KEY": "y" * 31}, "ADMIN_API_KEY is only 31 characters"),
        ({"JWT_SECRET": STRONG, "ADMIN_API_KEY": STRONG, "OTP_DELIVERY": "response"}, "OTP_DELIVERY=response"),
    ],
)
def test_production_refuses_weak_configuration(settings, complaint):
    with pytest.raises(ConfigError, match=complaint):
        build_config({"APP_ENV": "production", "OTP_DELIVERY": "log", **settings})


def test_production_starts_with_strong_secrets():
    config = build_config(
        {"APP_ENV": "production", "JWT_SECRET": STRONG, "ADMIN_API_KEY": "k" * 40, "PUBLIC_URL": "https://r.example"}
    )
    assert config["JWT_SECRET"] == STRONG
    assert config["COUPON_URL_TEMPLATE"] == "https://r.example/c/{token}"


@pytest.mark.parametrize(
    ("public_url", "complaint"),
    [
        (None, "PUBLIC_URL is unset"),
        ("http://r.example", "must be https:// in production"),
        ("https://r.example/", "scheme and host"),
        ("r.example", "scheme and host"),
        ("https://r.example/path", "scheme and host"),
    ],
)
def test_production_needs_an_https_public_url(public_url, complaint):
    settings = {"APP_ENV": "production", "JWT_SECRET": STRONG, "ADMIN_API_KEY": STRONG}
    if public_url is not None:
        settings["PUBLIC_URL"] = public_url
    with pytest.raises(ConfigError, match=complaint):
        build_config(settings)


def test_the_coupon_address_defaults_to_the_coupon_page_on_the_public_url():
    assert build_config({"PORT": "8123"})["COUPON_URL_TEMPLATE"] == "http://127.0.0.1:8123/c/{token}"
    assert build_config({"PUBLIC_URL": "http://10.0.0.5:8000"})["PUBLIC_URL"] == "http://10.0.0.5:8000"
    custom = build_config({"COUPON_URL_TEMPLATE": "https://shop.example/s/{token}"})
    assert custom["COUPON_URL_TEMPLATE"] == "https://shop.example/s/{token}"
    assert build_config({"COUPON_URL_TEMPLATE": "{token}"})["COUPON_URL_TEMPLATE"] == "{token}"


def test_webhook_delivery_needs_a_url():
    with pytest.raises(ConfigError, match="OTP_WEBHOOK_URL"):
        build_config({"OTP_DELIVERY": "webhook"})
    with pytest.raises(ConfigError, match="http"):
        build_config({"OTP_DELIVERY": "webhook", "OTP_WEBHOOK_URL": "ftp://gateway"})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("JWT_TTL_SECONDS", "soon"),
        ("OTP_MAX_ATTEMPTS", "0"),
        ("OTP_DELIVERY", "carrier-pigeon"),
        ("SCAN_RATE_LIMIT", "lots"),
        ("AUTH_IP_RATE_LIMIT", "60 per fortnight"),
        ("WEB_CONCURRENCY", "0"),
        ("COUPON_URL_TEMPLATE", "https://shop.example/s/"),
        ("PROGRAMME_NAME", ""),
        ("PROGRAMME_NAME", "   "),
        ("PROGRAMME_NAME", "x" * 61),
        ("PROGRAMME_NAME", "two\nlines"),
    ],
)
def test_bad_values_are_refused_naming_the_variable(name, value):
    with pytest.raises(ConfigError, match=name):
        build_config({name: value})


def test_programme_name_is_any_unicode_line_of_up_to_60_characters():
    assert build_config({})["PROGRAMME_NAME"] == "Rewards"
    assert build_config({"PROGRAMME_NAME": " इनाम Club "})["PROGRAMME_NAME"] == "इनाम Club"
    # 60 characters once combining accents are composed (NFC): 120 code points typed
    assert build_config({"PROGRAMME_NAME": "e\u0301" * 60})["PROGRAMME_NAME"] == "\u00e9" * 60


def test_database_url_forms(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert database_path("sqlite:///instance/rewards.db") == str(tmp_path / "instance" / "rewards.db")
    assert database_path("sqlite:////var/lib/rewards.db") == "/var/lib/rewards.db"
    assert database_path("file:./dev.db") == str(tmp_path / "dev.db")
    for bad in ("mysql://db/rewards", "sqlite:///:memory:", "sqlite:///"):
        with pytest.raises(ConfigError, match="DATABASE_URL"):
            database_path(bad)
    for url in ("postgresql://app:secret@db:5432/rewards", "postgres://db/rewards"):
        assert database_path(url) is None and build_config({"DATABASE_URL": url})["DATABASE_ENGINE"] == "postgresql"


def test_rate_limits_parse():
    assert parse_rate({"SCAN_RATE_LIMIT": "30 per minute"}, "SCAN_RATE_LIMIT") == (30, 60)
    assert parse_rate({"SCAN_RATE_LIMIT": "5/second"}, "SCAN_RATE_LIMIT") == (5, 1)
    assert parse_rate({"AUTH_IP_RATE_LIMIT": "100 per hour"}, "AUTH_IP_RATE_LIMIT") == (100, 3600)
    assert build_config({})["AUTH_IP_RATE_LIMIT"] == (60, 3600)


@pytest.mark.parametrize("name", ["SCAN_RATE_LIMIT", "AUTH_IP_RATE_LIMIT"])
def test_a_rate_of_zero_is_refused_for_what_it_is(name):
    with pytest.raises(ConfigError) as refused:
        build_config({name: "0 per minute"})
    message = str(refused.value)
    assert name in message and "at least 1 call per minute" in message
    assert "must look like" not in message  # '0 per minute' does look like '30 per minute'


@pytest.mark.parametrize("value", ["prod", "staging", "dev", "", "production2"])
def test_app_env_other_than_the_two_is_refused(value):
    with pytest.raises(ConfigError, match="APP_ENV must be development or production"):
        build_config({"APP_ENV": value})


def test_app_env_typo_refuses_to_start_the_server(tmp_path):
    env = gunicorn_env(tmp_path, {"APP_ENV": "prod"})
    result = run_in_repo([*GUNICORN, "app:app", "-w", "1", "-b", "127.0.0.1:0"], env)
    assert result.returncode != 0
    assert "refusing to start: APP_ENV must be development or production, not 'prod'" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(("value", "complaint"), [("-1", "at least 0"), ("two", "whole number")])
def test_proxy_count_must_be_a_count(value, complaint):
    with pytest.raises(ConfigError, match=f"PROXY_COUNT must be .*{complaint}|PROXY_COUNT must be a {complaint}"):
        build_config({"PROXY_COUNT": value})


def test_make_run_refuses_a_bad_worker_count_in_one_line(tmp_path):
    env = gunicorn_env(tmp_path, {"WEB_CONCURRENCY": "abc"})
    result = run_in_repo([*FLASK, "init-db"], env)
    assert result.returncode != 0
    assert "refusing to start: WEB_CONCURRENCY must be a whole number, not 'abc'" in result.stderr
    assert "Traceback" not in result.stderr


def test_dotenv_is_read_and_the_environment_wins(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path(".env").write_text("OTP_TTL_SECONDS=120\nJWT_TTL_SECONDS=60\n")
    monkeypatch.setenv("JWT_TTL_SECONDS", "90")
    monkeypatch.delenv("OTP_TTL_SECONDS", raising=False)
    raw = read_environment()
    assert raw["OTP_TTL_SECONDS"] == "120"
    assert raw["JWT_TTL_SECONDS"] == "90"


def test_create_app_refuses_production_without_secrets(tmp_path):
    with pytest.raises(ConfigError):
        create_app(
            {
                "APP_ENV": "production",
                "JWT_SECRET": "",
                "ADMIN_API_KEY": "",
                "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
            }
        )


def test_gunicorn_refuses_to_start_in_production_with_a_weak_secret(tmp_path):
    env = gunicorn_env(
        tmp_path, {"APP_ENV": "production", "OTP_DELIVERY": "log", "JWT_SECRET": "short", "ADMIN_API_KEY": STRONG}
    )
    result = run_in_repo([*GUNICORN, "app:app", "-w", "2", "-b", "127.0.0.1:0"], env)
    assert result.returncode != 0
    assert "refusing to start: JWT_SECRET is only 5 characters" in result.stderr
    assert "Traceback" not in result.stderr
    assert "short" not in result.stderr.replace("JWT_SECRET is only 5 characters", "")


def test_flask_cli_refuses_to_start_in_production_with_a_weak_key(tmp_path):
    env = gunicorn_env(tmp_path, {"APP_ENV": "production", "OTP_DELIVERY": "log", "JWT_SECRET": STRONG})
    env.pop("ADMIN_API_KEY", None)
    result = run_in_repo([*FLASK, "init-db"], env)
    assert result.returncode != 0
    assert "refusing to start: no operator key is set" in result.stderr


def test_named_operator_keys_are_read_with_the_single_key_as_admin():
    config = build_config({"ADMIN_API_KEY": "a" * 32, "ADMIN_API_KEYS": " alice:" + "b" * 32 + ", bob-2:" + "c" * 32})
    assert config["OPERATOR_KEYS"] == {"admin": "a" * 32, "alice": "b" * 32, "bob-2": "c" * 32}
    only_named = build_config(
        {
            "APP_ENV": "production",
            "JWT_SECRET": STRONG,
            "ADMIN_API_KEYS": "alice:" + "b" * 32,
            "PUBLIC_URL": "https://r.example",
        }
    )
    assert only_named["OPERATOR_KEYS"] == {"alice": "b" * 32}  # no development key beside them
    assert build_config({})["OPERATOR_KEYS"] == {"admin": "dev-admin-key"}


@pytest.mark.parametrize(
    ("value", "complaint"),
    [
        ("alice:k1,alice:k2", "names the operator 'alice' twice"),
        ("alice:k1,bob:k1", "a key another operator has"),
        ("Alice:k1", "must look like alice:KEY1"),
        ("alice", "must look like alice:KEY1"),
        ("alice:", "must look like alice:KEY1"),
        ("x" * 33 + ":k1", "must look like alice:KEY1"),
    ],
)
def test_bad_operator_keys_are_refused_without_echoing_a_key(value, complaint):
    with pytest.raises(ConfigError, match=complaint) as refused:
        build_config({"ADMIN_API_KEYS": value})
    assert "k1" not in str(refused.value) and "k2" not in str(refused.value)


def test_operator_roles_name_known_operators_and_roles_and_default_to_admin():
    keys = {"ADMIN_API_KEY": "a" * 32, "ADMIN_API_KEYS": "alice:" + "b" * 32 + ",bob:" + "c" * 32}
    config = build_config({**keys, "OPERATOR_ROLES": " alice:finance , bob:viewer"})
    assert config["OPERATOR_ROLES"] == {"alice": "finance", "bob": "viewer"}
    assert build_config(keys)["OPERATOR_ROLES"] == {}  # everyone admin, as before the setting


@pytest.mark.parametrize(
    ("value", "complaint"),
    [
        ("carol:viewer", "'carol', who has no key"),
        ("alice:auditor", "the role 'auditor'"),
        ("alice", "must look like alice:finance"),
        ("alice:finance,alice:viewer", "names the operator 'alice' twice"),
    ],
)
def test_a_role_for_no_operator_or_no_role_refuses_to_start(value, complaint):
    with pytest.raises(ConfigError, match=complaint):
        build_config({"ADMIN_API_KEYS": "alice:" + "b" * 32, "OPERATOR_ROLES": value})
