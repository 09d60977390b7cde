from __future__ import annotations

import datetime as dt

import pytest

from gateway import settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("WXGATE_"):
            monkeypatch.delenv(name)


def test_defaults() -> None:
    s = settings.load()
    assert s.port == 8080
    assert s.quota_timezone == "Asia/Shanghai"
    assert s.default_ttl == dt.timedelta(days=7)
    assert s.database_url is None
    assert s.public_base() == "http://127.0.0.1:8080"


def test_environment_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WXGATE_PORT", "9001")
    monkeypatch.setenv("WXGATE_API_TOKEN", "s3cret")
    monkeypatch.setenv("WXGATE_LOG_LEVEL", "debug")
    monkeypatch.setenv("WXGATE_DEFAULT_TTL", "P2D")
    s = settings.load()
    assert s.port == 9001
    assert s.log_level == "DEBUG"
    assert s.default_ttl == dt.timedelta(days=2)
    assert s.api_token is not None and s.api_token.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(s)


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("WXGATE_PORT", "http", "WXGATE_PORT"),
        ("WXGATE_PORT", "70000", "WXGATE_PORT"),
        ("WXGATE_QUOTA_TIMEZONE", "Mars/Olympus", "WXGATE_QUOTA_TIMEZONE"),
        ("WXGATE_LOG_FORMAT", "xml", "WXGATE_LOG_FORMAT"),
    ],
)
def test_invalid_setting_is_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, fragment: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(settings.SettingsError) as info:
        settings.load()
    message = str(info.value)
    assert fragment in message
    assert "\n" not in message
