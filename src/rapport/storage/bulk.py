"""Fast bulk paths for the hot write loops (ingest, analysis).

Rows are plain tuples already in column order. SQLite gets one prepared
``executemany``; PostgreSQL gets ``COPY ... FROM STDIN``. Ids are allocated
up front (``allocate_ids``) so callers know them without ``RETURNING``;
callers hold the write lock of their transaction while they do.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    any_,
    bindparam,
    func,
    literal_column,
    select,
    text,
)
from sqlalchemy.orm import Session


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def allocate_ids(session: Session, table: Table, count: int) -> list[int]:
    """``count`` fresh primary keys for ``table``, in increasing order."""
    if count <= 0:
        return []
    if _dialect(session) == "postgresql":
        seq = f"{table.name}_id_seq"
        rows = session.execute(
            text(f"SELECT nextval('{seq}') FROM generate_series(1, :n)"), {"n": count}
        ).scalars()
        return sorted(int(r) for r in rows)
    start = session.execute(text(f"SELECT COALESCE(MAX(id), 0) FROM {table.name}")).scalar_one()
    return list(range(int(start) + 1, int(start) + 1 + count))


def _sqlite_timestamp(value: datetime) -> Any:
    if value.tzinfo is not UTC:
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}")
        value = value.astimezone(UTC)
    # The text form SQLAlchemy's SQLite DateTime writes and reads (no offset).
    return value.isoformat(" ", "microseconds")[:26]


def _aware_timestamp(value: datetime) -> Any:
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}")
    return value


def timestamp_writer(session: Session) -> Callable[[datetime], Any]:
    """The function turning tz-aware datetimes into what the bulk path writes."""
    return _sqlite_timestamp if _dialect(session) == "sqlite" else _aware_timestamp


def db_timestamp(session: Session, value: datetime) -> Any:
    """A tz-aware datetime as the bulk path writes it for this dialect."""
    return timestamp_writer(session)(value)


def in_values(session: Session, column: Any, values: Sequence[Any]) -> ColumnElement[bool]:
    """``column IN values`` with one bound parameter, however many values:
    `json_each` on SQLite, `= ANY(array)` on PostgreSQL. Compiles once,
    unlike an expanding IN over thousands of parameters."""
    if _dialect(session) == "sqlite":
        listed: Select[tuple[Any]] = select(literal_column("value")).select_from(
            func.json_each(bindparam("_in_values", json.dumps(list(values)), unique=True))
        )
        matched: ColumnElement[bool] = column.in_(listed)
        return matched
    matched = column == any_(bindparam("_in_values", list(values), unique=True))
    return matched


def db_json(value: Any) -> str:
    if not value:
        return "{}" if isinstance(value, dict) else json.dumps(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def bulk_insert(
    session: Session, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Insert ``rows`` (tuples in ``columns`` order) into ``table`` as fast as
    the dialect allows, inside the session's current transaction."""
    if not rows:
        return
    conn = session.connection()
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    cols = ", ".join(columns)
    if _dialect(session) == "postgresql":
        pg_cursor: Any = dbapi.cursor()
        with pg_cursor, pg_cursor.copy(f"COPY {table.name} ({cols}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join("?" for _ in columns)
    cur = dbapi.cursor()
    try:
        cur.executemany(f"INSERT INTO {table.name} ({cols}) VALUES ({marks})", rows)
    finally:
        cur.close()
