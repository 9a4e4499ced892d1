"""Everything an import leaves in a database, in a form comparable across
databases (ids differ between two imports; what they hold must not)."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from sqlalchemy import select

from rapport.analysis.models import MessageAnalysis
from rapport.conversations.models import (
    Account,
    Channel,
    Identity,
    ImportBatch,
    Message,
    MessageMention,
    PendingReference,
    QuarantinedRow,
    Thread,
)
from rapport.network.models import NetworkInteraction, NetworkTie
from rapport.relationships.models import Person, PersonIdentity
from rapport.reports.summary import compute_report
from rapport.storage.engine import session_scope


def snapshot(url: str | None = None) -> dict[str, Any]:
    with session_scope(url=url) as s:
        channels = dict(s.execute(select(Channel.id, Channel.name)).all())
        idents = {
            i.id: (channels[i.channel_id], i.handle_key, i.handle, i.display_name)
            for i in s.execute(select(Identity)).scalars()
        }
        messages = {}
        threads: dict[int, set[tuple[str, str]]] = defaultdict(set)
        for m in s.execute(select(Message)).scalars():
            key = (channels[m.channel_id], m.external_id)
            messages[key] = (
                idents[m.author_identity_id][1] if m.author_identity_id else None,
                m.direction,
                m.created_at.isoformat(),
                m.text,
                m.raw,
                m.parent_external_id,
                json.dumps(m.meta or {}, sort_keys=True),
            )
            threads[m.thread_id].add(key)
        mid_key = {
            mid: (channels[cid], ext)
            for mid, cid, ext in s.execute(
                select(Message.id, Message.channel_id, Message.external_id)
            )
        }
        thread_rows = {t.id: t for t in s.execute(select(Thread)).scalars()}
        thread_stats = {
            frozenset(members): (
                thread_rows[tid].message_count,
                thread_rows[tid].first_message_at.isoformat(),
                thread_rows[tid].last_message_at.isoformat(),
            )
            for tid, members in threads.items()
        }
        people: dict[int, set[Any]] = defaultdict(set)
        for iid, pid in s.execute(select(PersonIdentity.identity_id, PersonIdentity.person_id)):
            people[pid].add(idents[iid])
        batches = sorted(
            (b.source, b.format, b.status, b.read, b.inserted, b.duplicates, b.quarantined)
            for b in s.execute(select(ImportBatch)).scalars()
        )
        return {
            "messages": messages,
            "threads": thread_stats,
            "empty_threads": len(thread_rows) - len(threads),
            "identities": set(idents.values()),
            "accounts": {idents[a] for a in s.execute(select(Account.identity_id)).scalars()},
            "people": {frozenset(v) for v in people.values()},
            "person_rows": len(s.execute(select(Person.id)).all()),
            "mentions": {
                (mid_key[mid], h)
                for mid, h in s.execute(
                    select(MessageMention.message_id, MessageMention.handle_key)
                )
            },
            "pending": {
                (mid_key[src], target)
                for src, target in s.execute(
                    select(PendingReference.source_message_id, PendingReference.target_external_id)
                )
            },
            "quarantine": {
                (q.source, q.line, q.field, q.reason, q.raw, q.raw_bytes)
                for q in s.execute(select(QuarantinedRow)).scalars()
            },
            "batches": batches,
            # the network domain's ingest hook: interactions and ties between people
            "interactions": {
                (
                    mid_key[i.message_id],
                    idents[i.source_identity_id],
                    idents[i.target_identity_id],
                    i.kind,
                    i.at.isoformat(),
                    mid_key.get(i.parent_message_id) if i.parent_message_id else None,
                )
                for i in s.execute(select(NetworkInteraction)).scalars()
            },
            "ties": {
                (
                    idents[t.source_identity_id],
                    idents[t.target_identity_id],
                    t.replies,
                    t.mentions,
                    t.first_at.isoformat(),
                    t.last_at.isoformat(),
                )
                for t in s.execute(select(NetworkTie)).scalars()
            },
            # the analysis domain's ingest hook: every stage's value and evidence
            "analysis": {
                mid_key[a.message_id]: (
                    a.tier,
                    a.model_version,
                    a.language,
                    a.sentiment,
                    a.sentiment_score,
                    a.intent,
                    a.urgency,
                    json.dumps(a.topics),
                    json.dumps(a.evidence, sort_keys=True),
                )
                for a in s.execute(select(MessageAnalysis)).scalars()
            },
            "report": compute_report(s).model_dump(mode="json"),
        }


def assert_same_state(actual: dict[str, Any], expected: dict[str, Any]) -> None:
    for key in expected:
        if actual[key] != expected[key]:
            a, e = actual[key], expected[key]
            if isinstance(a, dict) and isinstance(e, dict):
                diff = {k for k in set(a) ^ set(e)} | {k for k in set(a) & set(e) if a[k] != e[k]}
                raise AssertionError(f"{key} differ, e.g. {sorted(map(str, diff))[:5]}")
            if isinstance(a, set) and isinstance(e, set):
                raise AssertionError(
                    f"{key} differ: only actual {sorted(map(str, a - e))[:3]}, "
                    f"only expected {sorted(map(str, e - a))[:3]}"
                )
            raise AssertionError(f"{key} differ: {a!r} != {e!r}")
