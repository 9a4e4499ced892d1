"""Databases shared by the insights tests: the airline slice (with the six
airlines as listening queries) and the TWCS demo (with the synthetic sales),
each imported once per run into a template that every test copies."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from rapport.settings import reset_settings_cache
from rapport.storage.engine import dispose_engines
from tests.conftest import BACKEND, FIXTURES, Database, _pg_admin, _pg_dsn, _sa_url

AIRLINE = FIXTURES / "airline_third.csv"
DEMO_SALES = (
    Path(__file__).resolve().parents[2] / "src" / "rapport" / "demo" / "sales_synthetic.csv"
)

#: (name, query, kind, brand handle): the airlines as the tweets address them.
AIRLINE_QUERIES = [
    ("united", "@united OR united", "brand", "united"),
    ("american", '@AmericanAir OR americanair OR "american airlines"', "competitor", "americanair"),
    ("usairways", '@USAirways OR usairways OR "us airways"', "competitor", "usairways"),
    ("jetblue", "@JetBlue OR jetblue", "competitor", "jetblue"),
    ("southwest", "@SouthwestAir OR southwest", "competitor", "southwestair"),
    (
        "virgin",
        '@VirginAmerica OR virginamerica OR "virgin america"',
        "competitor",
        "virginamerica",
    ),
]


def _use(url: str | None) -> None:
    dispose_engines()
    if url is None:
        os.environ.pop("RAPPORT_DATABASE_URL", None)
    else:
        os.environ["RAPPORT_DATABASE_URL"] = url
    reset_settings_cache()


def _make_template(template: str, tmp: Path, fill: Callable[[], None]) -> Iterator[tuple[str, str]]:
    """A copy of the migrated template filled by ``fill``: (kind, location)."""
    if BACKEND == "sqlite":
        path = tmp / "filled.db"
        shutil.copyfile(template, path)
        _use(f"sqlite:///{path}")
        try:
            fill()
        finally:
            _use(None)
        yield ("sqlite", str(path))
        return
    name = f"rapport_tpl_{uuid.uuid4().hex[:10]}"
    _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        _use(_sa_url(_pg_dsn(name)))
        try:
            fill()
        finally:
            _use(None)
        yield ("postgresql", name)
    finally:
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _copy(filled: tuple[str, str], tmp: Path) -> Iterator[Database]:
    kind, where = filled
    name = None
    if kind == "sqlite":
        path = tmp / "rapport.db"
        shutil.copyfile(where, path)
        database = Database(f"sqlite:///{path}", "sqlite")
    else:
        name = f"rapport_t_{uuid.uuid4().hex[:12]}"
        _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{where}"')
        database = Database(_sa_url(_pg_dsn(name)), "postgresql")
    _use(database.url)
    try:
        yield database
    finally:
        _use(None)
        if name is not None:
            _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _fill_airline() -> None:
    from rapport.conversations.service import do_ingest_files
    from rapport.reports import listening
    from rapport.storage.engine import session_scope

    do_ingest_files([AIRLINE], fmt="airline")
    with session_scope(write=True) as session:
        for name, query, kind, brand in AIRLINE_QUERIES:
            listening.do_add_query(
                session,
                listening.QueryCreate(name=name, query=query, kind=kind, brand=brand),  # type: ignore[arg-type]
                actor="test",
            )


def _fill_demo() -> None:
    from rapport.conversations.service import do_ingest_files
    from rapport.demo import demo_path
    from rapport.relationships.service import do_import_sales
    from rapport.storage.engine import session_scope

    do_ingest_files([demo_path()], fmt="twcs")
    with session_scope(write=True) as session:
        do_import_sales(session, DEMO_SALES, actor="test")


@pytest.fixture(scope="session")
def _airline_template(
    _template: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    yield from _make_template(_template, tmp_path_factory.mktemp("airline"), _fill_airline)


@pytest.fixture(scope="session")
def _demo_template(
    _template: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    yield from _make_template(_template, tmp_path_factory.mktemp("demo"), _fill_demo)


@pytest.fixture
def airline(_airline_template: tuple[str, str], tmp_path: Path) -> Iterator[Database]:
    """A database holding the airline slice and the six airline queries."""
    yield from _copy(_airline_template, tmp_path)


@pytest.fixture
def demo(_demo_template: tuple[str, str], tmp_path: Path) -> Iterator[Database]:
    """A database holding the TWCS demo and its synthetic sales."""
    yield from _copy(_demo_template, tmp_path)
