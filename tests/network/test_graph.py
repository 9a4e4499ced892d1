"""The conversation graph grows incrementally on ingest and reads as people see it."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import aliased

from rapport.conversations import hooks
from rapport.conversations.models import Identity
from rapport.conversations.service import do_ingest_files
from rapport.demo import demo_path
from rapport.network import service
from rapport.network.models import NetworkTie
from rapport.storage.engine import session_scope
from tests.network.conftest import demo_rows, expected_interactions, write_csv


def _ties_by_handle() -> dict[tuple[str, str], tuple[int, int, str, str]]:
    src, dst = aliased(Identity), aliased(Identity)
    with session_scope() as session:
        rows = session.execute(
            select(
                src.handle,
                dst.handle,
                NetworkTie.replies,
                NetworkTie.mentions,
                NetworkTie.first_at,
                NetworkTie.last_at,
            )
            .join(src, src.id == NetworkTie.source_identity_id)
            .join(dst, dst.id == NetworkTie.target_identity_id)
        ).all()
    return {(a, b): (r, m, f.isoformat(), la.isoformat()) for a, b, r, m, f, la in rows}


def test_ingest_counts_replies_and_mentions_by_the_documented_rules(db: Any) -> None:
    do_ingest_files([demo_path()], fmt="twcs")
    ties = _ties_by_handle()
    replies, mentions = expected_interactions()
    got_replies = Counter({k: v[0] for k, v in ties.items() if v[0]})
    got_mentions = Counter({k: v[1] for k, v in ties.items() if v[1]})
    assert got_replies == replies
    assert got_mentions == mentions
    assert sum(replies.values()) > 3000


def test_out_of_order_batches_give_the_same_graph_as_one_import(db: Any, tmp_path: Path) -> None:
    header, rows = demo_rows()
    rows = list(reversed(rows))  # replies before the messages they answer
    parts = [rows[:1700], rows[1700:3300], rows[3300:]]
    for i, part in enumerate(parts):
        do_ingest_files([write_csv(tmp_path / f"part{i}.csv", header, part)], fmt="twcs")
    incremental = _ties_by_handle()
    replies, mentions = expected_interactions()
    assert Counter({k: v[0] for k, v in incremental.items() if v[0]}) == replies
    # Mentions first counted while the reply was unknown were upgraded, not doubled.
    assert Counter({k: v[1] for k, v in incremental.items() if v[1]}) == mentions
    with session_scope(write=True) as session:
        rebuilt = service.do_rebuild_graph(session)
    assert rebuilt.messages == 5000
    assert _ties_by_handle() == incremental


def test_reimporting_adds_nothing_to_the_graph(db: Any) -> None:
    do_ingest_files([demo_path()], fmt="twcs")
    before = _ties_by_handle()
    do_ingest_files([demo_path()], fmt="twcs")
    assert _ties_by_handle() == before


def test_messages_stored_without_the_hook_are_picked_up_by_a_rebuild(db: Any, cli: Any) -> None:
    hooks.remove_hook("network.ties")
    try:
        do_ingest_files([demo_path()], fmt="twcs")
    finally:
        from rapport import pipeline

        pipeline.install()
    assert _ties_by_handle() == {}
    result = cli("network", "rebuild", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json()["messages"] == 5000
    replies, _ = expected_interactions()
    assert Counter({k: v[0] for k, v in _ties_by_handle().items() if v[0]}) == replies
