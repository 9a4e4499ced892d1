"""The console script itself, as users run it."""

from __future__ import annotations

import json

from rapport.demo import demo_path
from tests.conftest import Database


def test_python_m_rapport_runs_the_cli(db: Database, rapport_proc) -> None:
    helped = rapport_proc("--help")
    assert helped.exit_code == 0 and "ingest" in helped.stdout
    result = rapport_proc("ingest", str(demo_path()), "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {
        "read": 5000,
        "inserted": 5000,
        "duplicates": 0,
        "quarantined": 0,
    }


def test_usage_errors_exit_2(rapport_proc) -> None:
    assert rapport_proc("ingest").exit_code == 2
    assert rapport_proc("no-such-command").exit_code == 2


def test_demo_load_is_idempotent(db: Database, cli) -> None:
    assert cli("demo", "load", "--json").json()["inserted"] == 5000
    assert cli("demo", "load", "--json").json()["inserted"] == 0


def test_bench_measures_against_a_baseline(db: Database, cli) -> None:
    result = cli("bench", "--size", "600", "--only", "ingest", "--json")
    assert result.exit_code == 0, result.stderr
    figures = result.json()["benchmarks"]["ingest.sqlite"]
    assert figures["messages"] == 600
    assert figures["ingest_msg_per_s"] > 0 and figures["baseline_executemany_rows_per_s"] > 0
    assert (
        figures["ratio_to_baseline"]
        == round(figures["ingest_msg_per_s"] / figures["baseline_executemany_rows_per_s"], 3)
        or abs(
            figures["ratio_to_baseline"]
            - figures["ingest_msg_per_s"] / figures["baseline_executemany_rows_per_s"]
        )
        < 0.01
    )
    assert figures["with_hooks_msg_per_s"] > 0 and figures["with_hooks_seconds"] > 0
    assert "ingest.postgresql" in result.json()["benchmarks"]
