"""How the network is read: the whole analysed graph (`network_report`, what
`rapport network --json` prints), and per-person influence for other domains
(`influence_for`)."""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rapport.conversations.queries import identities_by_ids
from rapport.network import analytics
from rapport.network.errors import EmptyGraphError
from rapport.network.graph import (
    HALF_LIFE_DAYS,
    MENTION_WEIGHT,
    STRONG_MAX_IDLE_DAYS,
    STRONG_MIN_INTERACTIONS,
    ConversationGraph,
    load_graph,
)
from rapport.network.models import NetworkTie
from rapport.network.roles import compute_roles
from rapport.relationships.hooks import PersonData
from rapport.storage.bulk import in_values

TIE_RULE = (
    f"weight = (replies + {MENTION_WEIGHT} × mentions) × (1 + reciprocity) × "
    f"0.5^(days since last / {HALF_LIFE_DAYS:g}); strong = reciprocal, ≥ "
    f"{STRONG_MIN_INTERACTIONS} interactions and active within {STRONG_MAX_IDLE_DAYS:g} days "
    "of the newest interaction; otherwise weak"
)
INFLUENCE_RULE = (
    f"influence = {analytics.PAGERANK_SHARE} × PageRank/max + {analytics.REACH_SHARE} × "
    "reach/max (PageRank on who addresses whom, reach = distinct people talked with)"
)


def _analysed(graph: ConversationGraph) -> analytics.Analysis:
    n = len(graph.nodes)
    undirected = analytics.build(
        n, [(e.source, e.target) for e in graph.edges], [max(e.weight, 1e-9) for e in graph.edges]
    )
    membership, modularity = analytics.communities(undirected, weighted=True)
    pairs = list(graph.directed)
    directed = analytics.build(
        n, pairs, [max(graph.directed[p], 1e-9) for p in pairs], directed=True
    )
    pagerank, reach, blended = analytics.influence(directed, weighted=True)
    sizes = [0] * (max(membership) + 1 if membership else 0)
    for c in membership:
        sizes[c] += 1
    return analytics.Analysis(membership, modularity, pagerank, reach, blended, sizes)


def network_report(session: Session, *, top: int = 20) -> dict[str, Any]:
    """The analysed conversation graph, every list with its reasons."""
    started = time.perf_counter()
    graph = load_graph(session)
    if not graph.edges:
        raise EmptyGraphError(
            "the conversation graph is empty: no stored message replies to or mentions "
            "another author yet (import conversations with `rapport ingest` or "
            "`rapport demo load`)"
        )
    loaded = time.perf_counter()
    result = _analysed(graph)
    analysed = time.perf_counter()
    nodes, membership, influence = graph.nodes, result.membership, result.influence

    # Communities, named by their most influential members (accounts first).
    members: dict[int, list[int]] = {}
    for i, c in enumerate(membership):
        members.setdefault(c, []).append(i)
    internal: dict[int, float] = defaultdict(float)
    total: dict[int, float] = defaultdict(float)
    strong: Counter[int] = Counter()
    for e in graph.edges:
        cu, cv = membership[e.source], membership[e.target]
        total[cu] += e.weight
        total[cv] += e.weight
        if cu == cv:
            internal[cu] += 2 * e.weight
            strong[cu] += e.strong
    community_names: dict[int, str] = {}
    communities = []
    for c in range(len(result.sizes)):
        ranked = sorted(members[c], key=lambda i: (-influence[i], nodes[i].id))
        accounts = [nodes[i].label for i in ranked if nodes[i].kind == "account"]
        people = [i for i in ranked if nodes[i].kind != "account"]
        lead = accounts[0] if accounts else nodes[ranked[0]].label
        community_names[c] = f"community {c} ({lead})"
        inside = internal[c] / total[c] if total[c] else 0.0
        communities.append(
            {
                "id": c,
                "size": len(members[c]),
                "people": len(people),
                "accounts": accounts[:10],
                "top_members": [nodes[i].id for i in ranked[:5]],
                "strong_ties": strong[c],
                "reason": (
                    f"{len(people)} people"
                    + (f" around {', '.join(accounts[:3])}" if accounts else "")
                    + f": {inside:.0%} of their tie weight stays inside; most influential "
                    f"{nodes[ranked[0]].label} ({influence[ranked[0]]:.3f})"
                ),
            }
        )

    # Brokers: ties spread over several communities.
    spread = analytics.participation(
        len(nodes),
        [(e.source, e.target) for e in graph.edges],
        [e.weight for e in graph.edges],
        membership,
    )
    brokers: list[dict[str, Any]] = []
    for i, by_c in enumerate(spread):
        if len(by_c) < 2:
            continue
        p = analytics.participation_coefficient(by_c)
        share = sorted(by_c.items(), key=lambda kv: -kv[1])
        weight = sum(by_c.values())
        brokers.append(
            {
                "node": nodes[i].id,
                "label": nodes[i].label,
                "score": round(p * influence[i], 4),
                "participation": round(p, 3),
                "communities": [c for c, _ in share],
                "reason": (
                    f"ties into {len(by_c)} communities ("
                    + ", ".join(f"{community_names[c]} {w / weight:.0%}" for c, w in share[:3])
                    + f"); participation {p:.2f} × influence {influence[i]:.3f}"
                ),
            }
        )
    brokers.sort(key=lambda b: (-float(b["score"]), str(b["node"])))

    order = sorted(range(len(nodes)), key=lambda i: (-influence[i], nodes[i].id))
    rank = {i: r + 1 for r, i in enumerate(order)}
    n = len(nodes)
    top_influencers = [
        {
            "node": nodes[i].id,
            "label": nodes[i].label,
            "score": round(influence[i], 4),
            "pagerank": round(result.pagerank[i], 6),
            "reach": result.reach[i],
            "community": membership[i],
            "reason": (
                f"PageRank {result.pagerank[i]:.4f} (×{result.pagerank[i] * n:.1f} the average), "
                f"talks with {result.reach[i]} distinct node(s); {INFLUENCE_RULE}"
            ),
        }
        for i in order
        if nodes[i].kind != "account"
    ][:top]

    roles = compute_roles(session, graph, influence, membership, community_names, top=top)
    assert graph.as_of is not None
    strong_count = sum(e.strong for e in graph.edges)
    return {
        "as_of": graph.as_of.isoformat(),
        "rules": {"tie": TIE_RULE, "influence": INFLUENCE_RULE, "communities": analytics.ALGORITHM},
        "summary": {
            "nodes": n,
            "edges": len(graph.edges),
            "people": sum(1 for x in nodes if x.kind != "account"),
            "accounts": sum(1 for x in nodes if x.kind == "account"),
            "strong_ties": strong_count,
            "weak_ties": len(graph.edges) - strong_count,
            "communities": len(result.sizes),
        },
        "nodes": [
            {
                "id": x.id,
                "kind": x.kind,
                "label": x.label,
                "person_id": x.person_id,
                "community": membership[i],
                "influence": round(influence[i], 4),
                "influence_rank": rank[i],
                "pagerank": round(result.pagerank[i], 6),
                "reach": result.reach[i],
            }
            for i, x in enumerate(nodes)
        ],
        "edges": [
            {
                "source": nodes[e.source].id,
                "target": nodes[e.target].id,
                "weight": round(e.weight, 4),
                "tie": "strong" if e.strong else "weak",
                "replies": e.out_replies + e.in_replies,
                "mentions": e.out_mentions + e.in_mentions,
                "source_to_target": e.outgoing,
                "target_to_source": e.incoming,
                "reciprocity": round(e.reciprocity, 3),
                "first_at": e.first_at.isoformat() if e.first_at else None,
                "last_at": e.last_at.isoformat() if e.last_at else None,
                "reason": e.reason,
            }
            for e in graph.edges
        ],
        "communities": communities,
        "modularity": round(result.modularity, 6),
        "top_influencers": top_influencers,
        "brokers": brokers[:top],
        "advocates": roles.advocates,
        "detractors": roles.detractors,
        "peer_helpers": roles.peer_helpers,
        "knowledge_flows": roles.knowledge_flows,
        "analysis": roles.analysis,
        "seconds": {
            "load": round(loaded - started, 3),
            "analytics": round(analysed - loaded, 3),
            "roles": round(time.perf_counter() - analysed, 3),
        },
    }


def influence_for(session: Session, person_ids: Sequence[int]) -> dict[int, float]:
    """Influence score (0..1) of these people in the current graph (absent: not in it)."""
    graph = load_graph(session)
    if not graph.edges:
        return {}
    result = _analysed(graph)
    wanted = set(person_ids)
    return {
        node.person_id: round(result.influence[i], 4)
        for i, node in enumerate(graph.nodes)
        if node.person_id is not None and node.person_id in wanted
    }


def ties_for_person(session: Session, data: PersonData) -> list[dict[str, Any]]:
    """Export hook (`rapport.relationships.hooks`): the person's ties in the
    conversation graph, both ways, with whom and how often."""
    ids = list(data.identity_ids)
    if not ids:
        return []
    t = NetworkTie
    rows = list(
        session.execute(
            select(t).where(
                in_values(session, t.source_identity_id, ids)
                | in_values(session, t.target_identity_id, ids)
            )
        ).scalars()
    )
    others = {r.source_identity_id for r in rows} | {r.target_identity_id for r in rows}
    names = {
        k: f"{i.channel}:{i.handle}" for k, i in identities_by_ids(session, sorted(others)).items()
    }
    mine = set(ids)
    out = []
    for r in sorted(rows, key=lambda r: (r.source_identity_id, r.target_identity_id)):
        outgoing = r.source_identity_id in mine
        own, other = (
            (r.source_identity_id, r.target_identity_id)
            if outgoing
            else (r.target_identity_id, r.source_identity_id)
        )
        out.append(
            {
                "direction": "from" if outgoing else "to",
                "identity": names.get(own),
                "other": names.get(other),
                "replies": r.replies,
                "mentions": r.mentions,
                "first_at": r.first_at.isoformat(),
                "last_at": r.last_at.isoformat(),
            }
        )
    return out
