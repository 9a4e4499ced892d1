"""Engines, sessions, migrations and settings."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import text

from rapport.settings import DEV_SECRET_KEY, Settings, SettingsError
from rapport.storage.base import UTCDateTime
from rapport.storage.engine import get_engine, session_scope
from rapport.storage.migrate import current_revisions, head_revisions, upgrade
from tests.conftest import Database


def test_sqlite_runs_in_wal_with_foreign_keys_and_secure_delete(db: Database) -> None:
    if db.is_postgresql:
        pytest.skip("SQLite pragmas")
    with get_engine().connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA secure_delete").scalar() == 1


def test_postgresql_connects_through_psycopg3(db: Database) -> None:
    if not db.is_postgresql:
        pytest.skip("PostgreSQL driver")
    engine = get_engine()
    assert engine.dialect.driver == "psycopg"
    with engine.connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar() == 1


def test_upgrade_is_idempotent(db: Database, cli) -> None:
    first = cli("db", "upgrade", "--json")
    second = cli("db", "upgrade", "--json")
    assert first.exit_code == second.exit_code == 0
    assert first.json()["revisions"] == second.json()["revisions"] == head_revisions()
    assert current_revisions() == head_revisions()
    assert cli("db", "current", "--json").json()["current"] is True


def test_fresh_sqlite_database_is_created_by_upgrade(tmp_path, cli, monkeypatch) -> None:
    from rapport.settings import reset_settings_cache

    url = f"sqlite:///{tmp_path / 'new' / 'fresh.db'}"
    monkeypatch.setenv("RAPPORT_DATABASE_URL", url)
    reset_settings_cache()
    assert upgrade(url) == head_revisions()
    assert (tmp_path / "new" / "fresh.db").exists()
    reset_settings_cache()


def test_naive_datetimes_are_refused() -> None:
    column = UTCDateTime()
    with pytest.raises(ValueError, match="naive"):
        column.process_bind_param(datetime(2020, 1, 1), get_engine("sqlite://").dialect)  # noqa: DTZ001


def test_session_scope_rolls_back_on_error(db: Database) -> None:
    from rapport.conversations.models import Channel

    with pytest.raises(RuntimeError), session_scope(write=True) as s:
        s.add(Channel(name="doomed"))
        s.flush()
        raise RuntimeError("boom")
    with session_scope() as s:
        assert s.query(Channel).count() == 0


def test_production_refuses_the_default_secret() -> None:
    with pytest.raises(SettingsError, match="RAPPORT_SECRET_KEY"):
        Settings(env="prod", secret_key=DEV_SECRET_KEY).check()
    with pytest.raises(SettingsError):
        Settings(env="prod", secret_key="").check()
    with pytest.raises(SettingsError, match="32"):
        Settings(env="prod", secret_key="short").check()
    assert Settings(env="prod", secret_key="x" * 40).check().env == "prod"
    assert Settings(env="dev").check().secret_key == DEV_SECRET_KEY


def test_cli_refuses_to_start_in_prod_with_the_default_secret(rapport_proc, monkeypatch) -> None:
    monkeypatch.setenv("RAPPORT_ENV", "prod")
    monkeypatch.delenv("RAPPORT_SECRET_KEY", raising=False)
    result = rapport_proc("report", "--json")
    assert result.exit_code == 1
    assert "RAPPORT_SECRET_KEY" in result.stderr


def test_default_database_is_sqlite_in_the_data_dir(tmp_path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert settings.sqlalchemy_url == f"sqlite:///{tmp_path / 'rapport.db'}"
