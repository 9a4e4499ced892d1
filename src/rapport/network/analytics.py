"""Graph analytics on python-igraph: communities, influence, brokers.

Communities: Leiden optimising modularity (igraph's built-in
`community_leiden`, iterated to convergence, seeded). Measured on SNAP
ego-Facebook on this project's 2-core machine (`rapport bench --only
network`, quiet → loaded): igraph Leiden 0.08–0.17 s (modularity 0.836),
networkx Louvain 1.5–5.8 s (0.835), leidenalg 0.9–4.0 s (0.836) — so
igraph's Leiden is used.

Influence = 0.7 × PageRank / max PageRank + 0.3 × reach / max reach, where
reach is the number of distinct nodes a node has ties with (its audience
one hop away). PageRank follows the direction of attention: an interaction
A → B (A replies to or mentions B) passes rank to B.

Brokers: nodes whose ties spread over several communities, ranked by the
participation coefficient P = 1 − Σ_c (w_c / w)², w_c the tie weight a node
has into community c (0: all ties in one community).
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import igraph as ig

ALGORITHM = "leiden (igraph, modularity objective)"
PAGERANK_SHARE = 0.7
REACH_SHARE = 0.3


@dataclass
class Analysis:
    membership: list[int]
    modularity: float
    pagerank: list[float]
    reach: list[int]
    influence: list[float]
    #: Community ids ordered by size, largest first (ids are 0..k-1 in that order).
    sizes: list[int]
    seconds: dict[str, float] = field(default_factory=dict)


def build(
    node_count: int,
    edges: Sequence[tuple[int, int]],
    weights: Sequence[float] | None = None,
    *,
    directed: bool = False,
) -> Any:
    graph = ig.Graph(n=node_count, edges=list(edges), directed=directed)
    if weights is not None:
        graph.es["weight"] = list(weights)
    return graph


def communities(graph: Any, *, weighted: bool, seed: int = 42) -> tuple[list[int], float]:
    """Leiden communities (renumbered by size, largest 0) and their modularity."""
    undirected = graph.as_undirected(combine_edges="sum") if graph.is_directed() else graph
    weights = "weight" if weighted else None
    ig.set_random_number_generator(random.Random(seed))
    try:
        parts = undirected.community_leiden(
            objective_function="modularity", weights=weights, n_iterations=-1
        )
    finally:
        ig.set_random_number_generator(random)
    raw = list(parts.membership)
    counts: dict[int, int] = {}
    for c in raw:
        counts[c] = counts.get(c, 0) + 1
    order = sorted(counts, key=lambda c: (-counts[c], c))
    renumber = {old: new for new, old in enumerate(order)}
    membership = [renumber[c] for c in raw]
    modularity = undirected.modularity(membership, weights=weights)
    return membership, float(modularity)


def influence(graph: Any, *, weighted: bool) -> tuple[list[float], list[int], list[float]]:
    """PageRank, reach (distinct neighbours) and the blended influence score."""
    pagerank = list(graph.pagerank(weights="weight" if weighted else None, directed=True))
    reach = list(graph.as_undirected().degree()) if graph.is_directed() else graph.degree()
    top_pr = max(pagerank) or 1.0
    top_reach = max(reach) or 1
    blended = [
        PAGERANK_SHARE * pr / top_pr + REACH_SHARE * r / top_reach
        for pr, r in zip(pagerank, reach, strict=True)
    ]
    return pagerank, list(reach), blended


def analyze(graph: Any, *, weighted: bool, seed: int = 42) -> Analysis:
    started = time.perf_counter()
    membership, modularity = communities(graph, weighted=weighted, seed=seed)
    after_communities = time.perf_counter()
    pagerank, reach, blended = influence(graph, weighted=weighted)
    done = time.perf_counter()
    sizes = [0] * (max(membership) + 1 if membership else 0)
    for c in membership:
        sizes[c] += 1
    return Analysis(
        membership=membership,
        modularity=modularity,
        pagerank=pagerank,
        reach=reach,
        influence=blended,
        sizes=sizes,
        seconds={
            "communities": after_communities - started,
            "influence": done - after_communities,
        },
    )


def participation(
    node_count: int,
    edges: Sequence[tuple[int, int]],
    weights: Sequence[float],
    membership: Sequence[int],
) -> list[dict[int, float]]:
    """Per node: tie weight into each community (undirected)."""
    spread: list[dict[int, float]] = [{} for _ in range(node_count)]
    for (u, v), w in zip(edges, weights, strict=True):
        cu, cv = membership[u], membership[v]
        spread[u][cv] = spread[u].get(cv, 0.0) + w
        spread[v][cu] = spread[v].get(cu, 0.0) + w
    return spread


def participation_coefficient(weights_by_community: dict[int, float]) -> float:
    total = sum(weights_by_community.values())
    if total <= 0:
        return 0.0
    return 1.0 - sum((w / total) ** 2 for w in weights_by_community.values())
