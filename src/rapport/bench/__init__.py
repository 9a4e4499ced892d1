"""`rapport bench`: the benchmark suite.

Each benchmark measures Rapport against a baseline measured in the same run
and reports both figures and their ratio: speed is measured here, never
asserted in tests. Domains add benchmarks with `register`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any


@dataclass
class BenchOptions:
    size: int = 200_000
    pg_url: str | None = None
    scale: bool = False
    work_dir: str | None = None


@dataclass
class BenchResult:
    """One measured figure set: `figures` are numbers with units in their names."""

    name: str
    figures: dict[str, Any] = field(default_factory=dict)
    notes: str = ""


Bench = Callable[[BenchOptions], list[BenchResult]]

_registry: dict[str, Bench] = {}


@contextmanager
def keeping_database_url() -> Iterator[None]:
    """Run a benchmark that points RAPPORT_DATABASE_URL at its own databases,
    and put the caller's setting back afterwards."""
    saved = os.environ.get("RAPPORT_DATABASE_URL")
    try:
        yield
    finally:
        from rapport.settings import reset_settings_cache

        if saved is None:
            os.environ.pop("RAPPORT_DATABASE_URL", None)
        else:
            os.environ["RAPPORT_DATABASE_URL"] = saved
        reset_settings_cache()


def register(name: str, bench: Bench) -> None:
    _registry[name] = bench


def available() -> dict[str, Bench]:
    from rapport.bench import (
        analysis,
        channels,
        engagement,
        ingest,
        insights,
        network,
        people,
        scale,
        search,
        web,
    )

    register("ingest", ingest.run)
    register("channels", channels.run)
    register("network", network.run)
    register("people", people.run)
    register("web", web.run)
    register("scale", scale.run)
    register("analysis", analysis.run)
    register("search", search.run)
    register("engagement", engagement.run)
    register("insights", insights.run)
    return dict(_registry)
