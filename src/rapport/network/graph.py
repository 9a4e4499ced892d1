"""The conversation graph as people see it: stored ties mapped onto people
(through `rapport.relationships.queries.people_for_identities`) and our
accounts, weighted, and classified strong or weak.

Tie weight, per pair of nodes (both directions together):

    frequency  = replies + 0.5 × mentions
    reciprocity = min(A→B, B→A) / max(A→B, B→A)      (interactions each way)
    recency    = 0.5 ^ (days since the last interaction / 30)
    weight     = frequency × (1 + reciprocity) × recency

"Days since" counts back from the graph's newest interaction (`as_of`), so
an imported history is judged as of its own end, not as of today.

Tie strength: **strong** when the tie is reciprocal (both sides addressed
each other), has at least 3 interactions, and was active within 90 days of
`as_of`; otherwise **weak** (the reason names the missing condition).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rapport.conversations import queries as conversations
from rapport.network.models import NetworkTie
from rapport.relationships.queries import people_for_identities

MENTION_WEIGHT = 0.5
HALF_LIFE_DAYS = 30.0
STRONG_MIN_INTERACTIONS = 3
STRONG_MAX_IDLE_DAYS = 90.0
_CHUNK = 10_000


@dataclass
class Node:
    id: str
    kind: str  # "person" | "account" | "identity"
    label: str
    identity_ids: list[int] = field(default_factory=list)
    handles: list[str] = field(default_factory=list)
    person_id: int | None = None


@dataclass
class Edge:
    source: int  # node index
    target: int
    out_replies: int = 0  # source → target
    out_mentions: int = 0
    in_replies: int = 0  # target → source
    in_mentions: int = 0
    first_at: datetime | None = None
    last_at: datetime | None = None
    weight: float = 0.0
    reciprocity: float = 0.0
    idle_days: float = 0.0
    strong: bool = False
    reason: str = ""

    @property
    def outgoing(self) -> int:
        return self.out_replies + self.out_mentions

    @property
    def incoming(self) -> int:
        return self.in_replies + self.in_mentions

    @property
    def interactions(self) -> int:
        return self.outgoing + self.incoming


@dataclass
class ConversationGraph:
    nodes: list[Node]
    edges: list[Edge]
    #: identity id → node index
    node_of_identity: dict[int, int]
    #: Directed attention (from node, to node) → replies + ½ mentions, recency-weighted.
    directed: dict[tuple[int, int], float]
    as_of: datetime | None


def _chunks(items: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _recency(idle_days: float) -> float:
    return float(0.5 ** (max(idle_days, 0.0) / HALF_LIFE_DAYS))


def classify(edge: Edge, as_of: datetime) -> None:
    """Weight the tie and call it strong or weak, with the rule that decided."""
    assert edge.last_at is not None
    replies = edge.out_replies + edge.in_replies
    mentions = edge.out_mentions + edge.in_mentions
    frequency = replies + MENTION_WEIGHT * mentions
    high, low = max(edge.outgoing, edge.incoming), min(edge.outgoing, edge.incoming)
    edge.reciprocity = low / high if high else 0.0
    edge.idle_days = (as_of - edge.last_at).total_seconds() / 86400
    recency = _recency(edge.idle_days)
    edge.weight = frequency * (1 + edge.reciprocity) * recency
    missing = []
    if low == 0:
        missing.append("one-way (only one side addressed the other)")
    if edge.interactions < STRONG_MIN_INTERACTIONS:
        missing.append(f"fewer than {STRONG_MIN_INTERACTIONS} interactions")
    if edge.idle_days > STRONG_MAX_IDLE_DAYS:
        missing.append(f"idle for more than {STRONG_MAX_IDLE_DAYS:.0f} days")
    edge.strong = not missing
    verdict = (
        f"strong: reciprocal, ≥ {STRONG_MIN_INTERACTIONS} interactions, "
        f"active within {STRONG_MAX_IDLE_DAYS:.0f} days"
        if edge.strong
        else "weak: " + ", ".join(missing)
    )
    edge.reason = (
        f"{replies} repl{'y' if replies == 1 else 'ies'} + {mentions} mention(s); "
        f"{edge.outgoing} one way, {edge.incoming} the other (reciprocity {edge.reciprocity:.2f}); "
        f"last {edge.idle_days:.1f} days before {as_of.date().isoformat()} "
        f"(recency {recency:.2f}); weight = {frequency:g} × (1 + {edge.reciprocity:.2f}) × "
        f"{recency:.2f} = {edge.weight:.2f}; {verdict}"
    )


def load_graph(session: Session) -> ConversationGraph:
    """Read the ties and map them onto people and accounts."""
    t = NetworkTie
    ties = list(
        session.execute(
            select(
                t.source_identity_id,
                t.target_identity_id,
                t.replies,
                t.mentions,
                t.first_at,
                t.last_at,
            ).where((t.replies + t.mentions) > 0)
        )
    )
    as_of = session.execute(select(func.max(t.last_at))).scalar_one_or_none()
    identity_ids = sorted({row[0] for row in ties} | {row[1] for row in ties})
    identities = {}
    people: dict[int, int] = {}
    for part in _chunks(identity_ids):
        identities.update(conversations.identities_by_ids(session, part))
        people.update(people_for_identities(session, list(part)))
    nodes: list[Node] = []
    index: dict[str, int] = {}
    node_of_identity: dict[int, int] = {}
    for ident_id in identity_ids:
        ident = identities[ident_id]
        handle = f"{ident.channel}:{ident.handle}"
        if ident.is_account:
            key, kind, person = f"account:{handle}", "account", None
        elif ident_id in people:
            person = people[ident_id]
            key, kind = f"person:{person}", "person"
        else:
            key, kind, person = f"identity:{ident_id}", "identity", None
        at = index.get(key)
        if at is None:
            at = index[key] = len(nodes)
            nodes.append(Node(id=key, kind=kind, label=handle, person_id=person))
        node = nodes[at]
        node.identity_ids.append(ident_id)
        node.handles.append(handle)
        node_of_identity[ident_id] = at
    for node in nodes:
        node.label = ", ".join(sorted(node.handles))
    pairs: dict[tuple[int, int], Edge] = {}
    directed: dict[tuple[int, int], float] = {}
    for src_ident, dst_ident, replies, mentions, first_at, last_at in ties:
        u, v = node_of_identity[src_ident], node_of_identity[dst_ident]
        if u == v:  # two identities of one person talking to each other
            continue
        pair = (u, v) if u < v else (v, u)
        edge = pairs.get(pair)
        if edge is None:
            edge = pairs[pair] = Edge(source=pair[0], target=pair[1])
        if u == pair[0]:
            edge.out_replies += replies
            edge.out_mentions += mentions
        else:
            edge.in_replies += replies
            edge.in_mentions += mentions
        edge.first_at = first_at if edge.first_at is None else min(edge.first_at, first_at)
        edge.last_at = last_at if edge.last_at is None else max(edge.last_at, last_at)
        if as_of is not None:
            idle = (as_of - last_at).total_seconds() / 86400
            directed[(u, v)] = directed.get((u, v), 0.0) + (
                replies + MENTION_WEIGHT * mentions
            ) * _recency(idle)
    edges = list(pairs.values())
    if as_of is not None:
        for edge in edges:
            classify(edge, as_of)
    return ConversationGraph(nodes, edges, node_of_identity, directed, as_of)
