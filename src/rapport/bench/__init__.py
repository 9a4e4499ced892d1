"""`rapport bench`: the benchmark suite.

Each benchmark measures Rapport against a baseline measured in the same run
and reports both figures and their ratio: speed is measured here, never
asserted in tests. Domains add benchmarks with `register`.
"""

from __future__ import annotations

from collections.abc import Callable
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


def register(name: str, bench: Bench) -> None:
    _registry[name] = bench


def available() -> dict[str, Bench]:
    from rapport.bench import analysis, channels, ingest, insights, network, people, scale, web

    register("ingest", ingest.run)
    register("channels", channels.run)
    register("network", network.run)
    register("people", people.run)
    register("web", web.run)
    register("scale", scale.run)
    register("analysis", analysis.run)
    register("insights", insights.run)
    return dict(_registry)
