"""All configuration in one pydantic-settings class, read from the environment and `.env`."""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# Telegram's own getFile limit for bots, in MB; only a self-hosted Bot API server in --local mode lifts it.
TELEGRAM_DOWNLOAD_MB = 20


class BotMode(StrEnum):
    POLLING = "polling"
    WEBHOOK = "webhook"


class BotRole(StrEnum):
    ALL = "all"  # one process does everything (polling or webhook), digests included
    WEB = "web"  # answers webhook updates only; never schedules or broadcasts (any number of them)
    WORKER = "worker"  # the digest scheduler and delivery engine only; one active at a time (a lease)


class LogFormat(StrEnum):
    TEXT = "text"
    JSON = "json"  # one JSON object per line, for log collectors


class SettingsError(Exception):
    """A setting has a wrong value; the message names it in one line."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    bot_token: SecretStr | None = None
    database_path: Path = Path("data/alatau.db")
    # postgresql://user:password@host:port/db selects PostgreSQL; unset, SQLite at database_path.
    database_url: str | None = None
    # redis://host:port/db: state shared by several bot processes; /readyz pings it when set.
    redis_url: str | None = None
    # Every key and channel this bot uses in Redis starts with it: several bots (or test runs) share a server.
    redis_prefix: str = Field(default="alatau", min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    admin_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    default_timezone: str = "Asia/Almaty"
    telegram_api_url: str | None = None
    # The server at TELEGRAM_API_URL runs with --local: getFile answers a path on a disk this process
    # shares, read directly (and files up to 2000 MB instead of 20).
    telegram_api_local: bool = False
    log_level: str = "INFO"
    log_format: LogFormat = LogFormat.TEXT
    # /healthz, /readyz and /metrics when not in webhook mode (there they are on the webhook's server);
    # port 0: not served.
    health_host: str = "127.0.0.1"
    health_port: int = Field(default=8081, ge=0, le=65535)

    bot_mode: BotMode = BotMode.POLLING
    bot_role: BotRole = BotRole.ALL
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_host: str = "0.0.0.0"
    webhook_port: int = Field(default=8080, ge=1, le=65535)
    webhook_path: str = "/webhook"

    default_language: str = "ru"
    load_sample_corpus: bool = True
    max_text_chars: int = Field(default=200_000, ge=1000)
    min_text_chars: int = Field(default=200, ge=1)
    throttle_rate: float = Field(default=1.0, gt=0, description="messages per second one user may send")
    broadcast_rate: float = Field(default=25.0, gt=0)
    allow_paid_broadcast: bool = False

    # Admins' uploads. Telegram lets bots download files up to 20 MB; a self-hosted Bot API server in
    # --local mode (TELEGRAM_API_URL, TELEGRAM_API_LOCAL) lifts that, and then MAX_DOWNLOAD_MB may be raised.
    max_download_mb: int = Field(default=20, ge=1, le=2000)
    max_zip_files: int = Field(default=1000, ge=1)
    max_zip_unpacked_mb: int = Field(default=200, ge=1)
    upload_progress_seconds: float = Field(default=3.0, ge=0, description="how often a bulk upload reports")
    album_wait_seconds: float = Field(default=1.0, ge=0, description="files of one album arrive within")
    undo_minutes: int = Field(default=60, ge=1, description="how long a deleted text can be brought back")

    # Sources (feeds and channels the corpus follows): polled in the bot's process and by `sources poll`.
    sources_enabled: bool = True
    sources_poll_minutes: int = Field(default=15, ge=1, le=1440)
    sources_user_agent: str = "AlatauNewsBot/0.1 (+https://github.com/alatau-news-bot; news feed reader)"
    sources_max_feed_mb: float = Field(default=5.0, gt=0, le=100)
    sources_max_page_mb: float = Field(default=5.0, gt=0, le=100)
    sources_timeout_seconds: float = Field(default=20.0, gt=0, le=300)
    sources_host_delay_seconds: float = Field(default=1.0, ge=0, le=60)
    # false: no feed or page on a private or loopback address (bot/sources/addresses.py)
    sources_allow_private: bool = True

    @field_validator("telegram_api_local")
    @classmethod
    def _check_local(cls, value: bool, info: ValidationInfo) -> bool:
        if value and not info.data.get("telegram_api_url"):
            raise ValueError("needs TELEGRAM_API_URL (the self-hosted Bot API server started with --local)")
        return value

    @field_validator("max_download_mb")
    @classmethod
    def _check_download(cls, value: int, info: ValidationInfo) -> int:
        if value > TELEGRAM_DOWNLOAD_MB and not info.data.get("telegram_api_local"):
            raise ValueError(
                f"above {TELEGRAM_DOWNLOAD_MB} needs TELEGRAM_API_LOCAL=true: Telegram's cloud hands bots files "
                "of at most 20 MB; only a self-hosted Bot API server in --local mode hands larger ones"
            )
        return value

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p for p in value.replace(";", ",").replace(" ", ",").split(",") if p]
            return frozenset(int(p) for p in parts)
        if isinstance(value, int):
            return frozenset({value})
        return value

    @field_validator("bot_token")
    @classmethod
    def _check_token(cls, value: SecretStr | None) -> SecretStr | None:
        # An empty BOT_TOKEN= line in .env means "not set", not "a token that is empty".
        if value is None or not value.get_secret_value().strip():
            return None
        return SecretStr(value.get_secret_value().strip())

    @field_validator("webhook_secret")
    @classmethod
    def _check_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", value.get_secret_value()):
            raise ValueError("use 1-256 characters of A-Z, a-z, 0-9, _ and - (Telegram's rule)")
        return value

    @field_validator("default_timezone")
    @classmethod
    def _check_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r}") from exc
        return value

    @field_validator("log_level")
    @classmethod
    def _check_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    @field_validator("default_language")
    @classmethod
    def _check_language(cls, value: str) -> str:
        if value not in {"ru", "kk", "en"}:
            raise ValueError("must be ru, kk or en")
        return value

    @field_validator("telegram_api_url", "webhook_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis:// (or rediss://, unix://)")
        return value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("must start with postgresql:// (unset for SQLite at DATABASE_PATH)")
        return value


def load_settings(**overrides: object) -> Settings:
    """Build Settings, turning a validation error into one line that names the setting."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "settings"
        message = first["msg"].removeprefix("Value error, ")
        raise SettingsError(f"setting {name} is invalid: {message}") from None
