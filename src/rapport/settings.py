"""Typed settings read from the environment (prefix ``RAPPORT_``).

Secrets have a development default only; outside ``env=dev`` (or ``test``) a
default or empty secret is refused at start-up.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET_KEY = "dev-insecure-secret-key-change-me"


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("rapport", appauthor=False))


class SettingsError(ValueError):
    """The configuration is unusable (a default secret in production, say)."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RAPPORT_", extra="ignore")

    env: Literal["dev", "test", "prod"] = "dev"
    data_dir: Path = Field(default_factory=default_data_dir)
    database_url: str | None = None
    broker_url: str | None = None
    secret_key: str = DEV_SECRET_KEY
    ingest_batch_size: int = Field(default=10000, ge=1, le=100_000)
    #: Rows stored by one process before an import first refreshes PostgreSQL's
    #: planner statistics (then each time the stored rows double).
    ingest_analyze_min_rows: int = Field(default=2_000, ge=1)
    db_pool_size: int = Field(default=5, ge=1)
    db_max_overflow: int = Field(default=10, ge=0)
    db_pool_recycle_seconds: int = Field(default=1800, ge=1)
    #: Prefix of every queue, exchange and control channel the workers use:
    #: two deployments (or test runs) sharing one broker never see each other's work.
    queue_prefix: str = Field(default="rapport", pattern=r"^[A-Za-z0-9_.-]{1,60}$")
    #: Retries (exponential back-off, jitter) before a task goes to the dead letters.
    task_max_retries: int = Field(default=8, ge=0, le=100)
    #: Deliveries of one message before it is dead-lettered (a poison message
    #: that kills its worker every time must not loop forever).
    task_max_deliveries: int = Field(default=5, ge=1, le=100)
    #: Distributed ingest: chunks queued at once per import (bounds broker memory).
    ingest_max_in_flight: int = Field(default=8, ge=1, le=1000)
    #: Distributed ingest: re-send unfinished chunks after this long without progress.
    ingest_stall_seconds: float = Field(default=600.0, gt=0)
    #: Where `make web-assets` installed the UI's npm packages (default: build/web of the checkout).
    web_assets_dir: Path | None = None
    #: How long a login (browser session or API token) stays valid.
    session_hours: int = Field(default=12, ge=1, le=24 * 30)
    #: How long the vacuum after an erasure made over the web waits for older
    #: transactions elsewhere in the cluster before it runs (the request waits
    #: too); rows they still see are reported, and `rapport db vacuum` (which
    #: waits 60 s) clears them later.
    web_vacuum_wait_seconds: float = Field(default=5.0, ge=0, le=600)
    #: How long a customer's preference link stays valid.
    preference_link_days: int = Field(default=30, ge=1, le=365)
    #: Fernet key(s) for channel credentials at rest, comma-separated (the first
    #: encrypts, every one decrypts: rotation). Unset: derived from `secret_key`.
    credentials_key: str | None = None
    #: How often the in-process scheduler looks for due jobs (`rapport serve`).
    scheduler_tick_seconds: float = Field(default=5.0, gt=0, le=3600)
    #: Talk/listen governance: the healthy share of outbound messages (PRODUCT.md:
    #: about 25 % talk, 75 % listen); channels, accounts and teams above it are flagged.
    talk_target_outbound_share: float = Field(default=0.25, gt=0, lt=1)

    def check(self) -> Settings:
        """Refuse a configuration that must not run (raises `SettingsError`)."""
        if self.env == "prod" and (not self.secret_key or self.secret_key == DEV_SECRET_KEY):
            raise SettingsError(
                "RAPPORT_SECRET_KEY is unset or the development default; "
                "set a long random value before running with RAPPORT_ENV=prod"
            )
        if self.env == "prod" and len(self.secret_key) < 32:
            raise SettingsError("RAPPORT_SECRET_KEY must be at least 32 characters in prod")
        return self

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL, defaulting to an SQLite file in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'rapport.db'}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings().check()


def reset_settings_cache() -> None:
    """Forget cached settings (tests and the CLI change the environment)."""
    get_settings.cache_clear()
