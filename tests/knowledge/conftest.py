"""A slice of the bundled TWCS demo for knowledge-base tests: whole threads
chosen by reading them (Virgin Trains, eBay, Hulu, Chipotle, Xbox, Dropbox,
GoDaddy...; a peer's thanked answer; two Chipotle answers saying the same)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest

from rapport.audit.service import cli_actor
from rapport.conversations.service import do_ingest_files
from rapport.demo import demo_path
from rapport.knowledge.schemas import HarvestResult
from rapport.knowledge.service import do_harvest
from rapport.storage.engine import session_scope

RANGES = ((1060, 1075), (1170, 1620), (1964, 1970), (2285, 2300), (4086, 4095), (4370, 4380))


def write_slice(path: Path) -> Path:
    with demo_path().open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(rows[0])
        out.writerows(r for r in rows[1:] if any(lo <= int(r[0]) <= hi for lo, hi in RANGES))
    return path


@pytest.fixture
def kb(db: Any, tmp_path: Path) -> HarvestResult:
    """The slice imported and harvested (entries are candidates)."""
    do_ingest_files([write_slice(tmp_path / "slice.csv")], fmt="twcs")
    with session_scope(write=True) as session:
        return do_harvest(session, actor=cli_actor())
