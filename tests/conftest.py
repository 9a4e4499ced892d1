"""Test fixtures shared by every domain.

The suite runs twice in `make test`, each run over the cores
(pytest-xdist): `RAPPORT_TEST_DB=sqlite` (default) and
`RAPPORT_TEST_DB=postgresql` (against 127.0.0.1:5432; the tests that use no
database run in the SQLite run only). Each test that asks for `db` gets its
own freshly migrated database, cloned from a template migrated once per
test process; nothing is shared between tests. Sockets to
anything but the loopback interface are refused.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner

from rapport import pipeline
from rapport.conversations.service import do_ingest_files
from rapport.demo import demo_path
from rapport.settings import reset_settings_cache
from rapport.storage.engine import dispose_engines
from rapport.storage.migrate import upgrade
from tests.workers.harness import Broker, WorkerProcess, rabbitmq_broker, worker_pool

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
BACKEND = os.environ.get("RAPPORT_TEST_DB", "sqlite")
PG_ADMIN = os.environ.get(
    "RAPPORT_TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


# ---------------------------------------------------------------- sockets

_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address: Any) -> Any:
    if self.family in (socket.AF_INET, socket.AF_INET6):
        host = address[0]
        if host not in ("127.0.0.1", "::1", "localhost") and not str(host).startswith("127."):
            raise OSError(f"tests may not open sockets beyond loopback (tried {address!r})")
    return _real_connect(self, address)


@pytest.fixture(autouse=True, scope="session")
def _block_network() -> Iterator[None]:
    socket.socket.connect = _loopback_only  # type: ignore[method-assign]
    yield
    socket.socket.connect = _real_connect  # type: ignore[method-assign]


# ---------------------------------------------------------------- environment


@pytest.fixture(autouse=True, scope="session")
def _test_environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    data_dir = tmp_path_factory.mktemp("rapport-data")
    os.environ["RAPPORT_ENV"] = "test"
    os.environ["RAPPORT_DATA_DIR"] = str(data_dir)
    os.environ.pop("RAPPORT_DATABASE_URL", None)
    os.environ.pop("RAPPORT_BROKER_URL", None)
    reset_settings_cache()
    pipeline.install()
    yield


# ---------------------------------------------------------------- databases


def _pg_dsn(name: str) -> str:
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + name


def _sa_url(dsn: str) -> str:
    return dsn.replace("postgresql://", "postgresql+psycopg://", 1)


def _pg_admin(sql: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


@dataclass
class Database:
    """A fresh, migrated database for one test."""

    url: str
    backend: str

    @property
    def is_postgresql(self) -> bool:
        return self.backend == "postgresql"


@pytest.fixture(scope="session")
def _template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated template database for this run (a file, or a PG database)."""
    if BACKEND == "sqlite":
        path = tmp_path_factory.mktemp("template") / "template.db"
        url = f"sqlite:///{path}"
        upgrade(url)
        dispose_engines()
        yield str(path)
        return
    if BACKEND != "postgresql":
        raise pytest.UsageError(f"RAPPORT_TEST_DB must be sqlite or postgresql, not {BACKEND!r}")
    name = f"rapport_tpl_{uuid.uuid4().hex[:10]}"
    try:
        _pg_admin(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        pytest.exit(f"PostgreSQL is not reachable at {PG_ADMIN}: {exc}", returncode=3)
    try:
        upgrade(_sa_url(_pg_dsn(name)))
        dispose_engines()
        yield name
    finally:
        dispose_engines()
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def clone_database(template: str, tmp_path: Path) -> Iterator[Database]:
    """A copy of ``template`` (a file, or a PG database) set as
    RAPPORT_DATABASE_URL while the caller's test runs, then dropped."""
    if BACKEND == "sqlite":
        path = tmp_path / "rapport.db"
        shutil.copyfile(template, path)
        database = Database(f"sqlite:///{path}", "sqlite")
        name = None
    else:
        name = f"rapport_t_{uuid.uuid4().hex[:12]}"
        _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        database = Database(_sa_url(_pg_dsn(name)), "postgresql")
    os.environ["RAPPORT_DATABASE_URL"] = database.url
    reset_settings_cache()
    try:
        yield database
    finally:
        dispose_engines()
        os.environ.pop("RAPPORT_DATABASE_URL", None)
        reset_settings_cache()
        if name is not None:
            _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def db(_template: str, tmp_path: Path) -> Iterator[Database]:
    """A fresh migrated database, set as RAPPORT_DATABASE_URL for this test."""
    yield from clone_database(_template, tmp_path)


# ---------------------------------------------------------------- CLI


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        import json

        return json.loads(self.stdout)


@pytest.fixture
def cli() -> Any:
    """Run `rapport ...` in-process (fast); stdout and stderr kept apart."""
    from rapport.cli.main import app

    runner = CliRunner()

    def run(*args: str, input: str | None = None) -> CliResult:
        result = runner.invoke(app, list(args), input=input, catch_exceptions=False)
        return CliResult(result.exit_code, result.stdout, result.stderr)

    return run


@pytest.fixture
def rapport_proc() -> Any:
    """Run the real console entry point in a subprocess (`python -m rapport`)."""

    def run(*args: str, input: str | None = None, timeout: float = 300) -> CliResult:
        proc = subprocess.run(
            [sys.executable, "-m", "rapport", *args],
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=os.environ.copy(),
        )
        return CliResult(proc.returncode, proc.stdout, proc.stderr)

    return run


# ---------------------------------------------------------------- the demo


@pytest.fixture(scope="session")
def _demo_template(_template: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The TWCS demo imported once per run (analysed and triaged on ingest)."""
    if BACKEND == "sqlite":
        path = tmp_path_factory.mktemp("demo") / "demo.db"
        shutil.copyfile(_template, path)
        url = f"sqlite:///{path}"
        name = str(path)
    else:
        name = f"rapport_demo_{uuid.uuid4().hex[:10]}"
        _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{_template}"')
        url = _sa_url(_pg_dsn(name))
    os.environ["RAPPORT_DATABASE_URL"] = url
    reset_settings_cache()
    try:
        do_ingest_files([demo_path()], fmt="twcs")
    finally:
        dispose_engines()
        os.environ.pop("RAPPORT_DATABASE_URL", None)
        reset_settings_cache()
    try:
        yield name
    finally:
        if BACKEND != "sqlite":
            _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def demo_db(_demo_template: str, tmp_path: Path) -> Iterator[Database]:
    """A fresh database holding the TWCS demo, set as RAPPORT_DATABASE_URL."""
    yield from clone_database(_demo_template, tmp_path)


# ---------------------------------------------------------------- broker and workers


@pytest.fixture
def broker() -> Iterator[Broker]:
    """RabbitMQ with queue names of this test's own."""
    with rabbitmq_broker() as b:
        yield b


@pytest.fixture
def broker_alone() -> Iterator[Broker]:
    """RabbitMQ that no other test run uses meanwhile: for a test that stops it."""
    with rabbitmq_broker(exclusive=True) as b:
        yield b


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    """Start real `rapport worker` processes; all are stopped at the end."""
    with worker_pool(tmp_path) as start:
        yield start


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.exists():
        pytest.skip("../shared/data is not beside this checkout")
    return SHARED_DATA


# ---------------------------------------------------------------- the second run

#: Set to run the tests that use no database in the PostgreSQL run too.
RUN_ALL = os.environ.get("RAPPORT_TEST_ALL", "") not in ("", "0")
_DB_FREE = pytest.StashKey[int]()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On PostgreSQL, run the tests that use a database (every database
    fixture is built on `_template`); the others (parsers, pure stages,
    settings) do the same thing on both runs and run in the SQLite one."""
    if BACKEND != "postgresql" or RUN_ALL:
        return
    db_free = [i for i in items if "_template" not in getattr(i, "fixturenames", ())]
    if db_free:
        config.hook.pytest_deselected(items=db_free)
        items[:] = [i for i in items if "_template" in getattr(i, "fixturenames", ())]
        config.stash[_DB_FREE] = len(db_free)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if BACKEND != "postgresql" or RUN_ALL:
        return
    # Under pytest-xdist the workers collect, so the count is theirs to know.
    n = config.stash.get(_DB_FREE, 0)
    terminalreporter.write_line(
        f"{n or 'the'} tests that use no database ran in the SQLite run only "
        "(RAPPORT_TEST_ALL=1 runs them here too)"
    )
