"""CSV export of every report table: each report names its tables
(`*_tables(result)`), the CLI writes them with `--csv FILE`, the API answers
`?format=csv` (and `&table=NAME` for a report's other tables)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from rapport.reports.errors import InsightsError


@dataclass
class CsvTable:
    name: str
    header: list[str]
    rows: list[list[Any]] = field(default_factory=list)


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, list | tuple):
        return "; ".join(str(v) for v in value)
    return "" if value is None else value


def to_csv(table: CsvTable) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(table.header)
    for row in table.rows:
        writer.writerow([_cell(v) for v in row])
    return out.getvalue()


def pick(tables: Sequence[CsvTable], name: str | None) -> CsvTable:
    """The named table (default: the report's first)."""
    if not tables:
        raise InsightsError("this report has no table")
    if name is None:
        return tables[0]
    for t in tables:
        if t.name == name:
            return t
    raise InsightsError(
        f"no table {name!r} in this report (tables: {', '.join(t.name for t in tables)})"
    )


def write_tables(tables: Sequence[CsvTable], path: Path) -> list[Path]:
    """The first table to ``path``, each other one beside it as
    ``<stem>-<table>.csv``; returns the files written."""
    written = []
    for i, table in enumerate(tables):
        target = (
            path if i == 0 else path.with_name(f"{path.stem}-{table.name}{path.suffix or '.csv'}")
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(to_csv(table), encoding="utf-8")
        written.append(target)
    return written
