"""The report of the contract, checked against an independent computation
made straight from the CSV (no Rapport code involved)."""

from __future__ import annotations

import csv
import re
import statistics
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

from rapport.bench.datagen import write_twcs_like
from rapport.demo import demo_path
from tests.conftest import Database


def independent_report(path: Path) -> dict[str, Any]:
    """The contract's definitions, computed from a TWCS CSV by other means."""
    with path.open(newline="", encoding="utf-8") as fh:
        rows = {r["tweet_id"]: r for r in csv.DictReader(fh)}
    neighbours: dict[str, set[str]] = defaultdict(set)
    for tid, r in rows.items():
        links = [r["in_response_to_tweet_id"], *r["response_tweet_id"].split(",")]
        for other in links:
            if other and other in rows and other != tid:
                neighbours[tid].add(other)
                neighbours[other].add(tid)
    thread: dict[str, int] = {}
    for start in rows:
        if start in thread:
            continue
        stack = [start]
        thread[start] = len(thread)
        label = thread[start]
        while stack:
            for nxt in neighbours[stack.pop()]:
                if nxt not in thread:
                    thread[nxt] = label
                    stack.append(nxt)
    brands = {r["author_id"] for r in rows.values() if r["inbound"] == "False"}
    when = {
        tid: datetime.strptime(r["created_at"], "%a %b %d %H:%M:%S %z %Y")
        for tid, r in rows.items()
    }
    out: dict[str, Any] = {}
    for brand in brands:
        mention = re.compile(r"(?<![\w@])@" + re.escape(brand) + r"(?!\w)", re.IGNORECASE)
        outbound = [
            t for t, r in rows.items() if r["author_id"] == brand and r["inbound"] == "False"
        ]
        addressed = []
        for t, r in rows.items():
            if r["inbound"] != "True":
                continue
            parent = rows.get(r["in_response_to_tweet_id"])
            replying = (
                parent is not None and parent["inbound"] == "False" and parent["author_id"] == brand
            )
            if replying or mention.search(r["text"]):
                addressed.append(t)
        delays = [
            (when[t] - when[rows[t]["in_response_to_tweet_id"]]).total_seconds()
            for t in outbound
            if rows[t]["in_response_to_tweet_id"] in rows
            and rows[rows[t]["in_response_to_tweet_id"]]["inbound"] == "True"
        ]
        out[brand] = {
            "inbound": len(addressed),
            "outbound": len(outbound),
            "threads": len({thread[t] for t in outbound + addressed}),
            "answered_threads": len({thread[t] for t in outbound}),
            "median_response_seconds": statistics.median(delays) if delays else None,
            "talk_listen_ratio": len(outbound) / (len(outbound) + len(addressed)),
        }
    inbound = sum(1 for r in rows.values() if r["inbound"] == "True")
    return {
        "messages": len(rows),
        "threads": len(set(thread.values())),
        "inbound": inbound,
        "outbound": len(rows) - inbound,
        "brands": out,
    }


def _assert_same(actual: dict[str, Any], expected: dict[str, Any]) -> None:
    assert {k: actual[k] for k in ("messages", "threads", "inbound", "outbound")} == {
        k: expected[k] for k in ("messages", "threads", "inbound", "outbound")
    }
    assert set(actual["brands"]) == set(expected["brands"])
    for brand, figures in expected["brands"].items():
        got = actual["brands"][brand]
        for key, value in figures.items():
            if isinstance(value, float):
                assert abs(got[key] - value) < 1e-9, (brand, key, got[key], value)
            else:
                assert got[key] == value, (brand, key, got[key], value)


def test_report_matches_independent_computation_on_demo(db: Database, cli) -> None:
    cli("ingest", str(demo_path()))
    result = cli("report", "--json")
    assert result.exit_code == 0
    _assert_same(result.json(), independent_report(demo_path()))


def test_report_matches_on_generated_out_of_order_data(db: Database, cli, tmp_path: Path) -> None:
    path = tmp_path / "gen.csv"
    write_twcs_like(path, 3000, seed=11, brands=7)
    cli("ingest", str(path), "--batch-size", "250")
    _assert_same(cli("report", "--json").json(), independent_report(path))


def test_report_has_exactly_the_contract_keys(db: Database, cli) -> None:
    cli("ingest", str(demo_path()))
    doc = cli("report", "--json").json()
    assert set(doc) == {"messages", "threads", "inbound", "outbound", "brands"}
    for figures in doc["brands"].values():
        assert set(figures) == {
            "inbound",
            "outbound",
            "threads",
            "answered_threads",
            "median_response_seconds",
            "talk_listen_ratio",
        }


def test_report_filters_by_time_and_channel(db: Database, cli) -> None:
    cli("ingest", str(demo_path()))
    full = cli("report", "--json").json()
    early = cli("report", "--json", "--until", "2017-10-31T12:00:00Z").json()
    late = cli("report", "--json", "--since", "2017-10-31T12:00:00Z").json()
    assert early["messages"] + late["messages"] == full["messages"]
    assert early["inbound"] + late["inbound"] == full["inbound"]
    assert 0 < early["messages"] < full["messages"]
    assert cli("report", "--json", "--channel", "twitter").json() == full
    nothing = cli("report", "--json", "--channel", "mastodon").json()
    assert nothing == {"messages": 0, "threads": 0, "inbound": 0, "outbound": 0, "brands": {}}


def test_report_table_is_readable(db: Database, cli) -> None:
    cli("ingest", str(demo_path()))
    text = cli("report").stdout
    assert "5000 messages" in text and "AmazonHelp" in text


def test_report_refuses_bad_dates(db: Database, cli) -> None:
    result = cli("report", "--since", "yesterday-ish")
    assert result.exit_code == 1
    assert "--since" in result.stderr
