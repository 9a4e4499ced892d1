"""`rapport network analyze EDGEFILE`: counts, modularity, influencers, bad lines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import networkx as nx
import pytest

from rapport.network.edgelist import read_edge_list
from rapport.network.errors import EmptyGraphError
from rapport.network.external import analyze_edge_file, analyze_edge_list

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "network" / "facebook_head_3000.txt"


def _independent_counts(path: Path) -> tuple[int, int]:
    nodes: set[str] = set()
    edges: set[frozenset[str]] = set()
    for line in path.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        u, v = line.split()
        nodes.update((u, v))
        edges.add(frozenset((u, v)))
    return len(nodes), len(edges)


def test_counts_match_an_independent_reading_of_the_file() -> None:
    nodes, edges = _independent_counts(FIXTURE)
    doc = analyze_edge_file(FIXTURE)
    assert (doc["nodes"], doc["edges"]) == (nodes, edges)
    assert doc["comments"] == 2
    assert doc["malformed_lines"] == 0
    assert doc["communities"] == len(doc["community_sizes"]) >= 2
    assert sum(doc["community_sizes"]) == nodes


def test_modularity_and_membership_agree_with_networkx() -> None:
    doc = analyze_edge_file(FIXTURE)
    graph = nx.read_edgelist(FIXTURE, comments="#")
    groups: dict[int, set[str]] = {}
    for node, community in doc["membership"].items():
        groups.setdefault(community, set()).add(node)
    recomputed = nx.community.modularity(graph, groups.values())
    assert doc["modularity"] == pytest.approx(recomputed, abs=1e-6)
    assert doc["modularity"] > 0.5


def test_top_influencer_is_ranked_by_pagerank_blended_with_reach() -> None:
    doc = analyze_edge_file(FIXTURE, top=5)
    graph = nx.read_edgelist(FIXTURE, comments="#")
    pagerank = nx.pagerank(graph)
    degree = dict(graph.degree())
    top_pr, top_deg = max(pagerank.values()), max(degree.values())
    expected = {n: 0.7 * pagerank[n] / top_pr + 0.3 * degree[n] / top_deg for n in graph}
    best = max(expected, key=lambda n: expected[n])
    first = doc["top_influencers"][0]
    assert first["node"] == best
    assert first["score"] == pytest.approx(expected[best], abs=1e-3)
    assert first["reach"] == degree[best]
    assert "PageRank" in first["reason"]
    scores = [row["score"] for row in doc["top_influencers"]]
    assert scores == sorted(scores, reverse=True)


def test_malformed_lines_are_reported_with_line_numbers_and_skipped(tmp_path: Path) -> None:
    lines = FIXTURE.read_text().splitlines()[:12]
    lines[4:4] = ["17", "1 2 3 4", "5 6 heavy", "9 9", "7 8 -2"]
    path = tmp_path / "edges.txt"
    path.write_text("\n".join(lines) + "\n")
    edges = read_edge_list(path)
    bad = {b.line: b.reason for b in edges.malformed}
    assert sorted(bad) == [5, 6, 7, 8, 9]
    assert "one field" in bad[5]
    assert "4 fields" in bad[6]
    assert "not a number" in bad[7]
    assert "self-loop" in bad[8]
    assert "positive" in bad[9]
    assert len(edges.edges) == 10  # the 10 good edges of the first 12 lines (2 are comments)


def test_duplicates_in_either_direction_count_once(tmp_path: Path) -> None:
    path = tmp_path / "dups.txt"
    path.write_text("a b\nb a\na b 2\nb c\n")
    edges = read_edge_list(path)
    assert len(edges.edges) == 2
    assert edges.duplicates == 2
    directed = read_edge_list(path, directed=True)
    assert len(directed.edges) == 3


def test_an_empty_graph_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.txt"
    path.write_text("# nothing but a comment\n\nonly-one-field\n")
    with pytest.raises(EmptyGraphError, match="empty"):
        analyze_edge_list(read_edge_list(path))


def test_cli_analyze_prints_one_json_document(cli: Any, tmp_path: Path) -> None:
    path = tmp_path / "edges.txt"
    path.write_text(FIXTURE.read_text() + "broken line with five fields\n")
    members = tmp_path / "members.csv"
    result = cli("network", "analyze", str(path), "--json", "--members", str(members))
    assert result.exit_code == 0, result.stderr
    doc = result.json()
    for key in ("nodes", "edges", "communities", "modularity", "top_influencers"):
        assert key in doc
    assert {"node", "score"} <= set(doc["top_influencers"][0])
    assert doc["malformed_lines"] == 1
    assert "line 3003" in result.stderr and "skipped" in result.stderr
    assert len(members.read_text().splitlines()) == doc["nodes"] + 1


def test_cli_analyze_empty_graph_exits_1(cli: Any, tmp_path: Path) -> None:
    path = tmp_path / "empty.txt"
    path.write_text("# no edges here\n")
    result = cli("network", "analyze", str(path), "--json")
    assert result.exit_code == 1
    assert "empty" in result.stderr
    assert result.stdout == ""


def test_cli_analyze_missing_file_exits_1(cli: Any, tmp_path: Path) -> None:
    result = cli("network", "analyze", str(tmp_path / "nope.txt"))
    assert result.exit_code == 1
    assert "no such file" in result.stderr


def test_ego_facebook_counts_and_modularity(shared_data: Path) -> None:
    path = shared_data / "network" / "facebook_combined.txt"
    doc = analyze_edge_file(path)
    assert doc["nodes"] == 4039
    assert doc["edges"] == 88234
    assert doc["modularity"] > 0.8
    assert doc["malformed_lines"] == 0
    # Node 107 has the most friends (1,045) in ego-Facebook.
    assert doc["top_influencers"][0]["node"] == "107"
    assert doc["top_influencers"][0]["reach"] == 1045
