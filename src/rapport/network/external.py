"""`rapport network analyze EDGEFILE`: communities and influencers of any graph."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from rapport.network import analytics
from rapport.network.edgelist import EdgeList, read_edge_list
from rapport.network.errors import EmptyGraphError


def analyze_edge_list(edges: EdgeList, *, top: int = 10, seed: int = 42) -> dict[str, Any]:
    """The analysis document of an already parsed edge list."""
    if not edges.edges:
        raise EmptyGraphError(
            f"{edges.source}: the graph is empty — no usable edge in {edges.lines} line(s) "
            f"({edges.comments} comment(s), {edges.malformed_count} malformed)"
        )
    started = time.perf_counter()
    graph = analytics.build(
        len(edges.nodes),
        edges.edges,
        edges.weights if edges.weighted else None,
        directed=edges.directed,
    )
    built = time.perf_counter()
    result = analytics.analyze(graph, weighted=edges.weighted, seed=seed)
    ranked = sorted(range(len(edges.nodes)), key=lambda i: (-result.influence[i], i))[:top]
    n = len(edges.nodes)
    top_influencers = [
        {
            "node": edges.nodes[i],
            "score": round(result.influence[i], 6),
            "pagerank": round(result.pagerank[i], 6),
            "reach": result.reach[i],
            "community": result.membership[i],
            "reason": (
                f"PageRank {result.pagerank[i]:.5f} (×{result.pagerank[i] * n:.1f} the average) "
                f"and ties with {result.reach[i]} node(s): "
                f"{analytics.PAGERANK_SHARE} × PageRank/max + {analytics.REACH_SHARE} × reach/max"
            ),
        }
        for i in ranked
    ]
    return {
        "source": edges.source,
        "directed": edges.directed,
        "weighted": edges.weighted,
        "nodes": n,
        "edges": len(edges.edges),
        "communities": len(result.sizes),
        "community_sizes": result.sizes,
        "modularity": round(result.modularity, 6),
        "algorithm": analytics.ALGORITHM,
        "top_influencers": top_influencers,
        "lines": edges.lines,
        "comments": edges.comments,
        "duplicate_edges": edges.duplicates,
        "malformed_lines": edges.malformed_count,
        "malformed": [
            {"line": b.line, "reason": b.reason, "text": b.text} for b in edges.malformed
        ],
        "seconds": {
            "build": round(built - started, 4),
            **{k: round(v, 4) for k, v in result.seconds.items()},
        },
        "membership": {edges.nodes[i]: c for i, c in enumerate(result.membership)},
    }


def analyze_edge_file(
    path: Path, *, directed: bool = False, top: int = 10, seed: int = 42
) -> dict[str, Any]:
    started = time.perf_counter()
    edges = read_edge_list(path, directed=directed)
    parsed = time.perf_counter()
    doc = analyze_edge_list(edges, top=top, seed=seed)
    doc["seconds"] = {"read": round(parsed - started, 4), **doc["seconds"]}
    doc["seconds"]["total"] = round(time.perf_counter() - started, 4)
    return doc
