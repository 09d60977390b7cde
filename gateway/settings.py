"""Configuration from WXGATE_* environment variables, loaded once in main and passed down."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from pathlib import Path
from typing import Literal

import pydantic
import pydantic_settings

from gateway import errors
from gateway.domain import webhook_rules


class SettingsError(errors.WxgateError):
    """A setting is missing or invalid; the message is one line naming it."""


class Settings(pydantic_settings.BaseSettings):
    model_config = pydantic_settings.SettingsConfigDict(env_prefix="WXGATE_", extra="ignore")

    database_url: str | None = None
    api_token: pydantic.SecretStr | None = None
    wechat_api_base: str | None = None
    wechat_oauth_base: str | None = None
    public_url: str | None = None
    host: str = "127.0.0.1"
    port: int = pydantic.Field(default=8080, ge=1, le=65535)
    quota_timezone: str = "Asia/Shanghai"
    default_ttl: dt.timedelta = dt.timedelta(days=7)
    log_format: Literal["json", "console"] = "console"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    data_dir: Path = Path(".wxgate")
    sql_dir: Path | None = None
    # Budget for the database part of a callback; WeChat gives up after 5 s.
    callback_db_timeout: float = pydantic.Field(default=3.0, gt=0, le=4.5)
    pool_size: int = pydantic.Field(default=10, ge=1, le=200)
    # Seconds a client has to send its request body (pay notify, event pages, /api/v1):
    # a slower one is answered 408 and disconnected. Callbacks have their own 5 s.
    body_read_timeout: float = pydantic.Field(default=10.0, gt=0, le=120)
    # Webhooks out (SPEC 7). `wxgate run` allows private destinations, for trying locally.
    webhook_allow_private: bool = False
    webhook_timeout: float = pydantic.Field(default=10.0, gt=0, le=120)
    webhook_retry_schedule: str = webhook_rules.DEFAULT_SCHEDULE
    webhook_disable_after: dt.timedelta = dt.timedelta(days=5)
    # The reply endpoint (SPEC 8) is called inside the callback: at most this long, and never
    # past what the 5-second budget leaves after keeping time for the commit.
    reply_timeout: float = pydantic.Field(default=2.5, gt=0, le=4.0)
    # The audit log and the console take the client's address from the first
    # X-Forwarded-For hop only when a trusted proxy in front sets it.
    trust_proxy: bool = False

    @pydantic.field_validator("quota_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @pydantic.field_validator("webhook_retry_schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        webhook_rules.parse_schedule(value)
        return value

    @property
    def webhook_schedule(self) -> tuple[float, ...]:
        return webhook_rules.parse_schedule(self.webhook_retry_schedule)

    @pydantic.field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.quota_timezone)

    def public_base(self) -> str:
        """The URL WeChat and browsers reach this gateway at."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"http://{host}:{self.port}"


def load(**overrides: object) -> Settings:
    """Read the environment; any problem becomes one SettingsError line, not a traceback."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        name = "WXGATE_" + "_".join(str(p) for p in first["loc"]).upper()
        raise SettingsError(f"invalid setting {name}: {first['msg']}") from None
