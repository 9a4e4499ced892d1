"""Who plays which part in the graph: advocates and detractors, peer helpers,
and knowledge flows between communities. Every entry carries its reason.

- **Advocates / detractors**: people whose messages to our accounts (replies
  to them, mentions of them) have a mean stored sentiment ≥ +0.2 (advocates)
  or ≤ −0.2 (detractors); ranked by advocacy = mean sentiment × influence.
  Sentiment comes only from `rapport.analysis.queries.analyses_for`: without
  stored analysis both lists are empty and `analysis.note` says why.
- **Peer helpers**: people (not our accounts) whose reply to another
  person's question was followed by thanks, a turn to positive sentiment,
  or no complaint from the asker (`rapport.network.resolution`). Score =
  thanked + turned positive + ½ × no complaint.
- **Knowledge flows**: every reply that answers a person's question (the
  question by `resolution.question_cue`, the reply an answer by
  `resolution.not_an_answer`: not only questions back, pleasantries or a
  hand-off to DMs; between two people not a reply to a question about the
  replier themself, a "me too" or a complaint; our accounts' clarifying
  questions are not counted),
  aggregated from the answerer's community to the asker's, with the topics
  (stored analysis) and keywords (always) of the questions.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rapport.analysis.queries import MessageAnalysis, analyses_for
from rapport.conversations import queries as conversations
from rapport.conversations.schemas import MessagePublic
from rapport.network import resolution
from rapport.network.graph import ConversationGraph
from rapport.network.models import REPLY, NetworkInteraction

ADVOCATE_MIN = 0.2
DETRACTOR_MAX = -0.2
_CHUNK = 5_000
_WORD = re.compile(r"[a-z][a-z']{2,}")
_MENTION = re.compile(r"@\w+|https?://\S+")
_STOP_TEXT = """the and for you your are was were this that with have has had not but can get
got just what when where why how who which will would could should there their they them then
than from into out about been being did does doing done its it's i'm i've i'll im ive dont
don't can't cant won't wont didn't isn't any all some more most very too also only our ours
hello hi hey please thanks thank help need still now today yet again one two back know like
want make made going gone let lets let's see sure way well much many here able amp http https
com www dm via"""
STOPWORDS = frozenset(_STOP_TEXT.split())


def _chunks(items: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def load_analyses(session: Session, message_ids: Sequence[int]) -> dict[int, MessageAnalysis]:
    found: dict[int, MessageAnalysis] = {}
    ids = sorted(set(message_ids))
    for part in _chunks(ids):
        found.update(analyses_for(session, list(part)))
    return found


def load_messages(session: Session, message_ids: Sequence[int]) -> dict[int, MessagePublic]:
    found: dict[int, MessagePublic] = {}
    ids = sorted(set(message_ids))
    for part in _chunks(ids):
        found.update((m.id, m) for m in conversations.messages_by_ids(session, list(part)))
    return found


def keywords(texts: Sequence[str], limit: int = 5) -> list[str]:
    counts: Counter[str] = Counter()
    for text in texts:
        words = set(_WORD.findall(_MENTION.sub(" ", text).casefold()))
        counts.update(w for w in words if w not in STOPWORDS)
    return [w for w, _ in counts.most_common(limit)]


@dataclass
class Roles:
    advocates: list[dict[str, Any]]
    detractors: list[dict[str, Any]]
    peer_helpers: list[dict[str, Any]]
    knowledge_flows: list[dict[str, Any]]
    analysis: dict[str, Any]


@dataclass
class _Helper:
    answers: int = 0
    thanked: int = 0
    turned_positive: int = 0
    no_complaint: int = 0
    askers: set[str] = field(default_factory=set)
    evidence: list[str] = field(default_factory=list)
    methods: Counter[str] = field(default_factory=Counter)
    answer_ids: list[int] = field(default_factory=list)


def messages_to_accounts(
    session: Session, graph: ConversationGraph
) -> dict[int, list[tuple[int, int]]]:
    """Per person node: (message id, account node) of each message it addressed
    to one of our accounts (a reply to it or a mention of it)."""
    accounts = [i for i, n in graph.node_of_identity.items() if graph.nodes[n].kind == "account"]
    i = NetworkInteraction
    rows: list[tuple[int, int, int]] = []
    for part in _chunks(sorted(accounts)):
        rows.extend(
            session.execute(
                select(i.message_id, i.source_identity_id, i.target_identity_id).where(
                    i.target_identity_id.in_(list(part))
                )
            ).all()
        )
    per_node: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for mid, src, dst in rows:
        node = graph.node_of_identity.get(src)
        if node is None or graph.nodes[node].kind == "account":
            continue
        per_node[node].append((mid, graph.node_of_identity[dst]))
    return dict(per_node)


def rank_advocates(
    graph: ConversationGraph,
    per_node: Mapping[int, Sequence[tuple[int, int]]],
    analyses: Mapping[int, MessageAnalysis],
    influence: Sequence[float],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Advocates and detractors from the analysed messages people sent our accounts."""
    advocates: list[dict[str, Any]] = []
    detractors: list[dict[str, Any]] = []
    for node, messages in per_node.items():
        scored = [
            (mid, acc, analyses[mid]) for mid, acc in dict(messages).items() if mid in analyses
        ]
        if not scored:
            continue
        mean = sum(a.sentiment_score for _, _, a in scored) / len(scored)
        if DETRACTOR_MAX < mean < ADVOCATE_MIN:
            continue
        words: Counter[str] = Counter()
        for _, _, a in scored:
            words.update(a.evidence.get("sentiment", []))
        brands = sorted({graph.nodes[acc].label for _, acc, _ in scored})
        advocacy = mean * influence[node]
        entry = {
            "node": graph.nodes[node].id,
            "label": graph.nodes[node].label,
            "score": round(advocacy, 4),
            "mean_sentiment": round(mean, 3),
            "messages": len(scored),
            "influence": round(influence[node], 4),
            "brands": brands,
            "message_ids": sorted(mid for mid, _, _ in scored)[:20],
            "reason": (
                f"{len(scored)} analysed message(s) to {', '.join(brands[:3])}"
                f"{'…' if len(brands) > 3 else ''}: mean sentiment {mean:+.2f}"
                + (f" (evidence: {', '.join(w for w, _ in words.most_common(4))})" if words else "")
                + f"; influence {influence[node]:.3f} → advocacy {mean:+.2f} × "
                f"{influence[node]:.3f} = {advocacy:+.4f}"
            ),
        }
        (advocates if mean >= ADVOCATE_MIN else detractors).append(entry)
    advocates.sort(key=lambda e: (-e["score"], e["node"]))
    detractors.sort(key=lambda e: (e["score"], e["node"]))
    return advocates, detractors


def _sentiment_roles(
    session: Session, graph: ConversationGraph, influence: Sequence[float]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
    per_node = messages_to_accounts(session, graph)
    message_ids = sorted({mid for pairs in per_node.values() for mid, _ in pairs})
    analyses = load_analyses(session, message_ids)
    advocates, detractors = rank_advocates(graph, per_node, analyses, influence)
    rows = message_ids
    analysed = len(analyses)
    status = {
        "messages_to_our_accounts": len(rows),
        "analysed": analysed,
        "available": analysed > 0,
        "note": (
            f"sentiment of {analysed} of {len(rows)} messages to our accounts "
            "comes from the stored analysis"
            if analysed
            else "no stored analysis for messages to our accounts: advocates and detractors "
            "need sentiment, so both lists are empty (analyse the messages first); peer "
            "helpers and knowledge flows fall back to lexical rules (a `?` or question opening "
            "for questions, 'thanks'/'that worked'... for thanks)"
        ),
    }
    return advocates, detractors, status


def _replies(session: Session) -> list[tuple[int, int, int, int]]:
    """(reply message, replier identity, asker identity, question message)."""
    i = NetworkInteraction
    return [
        (m, s, t, p)
        for m, s, t, p in session.execute(
            select(i.message_id, i.source_identity_id, i.target_identity_id, i.parent_message_id)
            .where(i.kind == REPLY, i.parent_message_id.is_not(None))
            .order_by(i.message_id)
        ).all()
        if p is not None
    ]


def _thread_message(
    m: MessagePublic, is_account: bool, parent_id: int | None
) -> resolution.ThreadMessage:
    return resolution.ThreadMessage(
        id=m.id,
        author=m.author_identity_id,
        is_account=is_account,
        text=m.text,
        created_at=m.created_at,
        parent_id=parent_id,
    )


def compute_roles(
    session: Session,
    graph: ConversationGraph,
    influence: Sequence[float],
    membership: Sequence[int],
    community_names: Mapping[int, str],
    *,
    top: int = 20,
) -> Roles:
    advocates, detractors, status = _sentiment_roles(session, graph, influence)
    replies = [
        r
        for r in _replies(session)
        if r[1] in graph.node_of_identity
        and r[2] in graph.node_of_identity
        and graph.node_of_identity[r[1]] != graph.node_of_identity[r[2]]
    ]
    messages = load_messages(session, [r[0] for r in replies] + [r[3] for r in replies])
    analyses = load_analyses(session, list(messages))
    is_account = {n: graph.nodes[n].kind == "account" for n in range(len(graph.nodes))}

    answers: list[tuple[int, int, int, int]] = []  # (reply, question, answerer node, asker node)
    for reply_id, src, dst, question_id in replies:
        q, r = messages.get(question_id), messages.get(reply_id)
        if q is None or r is None:
            continue
        asker = graph.node_of_identity[dst]
        if is_account[asker]:  # our agents' clarifying questions are not customers' needs
            continue
        if resolution.question_cue(q.text, analyses.get(q.id)) is None:
            continue
        if resolution.is_only_questions(r.text):
            continue
        by_peer = not is_account[graph.node_of_identity[src]]
        if resolution.not_an_answer(
            r.text, question=q.text, peer=by_peer, analysis=analyses.get(r.id)
        ):
            continue
        answers.append((reply_id, question_id, graph.node_of_identity[src], asker))

    # Peer helpers: answers between two people, judged on their threads.
    peer = [a for a in answers if not is_account[a[2]] and not is_account[a[3]]]
    thread_of = {messages[a[0]].id: messages[a[0]].thread_id for a in peer}
    threads: dict[int, list[MessagePublic]] = {}
    for thread in conversations.iter_threads(session, sorted(set(thread_of.values()))):
        threads[thread[0].thread_id] = thread
    thread_analyses = load_analyses(session, [m.id for thread in threads.values() for m in thread])
    helpers: dict[int, _Helper] = defaultdict(_Helper)
    for reply_id, question_id, helper, asker in peer:
        thread = threads.get(thread_of[reply_id], [])
        as_rules = [
            _thread_message(
                m,
                m.author_identity_id in graph.node_of_identity
                and is_account[graph.node_of_identity[m.author_identity_id]],
                None,
            )
            for m in thread
        ]
        by_id = {m.id: m for m in as_rules}
        if question_id not in by_id or reply_id not in by_id:
            continue
        verdict = resolution.judge_answer(
            as_rules, by_id[question_id], by_id[reply_id], thread_analyses
        )
        h = helpers[helper]
        h.answers += 1
        h.askers.add(graph.nodes[asker].id)
        if not verdict.resolved:
            continue
        h.methods[verdict.method] += 1
        h.answer_ids.append(reply_id)
        if verdict.outcome == "thanked":
            h.thanked += 1
            h.evidence.append(f"thanked ({verdict.method}: {verdict.evidence!r})")
        elif verdict.outcome == "turned_positive":
            h.turned_positive += 1
            h.evidence.append(f"asker turned positive ({verdict.evidence})")
        else:
            h.no_complaint += 1
    peer_helpers: list[dict[str, Any]] = []
    for node, h in helpers.items():
        score = h.thanked + h.turned_positive + 0.5 * h.no_complaint
        if score <= 0:
            continue
        parts = []
        if h.thanked:
            parts.append(f"thanked {h.thanked}×")
        if h.turned_positive:
            parts.append(f"asker turned positive {h.turned_positive}×")
        if h.no_complaint:
            parts.append(f"{h.no_complaint} asker(s) did not come back to complain")
        peer_helpers.append(
            {
                "node": graph.nodes[node].id,
                "label": graph.nodes[node].label,
                "score": score,
                "answers": h.answers,
                "thanked": h.thanked,
                "turned_positive": h.turned_positive,
                "no_complaint": h.no_complaint,
                "people_helped": len(h.askers),
                "answer_message_ids": h.answer_ids[:20],
                "community": membership[node],
                "reason": (
                    f"answered {h.answers} question(s) from {len(h.askers)} other "
                    f"{'person' if len(h.askers) == 1 else 'people'}: {', '.join(parts)}"
                    + (f"; {h.evidence[0]}" if h.evidence else "")
                    + f"; score = thanked + turned positive + ½ × no complaint = {score:g}"
                ),
            }
        )
    peer_helpers.sort(key=lambda e: (-float(e["score"]), -int(e["answers"]), str(e["node"])))

    # Knowledge flows: answerer's community → asker's community.
    flows: dict[tuple[int, int], dict[str, Any]] = {}
    for _reply, question_id, answerer, asker in answers:
        key = (membership[answerer], membership[asker])
        flow = flows.get(key)
        if flow is None:
            flow = flows[key] = {
                "answers": 0,
                "by_agents": 0,
                "by_peers": 0,
                "topics": Counter(),
                "questions": [],
                "pairs": Counter(),
            }
        flow["answers"] += 1
        flow["by_agents" if is_account[answerer] else "by_peers"] += 1
        a = analyses.get(question_id)
        if a is not None:
            flow["topics"].update(a.topics)
        flow["questions"].append(messages[question_id].text)
        flow["pairs"][(answerer, asker)] += 1
    knowledge_flows = []
    for (src_c, dst_c), flow in sorted(flows.items(), key=lambda kv: -kv[1]["answers"]):
        topics = [t for t, _ in flow["topics"].most_common(5)]
        words = keywords(flow["questions"])
        pairs = [
            {"from": graph.nodes[u].id, "to": graph.nodes[v].id, "answers": n}
            for (u, v), n in flow["pairs"].most_common(5)
        ]
        about = (
            f"topics {', '.join(topics)}" if topics else "topics unknown (no stored analysis)"
        ) + (f"; keywords {', '.join(words)}" if words else "")
        knowledge_flows.append(
            {
                "from_community": src_c,
                "to_community": dst_c,
                "answers": flow["answers"],
                "by_agents": flow["by_agents"],
                "by_peers": flow["by_peers"],
                "topics": topics,
                "keywords": words,
                "top_pairs": pairs,
                "reason": (
                    f"{community_names.get(src_c, src_c)} answered {flow['answers']} question(s) "
                    f"from {community_names.get(dst_c, dst_c)} ({flow['by_agents']} by our "
                    f"accounts, {flow['by_peers']} by peers); {about}"
                ),
            }
        )
    status["questions_answered"] = len(answers)
    return Roles(
        advocates[:top],
        detractors[:top],
        peer_helpers[:top],
        knowledge_flows[: max(top, 20)],
        status,
    )
