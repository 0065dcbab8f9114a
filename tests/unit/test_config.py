"""Configuration: environment, flags over environment, fast failure on bad values."""

from __future__ import annotations

import pytest

from chronicle.config import ConfigError, RateLimit, Settings, parse_duration


def test_defaults_run_on_one_machine() -> None:
    settings = Settings.load({})
    assert settings.database_url.startswith("sqlite:///")
    assert (settings.grpc_port, settings.http_port, settings.bind) == (50051, 8080, "127.0.0.1")
    assert settings.redis_url is None
    assert settings.argon2_memory_kib == 19 * 1024 and settings.argon2_time_cost == 2


def test_flags_win_over_environment() -> None:
    env = {"CHRONICLE_GRPC_PORT": "6000", "CHRONICLE_DATABASE_URL": "sqlite:///env.db"}
    settings = Settings.load(env, grpc_port="7000", database_url=None)
    assert settings.grpc_port == 7000
    assert settings.database_url == "sqlite:///env.db"


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"CHRONICLE_GRPC_PORT": "http"}, "CHRONICLE_GRPC_PORT"),
        ({"CHRONICLE_HTTP_PORT": "70000"}, "CHRONICLE_HTTP_PORT"),
        ({"CHRONICLE_RATE_LIMIT": "lots"}, "CHRONICLE_RATE_LIMIT"),
        ({"CHRONICLE_ADMIN_ROUTES": "maybe"}, "CHRONICLE_ADMIN_ROUTES"),
        ({"CHRONICLE_KEY_STATUS_TTL": "5"}, "CHRONICLE_KEY_STATUS_TTL"),
        ({"CHRONICLE_ARGON2_TIME_COST": "0"}, "CHRONICLE_ARGON2_TIME_COST"),
    ],
)
def test_bad_values_fail_fast_naming_the_setting(env: dict[str, str], name: str) -> None:
    with pytest.raises(ConfigError, match=name):
        Settings.load(env)


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("15m", 900), ("12h", 43200), ("90d", 7776000)]
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5", "5x", "-5m", "0s", "1.5h", "m5"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ConfigError):
        parse_duration(text)


def test_rate_limits_parse_and_print() -> None:
    assert RateLimit.parse("20/minute") == RateLimit(20, 60)
    assert str(RateLimit.parse("5/second")) == "5/second"
    with pytest.raises(ConfigError):
        RateLimit.parse("0/hour")


def test_upload_settings_default_to_a_local_directory_behind_the_edge() -> None:
    settings = Settings.load({}, http_port="9090")
    assert (settings.upload_backend, settings.upload_dir) == ("local", "chronicle-uploads")
    assert settings.public_url == "http://127.0.0.1:9090"
    env = {
        "CHRONICLE_PUBLIC_URL": "https://api.example.com/",
        "CHRONICLE_UPLOAD_BACKEND": "S3",
        "CHRONICLE_S3_BUCKET": "decks",
    }
    settings = Settings.load(env)
    assert (settings.public_url, settings.upload_backend) == ("https://api.example.com", "s3")


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"CHRONICLE_UPLOAD_BACKEND": "ftp"}, "CHRONICLE_UPLOAD_BACKEND"),
        ({"CHRONICLE_UPLOAD_BACKEND": "s3"}, "CHRONICLE_S3_BUCKET"),
    ],
)
def test_bad_upload_settings_fail_fast(env: dict[str, str], name: str) -> None:
    with pytest.raises(ConfigError, match=name):
        Settings.load(env)
