"""`rapport network --json`: every list with its reasons, on the TWCS demo."""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path
from typing import Any

import networkx as nx
import pytest

from rapport import pipeline
from rapport.analysis.queries import MessageAnalysis
from rapport.conversations import hooks
from rapport.conversations.service import do_ingest_files
from rapport.demo import demo_path
from rapport.network.graph import STRONG_MAX_IDLE_DAYS, STRONG_MIN_INTERACTIONS, load_graph
from rapport.network.queries import influence_for
from rapport.network.roles import messages_to_accounts, rank_advocates
from rapport.storage.engine import session_scope

KEYS = (
    "nodes",
    "edges",
    "communities",
    "modularity",
    "top_influencers",
    "advocates",
    "detractors",
    "peer_helpers",
    "knowledge_flows",
)


@pytest.fixture
def demo_report(db: Any, cli: Any) -> dict[str, Any]:
    do_ingest_files([demo_path()], fmt="twcs")
    result = cli("network", "--json")
    assert result.exit_code == 0, result.stderr
    doc: dict[str, Any] = result.json()
    return doc


def _report_has_the_contract_keys_and_consistent_counts(demo_report: dict[str, Any]) -> None:
    doc = demo_report
    for key in KEYS:
        assert key in doc
    ids = {n["id"] for n in doc["nodes"]}
    assert len(ids) == len(doc["nodes"]) == doc["summary"]["nodes"]
    assert all(e["source"] in ids and e["target"] in ids for e in doc["edges"])
    # The 76 brand accounts of the demo are nodes, but never "influencers".
    assert doc["summary"]["accounts"] == 76
    assert all(not r["node"].startswith("account:") for r in doc["top_influencers"])
    assert doc["summary"]["communities"] == len(doc["communities"]) > 10
    assert sum(c["size"] for c in doc["communities"]) == len(doc["nodes"])
    assert 0.5 < doc["modularity"] <= 1


def _every_tie_follows_the_stated_strong_weak_rule(demo_report: dict[str, Any]) -> None:
    as_of = datetime.fromisoformat(demo_report["as_of"])
    strong = 0
    for e in demo_report["edges"]:
        idle = (as_of - datetime.fromisoformat(e["last_at"])).total_seconds() / 86400
        should = (
            e["source_to_target"] > 0
            and e["target_to_source"] > 0
            and e["replies"] + e["mentions"] >= STRONG_MIN_INTERACTIONS
            and idle <= STRONG_MAX_IDLE_DAYS
        )
        assert e["tie"] == ("strong" if should else "weak"), e
        assert e["reason"].split("; ")[-1].startswith(e["tie"])
        strong += should
        frequency = e["replies"] + 0.5 * e["mentions"]
        recency = 0.5 ** (idle / 30)
        assert e["weight"] == pytest.approx(frequency * (1 + e["reciprocity"]) * recency, rel=1e-2)
    assert 0 < strong < len(demo_report["edges"])


def _influencers_communities_and_brokers_carry_reasons(demo_report: dict[str, Any]) -> None:
    for section in ("top_influencers", "brokers", "communities"):
        assert demo_report[section], section
        assert all(row["reason"] for row in demo_report[section])
    scores = [r["score"] for r in demo_report["top_influencers"]]
    assert scores == sorted(scores, reverse=True)
    assert all(len(b["communities"]) >= 2 for b in demo_report["brokers"])


def _peer_helpers_knowledge_flows_advocates_and_detractors_follow_analysis(
    demo_report: dict[str, Any],
) -> None:
    helpers = demo_report["peer_helpers"]
    assert helpers
    assert all(h["node"].startswith(("person:", "identity:")) for h in helpers)
    thanked = [h for h in helpers if h["thanked"]]
    # The demo is analysed on ingest: the verdicts cite the stored analysis.
    assert thanked and "analysis" in thanked[0]["reason"]
    flows = demo_report["knowledge_flows"]
    assert flows and all(f["answers"] == f["by_agents"] + f["by_peers"] for f in flows)
    assert any(f["by_peers"] for f in flows)
    assert all(f["keywords"] for f in flows[:5])
    assert demo_report["analysis"]["available"] is True
    for section in ("advocates", "detractors"):
        assert demo_report[section], section
        assert all(row["reason"] and row["message_ids"] for row in demo_report[section])
    assert all(a["mean_sentiment"] > 0 for a in demo_report["advocates"])
    assert all(d["mean_sentiment"] < 0 for d in demo_report["detractors"])


def test_without_stored_analysis_the_report_falls_back_to_lexical_rules(db: Any, cli: Any) -> None:
    """A database imported with the analysis stage switched off (as one
    migrated from before analysis existed): peer helpers still come from
    lexical cues, and advocates/detractors are empty with the reason."""
    hooks.remove_hook("analysis.understand")
    try:
        do_ingest_files([demo_path()], fmt="twcs")
    finally:
        pipeline.install()
    result = cli("network", "--json")
    assert result.exit_code == 0, result.stderr
    doc = result.json()
    thanked = [h for h in doc["peer_helpers"] if h["thanked"]]
    assert thanked and "lexical" in thanked[0]["reason"]
    assert doc["advocates"] == [] and doc["detractors"] == []
    assert doc["analysis"]["available"] is False
    assert "no stored analysis" in doc["analysis"]["note"]


def test_advocates_and_detractors_follow_stored_sentiment(db: Any) -> None:
    """Sentiment labelled by reading two demo tweets to brands."""
    do_ingest_files([demo_path()], fmt="twcs")
    with session_scope() as session:
        graph = load_graph(session)
        per_node = messages_to_accounts(session, graph)
        from rapport.conversations.queries import messages_by_ids

        ids = sorted({m for pairs in per_node.values() for m, _ in pairs})
        texts = {m.id: m.text for m in messages_by_ids(session, ids)}
    praise = next(i for i, t in texts.items() if "resolving my issue so quickly" in t)
    scorn = next(i for i, t in texts.items() if "WORST experience ever" in t)
    analyses = {
        praise: MessageAnalysis(
            praise, "positive", 0.85, "praise", 0.1, "en", (), {"sentiment": ["best"]}
        ),
        scorn: MessageAnalysis(
            scorn, "negative", -0.8, "complaint", 0.4, "en", (), {"sentiment": ["worst"]}
        ),
    }
    influence = [0.5] * len(graph.nodes)
    advocates, detractors = rank_advocates(graph, per_node, analyses, influence)
    assert len(advocates) == 1 and len(detractors) == 1
    assert advocates[0]["message_ids"] == [praise]
    assert advocates[0]["score"] == pytest.approx(0.425)
    assert "ChipotleTweets" in advocates[0]["reason"] and "best" in advocates[0]["reason"]
    assert detractors[0]["message_ids"] == [scorn]
    assert detractors[0]["mean_sentiment"] == pytest.approx(-0.8)


def test_report_on_the_demo(demo_report: dict[str, Any]) -> None:
    """One import of the demo, every property of the report checked on it."""
    _report_has_the_contract_keys_and_consistent_counts(demo_report)
    _every_tie_follows_the_stated_strong_weak_rule(demo_report)
    _influencers_communities_and_brokers_carry_reasons(demo_report)
    _peer_helpers_knowledge_flows_advocates_and_detractors_follow_analysis(demo_report)


def test_export_graphml_and_gexf_read_back(
    demo_report: dict[str, Any], cli: Any, tmp_path: Path
) -> None:
    out = tmp_path / "graph.graphml"
    result = cli("network", "export", "--format", "graphml", "--output", str(out))
    assert result.exit_code == 0, result.stderr
    graph = nx.read_graphml(out)
    assert graph.number_of_nodes() == len(demo_report["nodes"])
    assert graph.number_of_edges() == len(demo_report["edges"])
    node = next(iter(graph.nodes(data=True)))[1]
    assert {"community", "influence", "kind", "label"} <= set(node)
    result = cli("network", "export", "--format", "gexf")
    assert result.exit_code == 0, result.stderr
    gexf = nx.read_gexf(io.BytesIO(result.stdout.encode("utf-8")))
    assert gexf.number_of_edges() == len(demo_report["edges"])
    bad = cli("network", "export", "--format", "dot")
    assert bad.exit_code == 2
    _influence_for_people(demo_report)


def _influence_for_people(demo_report: dict[str, Any]) -> None:
    top = demo_report["top_influencers"][0]
    person_id = int(top["node"].split(":")[1])
    with session_scope() as session:
        scores = influence_for(session, [person_id, 10**9])
    assert scores == {person_id: pytest.approx(top["score"], abs=1e-4)}


def test_an_empty_graph_is_a_clear_error(db: Any, cli: Any) -> None:
    result = cli("network", "--json")
    assert result.exit_code == 1
    assert "empty" in result.stderr
    assert result.stdout == ""
