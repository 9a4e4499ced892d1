"""Merge/unmerge round-trips, duplicate suggestions with reasons, export of
everything held, erasure that leaves nothing in the database files, roles
on sensitive commands, and the audit trail of each."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import String, Text, inspect, select
from sqlalchemy.types import JSON

from rapport.analysis.models import MessageAnalysis
from rapport.conversations.models import Identity, Message
from rapport.demo import demo_path
from rapport.network.models import NetworkInteraction
from rapport.relationships import hooks, queries
from rapport.relationships.hooks import PersonData
from rapport.reports.summary import compute_report
from rapport.storage.engine import get_engine, session_scope
from rapport.storage.vacuum import OLDER_TRANSACTIONS
from tests.conftest import Database
from tests.relationships.test_people import write_jsonl


def _pid(cli: Any, ref: str) -> int:
    return int(cli("people", "find", ref, "--json").json()["id"])


def _snapshot(cli: Any, pid: int) -> dict[str, Any]:
    doc = cli("people", "show", str(pid), "--timeline-limit", "0", "--json").json()
    doc["timeline"] = [e for e in doc["timeline"] if e["kind"] not in ("merge", "unmerge")]
    doc["timeline_total"] = len(doc["timeline"])
    return doc


def test_merge_then_unmerge_round_trips(demo_db: Database, cli: Any, tmp_path: Path) -> None:
    a, b = _pid(cli, "twitter:115712"), _pid(cli, "twitter:115713")
    cli("people", "role", "set", str(b), "--add", "advocate")
    cli("people", "role", "set", str(a), "--add", "customer")
    cli("consent", "set", str(a), "--channel", "twitter", "--allow")
    cli("consent", "set", str(b), "--channel", "twitter", "--deny")
    cli("consent", "set", str(b), "--channel", "sms", "--allow", "--language", "de")
    sales = tmp_path / "s.csv"
    sales.write_text("identity,amount,currency,date,product\ntwitter:115713,5,USD,2017-11-01,Pen\n")
    cli("sales", "import", str(sales))
    before_a, before_b = _snapshot(cli, a), _snapshot(cli, b)

    merged = cli("people", "merge", str(a), str(b), "--json")
    assert merged.exit_code == 0, merged.stderr
    assert merged.json()["identities_moved"] == ["twitter:115713"]
    assert merged.json()["roles_added"] == ["advocate"] and merged.json()["sales_moved"] == 1
    both = _snapshot(cli, a)
    assert [i["ref"] for i in both["identities"]] == ["twitter:115712", "twitter:115713"]
    assert both["timeline_total"] == before_a["timeline_total"] + before_b["timeline_total"]
    assert both["attributes"]["message_count"] == (
        before_a["attributes"]["message_count"] + before_b["attributes"]["message_count"]
    )
    assert {c["channel"]: c["allowed"] for c in both["consent"]["channels"]} == {
        "twitter": False,  # a refusal on either side wins
        "sms": True,
    }
    assert both["merged_from"] == [b]
    assert _pid(cli, "twitter:115713") == a
    gone = cli("people", "show", str(b))
    assert gone.exit_code == 1 and f"merged into person {a}" in gone.stderr
    with session_scope() as session:  # the reply path follows the merge
        assert not queries.consent_decision(session, b, "twitter").allowed

    undone = cli("people", "unmerge", str(a), "--identity", "twitter:115713", "--json")
    assert undone.exit_code == 0, undone.stderr
    assert undone.json()["restored_person_id"] == b
    assert undone.json()["undid_merge_id"] == merged.json()["merge_id"]
    assert _snapshot(cli, a) == before_a
    assert _snapshot(cli, b) == before_b

    events = cli("audit", "--action", "people.*merge", "--json").json()["events"]
    assert [e["action"] for e in events] == ["people.unmerge", "people.merge"]
    assert events[1]["details"]["absorbed_person_id"] == b


def test_merge_refusals_and_splitting_an_original_identity(demo_db: Database, cli: Any) -> None:
    a = _pid(cli, "twitter:115712")
    same = cli("people", "merge", str(a), str(a))
    assert same.exit_code == 1 and f"cannot merge person {a} with itself" in same.stderr
    assert cli("people", "merge", str(a), "999999").exit_code == 1
    only = cli("people", "unmerge", str(a), "--identity", "twitter:115712")
    assert only.exit_code == 1 and "only identity" in only.stderr
    wrong = cli("people", "unmerge", str(a), "--identity", "twitter:115713")
    assert wrong.exit_code == 1 and "not to person" in wrong.stderr
    b, c = _pid(cli, "twitter:115713"), _pid(cli, "twitter:115714")
    cli("people", "merge", str(b), str(c))
    cli("people", "merge", str(a), str(b))  # nested: c inside b inside a
    assert len(cli("people", "show", str(a), "--json").json()["identities"]) == 3
    cli("consent", "set", str(a), "--channel", "email", "--deny")
    split = cli(
        "people", "unmerge", str(a), "--identity", "twitter:115712", "--only", "--json"
    ).json()
    new = split["restored_person_id"]
    assert new not in (a, b, c) and split["undid_merge_id"] is None
    assert _pid(cli, "twitter:115712") == new
    with session_scope() as session:  # a refusal follows every part of the person
        assert not queries.consent_decision(session, new, "email").allowed
    back = cli("people", "unmerge", str(a), "--identity", "twitter:115714", "--json").json()
    assert back["restored_person_id"] == b and back["identities_moved"] == [
        "twitter:115713",
        "twitter:115714",
    ]


def test_duplicates_are_suggested_with_score_and_reasons(
    demo_db: Database, cli: Any, tmp_path: Path
) -> None:
    rows = [
        {
            "id": "m1",
            "channel": "mastodon",
            "author": {"handle": "jane_roe", "name": "Jane Roe"},
            "created_at": "2017-11-01T10:00:00Z",
            "text": "@acme my order is late\n-Jane R.",
        },
        {
            "id": "m2",
            "channel": "mastodon",
            "author": "jane_roe",
            "created_at": "2017-11-02T10:00:00Z",
            "text": "still late -Jane R.",
        },
        {
            "id": "e1",
            "channel": "email",
            "author": "jane.roe@example.org",
            "created_at": "2017-11-03T10:00:00Z",
            "text": "Order 123 please -Jane R.",
        },
        {
            "id": "e2",
            "channel": "email",
            "author": "jane.roe@example.org",
            "created_at": "2017-11-04T10:00:00Z",
            "text": "Any news? -Jane R.",
        },
        {
            "id": "t1",
            "channel": "twitter",
            "author": "JaneRoe",
            "created_at": "2017-11-05T10:00:00Z",
            "text": "@acme hello",
        },
    ]
    cli("ingest", str(write_jsonl(tmp_path / "d.jsonl", rows)))
    cli("people", "contact", "mastodon:jane_roe", "--email", "JANE.ROE@example.org")
    mastodon, email, twitter = (
        _pid(cli, r) for r in ("mastodon:jane_roe", "email:jane.roe@example.org", "twitter:JaneRoe")
    )
    out = cli("people", "duplicates", "--json")
    assert out.exit_code == 0, out.stderr
    found = {tuple(s["people"]): s for s in out.json()["suggestions"]}
    pair = found[tuple(sorted((mastodon, email)))]
    assert pair["score"] >= 0.98
    assert "same email jane.roe@example.org" in pair["reasons"]
    assert any(r.startswith("shared signature 'Jane R.'") for r in pair["reasons"])
    names = found[tuple(sorted((mastodon, twitter)))]
    assert any(
        "similar names 'jane_roe' (mastodon) and 'JaneRoe' (twitter)" in r for r in names["reasons"]
    )
    assert 0.5 <= names["score"] < pair["score"]
    # Numeric TWCS handles never look alike.
    demo = {p for s in out.json()["suggestions"] for p in s["people"]} - {mastodon, email, twitter}
    assert not demo
    cli("people", "not-duplicate", str(mastodon), str(twitter))
    again = {
        tuple(s["people"]) for s in cli("people", "duplicates", "--json").json()["suggestions"]
    }
    assert tuple(sorted((mastodon, twitter))) not in again
    assert tuple(sorted((mastodon, email))) in again


def test_export_holds_everything_and_is_audited(
    demo_db: Database, cli: Any, tmp_path: Path
) -> None:
    pid = _pid(cli, "twitter:115712")
    cli("people", "contact", "twitter:115712", "--email", "jane.roe@example.org")
    cli("consent", "set", str(pid), "--channel", "twitter", "--deny")
    sales = tmp_path / "s.csv"
    sales.write_text(
        "identity,amount,currency,date,product\njane.roe@example.org,9,USD,2017-11-01,Pen\n"
    )
    cli("sales", "import", str(sales))
    seen: list[int] = []
    hooks.on_person_exported(
        "test.notes", lambda session, data: seen.append(data.person_id) or {"notes": 0}
    )
    try:
        out = cli("people", "export", str(pid), "--json")
    finally:
        hooks.remove_hook("test.notes")
    assert out.exit_code == 0, out.stderr
    doc = out.json()
    with demo_path().open(newline="", encoding="utf-8") as fh:
        own = [r for r in csv.DictReader(fh) if r["author_id"] == "115712"]
    assert sorted(m["summary"] for m in doc["messages"]) == sorted(r["text"] for r in own)
    assert all(m["raw"] and "115712" in m["raw"] for m in doc["messages"])
    assert doc["person"]["identities"][0]["emails"] == ["jane.roe@example.org"]
    assert doc["person"]["consent"]["channels"][0]["allowed"] is False
    assert doc["person"]["sales"][0]["product"] == "Pen"
    assert {e["action"] for e in doc["audit"]} >= {"consent.set", "people.contact"}
    assert doc["other_domains"]["test.notes"] == {"notes": 0} and seen == [pid]
    # Every domain holding a copy of personal data answers the export.
    assert set(doc["other_domains"]) == {
        "test.notes",
        "engagement",
        "knowledge.entries",
        "network.ties",
        "preferences.requests",
    }
    ties = doc["other_domains"]["network.ties"]
    assert "twitter:sprintcare" in {t["other"] for t in ties}
    assert {t["direction"] for t in ties} == {"from", "to"}
    assert all(t["identity"] == "twitter:115712" and t["replies"] + t["mentions"] for t in ties)
    assert isinstance(doc["analysis"], dict) and len(doc["replies_received"]) == 8
    event = cli("audit", "--action", "people.export", "--json").json()["events"][0]
    assert event["subject_id"] == str(pid) and event["details"]["messages"] == len(own)
    written = tmp_path / "export.json"
    assert cli("people", "export", str(pid), "-o", str(written)).exit_code == 0
    assert json.loads(written.read_text())["person"]["id"] == pid


def _database_files(database: Database) -> list[Path]:
    """Every file the database's data lives in (or skip when unreadable)."""
    engine = get_engine()
    if not database.is_postgresql:
        path = Path(engine.url.database or "")
        return [p for p in (path, Path(f"{path}-wal")) if p.exists()]
    dsn = database.url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as conn:
        data_dir = conn.execute("SHOW data_directory").fetchone()[0]  # type: ignore[index]
        rels = [
            r[0]
            for r in conn.execute(
                "SELECT pg_relation_filepath(c.oid) FROM pg_class c "
                "WHERE c.relkind IN ('r','i','t','m') AND pg_relation_filepath(c.oid) IS NOT NULL"
            )
        ]
    files: list[Path] = []
    for rel in rels:
        base = Path(data_dir) / rel
        files.extend(
            p
            for p in base.parent.glob(base.name + "*")
            if p.name.split(".")[0] == base.name
            or p.name.startswith(base.name + "_")
            or p.name.startswith(base.name + ".")
        )
    if not files or not all(p.exists() for p in files[:1]):
        pytest.skip("PostgreSQL data directory not readable here")
    try:
        files[0].read_bytes()
    except PermissionError:
        pytest.skip("PostgreSQL data files not readable by this user")
    return files


def _rows_containing(needles: list[str]) -> list[str]:
    """Every text/JSON cell in any table that holds one of ``needles``."""
    engine = get_engine()
    found = []
    with session_scope() as session:
        insp = inspect(engine)
        for table in insp.get_table_names():
            if table == "alembic_version":
                continue
            cols = [
                c["name"]
                for c in insp.get_columns(table)
                if isinstance(c["type"], String | Text | JSON)
            ]
            from sqlalchemy import column
            from sqlalchemy import table as table_

            t = table_(table, *[column(c) for c in cols])
            for row in session.execute(select(*[t.c[c] for c in cols])) if cols else []:
                for value in row:
                    text = json.dumps(value) if not isinstance(value, str) else value
                    found.extend(
                        f"{table}: {n}"
                        for n in needles
                        if value is not None and n.lower() in text.lower()
                    )
    return found


def test_erase_leaves_no_trace_in_the_database_files(
    demo_db: Database, cli: Any, tmp_path: Path
) -> None:
    handle = "115712"
    pid = _pid(cli, f"twitter:{handle}")
    marker = "ZEBRA-QUOKKA-7731 my account number is 99887766"
    cli(
        "ingest",
        str(
            write_jsonl(
                tmp_path / "x.jsonl",
                [
                    {
                        "id": "zq-1",
                        "channel": "twitter",
                        "author": handle,
                        "created_at": "2017-11-20T10:00:00Z",
                        "text": f"@sprintcare {marker}",
                        "home_address": "12 Quokka Lane",
                    },
                ],
            )
        ),
    )
    cli(
        "people",
        "contact",
        f"twitter:{handle}",
        "--email",
        "jane.quokka@example.org",
        "--phone",
        "+1 (555) 010-7788",
    )
    bad_sales = tmp_path / "s.csv"
    bad_sales.write_text(
        "identity,amount,currency,date,product\n"
        "jane.quokka@example.org,12,USD,2017-11-01,Pen\n"
        "jane.quokka@example.org,oops,USD,2017-11-01,Ink\n"
        "+1 555 010 7788,zz,USD,2017-11-01,Ink\n"
    )
    assert cli("sales", "import", str(bad_sales), "--json").json()["quarantined"] == 2
    with demo_path().open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    others = " ".join(r["text"] for r in rows if r["author_id"] != handle)
    needles = [
        r["text"]
        for r in rows
        if r["author_id"] == handle and len(r["text"]) >= 25 and r["text"] not in others
    ]
    needles += [
        marker,
        "12 Quokka Lane",
        "jane.quokka@example.org",
        "555) 010-7788",
        "+15550107788",
        f"@{handle}",
    ]
    assert len(needles) >= 8
    assert _rows_containing(needles)  # the test can fail: the data is there first
    with session_scope() as session:  # analysis on ingest copied words of the texts
        assert any(
            session.execute(
                select(MessageAnalysis.evidence)
                .join(Message, Message.id == MessageAnalysis.message_id)
                .join(Identity, Identity.id == Message.author_identity_id)
                .where(Identity.handle == handle)
            ).scalars()
        )
    with session_scope() as session:
        before = compute_report(session)
    erased: list[PersonData] = []
    hooks.on_person_erased("test.copy", lambda session, data: erased.append(data))
    try:
        out = cli("people", "erase", str(pid), "--yes", "--json")
    finally:
        hooks.remove_hook("test.copy")
    assert out.exit_code == 0, out.stderr
    summary = out.json()
    assert summary["messages_redacted"] == 11 and summary["vacuumed"] is True
    assert summary["quarantined_rows_removed"] == 2 and summary["related_messages_scrubbed"] >= 8
    assert erased[0].person_id == pid and len(erased[0].message_ids) == 11
    assert handle in erased[0].identifiers
    assert summary["hooks"] == [
        "analysis.evidence",
        "engagement",
        "knowledge.entries",
        "network.ties",
        "test.copy",
    ]
    with session_scope() as session:  # copies in other domains went with it
        own = erased[0].message_ids
        evidence = session.execute(
            select(MessageAnalysis.evidence).where(MessageAnalysis.message_id.in_(own))
        ).scalars()
        assert list(evidence) == [{}] * len(own)
        ties = session.execute(
            select(NetworkInteraction).where(
                NetworkInteraction.source_identity_id.in_(erased[0].identity_ids)
                | NetworkInteraction.target_identity_id.in_(erased[0].identity_ids)
            )
        ).all()
        assert ties == []

    assert _rows_containing(needles) == []
    steps = summary["vacuum"]
    for _ in range(5):  # other sessions on a shared server may hold old snapshots
        if not any(OLDER_TRANSACTIONS in step for step in steps):
            break
        steps = cli("db", "vacuum", "--json").json()["steps"]
    for path in _database_files(demo_db):
        data = path.read_bytes().lower()
        for needle in needles:
            assert needle.lower().encode() not in data, (
                f"{needle!r} still in {path}; vacuum: {steps}"
            )
        cleaned = data.replace(b"1157120", b"")
        at = cleaned.find(b"115712")
        if at >= 0 and demo_db.is_postgresql:
            dsn = demo_db.url.replace("postgresql+psycopg://", "postgresql://")
            with psycopg.connect(dsn) as conn:
                rel = conn.execute(
                    "SELECT relname FROM pg_class WHERE pg_relation_filenode(oid) = %s",
                    (int(path.name.split(".")[0].split("_")[0]),),
                ).fetchall()
                activity = conn.execute(
                    "SELECT datname, state, backend_xmin, left(query, 60) FROM pg_stat_activity "
                    "WHERE backend_xmin IS NOT NULL"
                ).fetchall()
            raise AssertionError(
                f"handle still in {path} ({rel}); xmin holders: {activity}; vacuum: {steps}"
            )
        assert at < 0, f"handle still in {path}: {cleaned[max(0, at - 80) : at + 40]!r}"

    with session_scope() as session:  # anonymous counts are kept
        after = compute_report(session)
        assert (after.messages, after.inbound, after.outbound, after.threads) == (
            before.messages,
            before.inbound,
            before.outbound,
            before.threads,
        )
        assert not queries.consent_decision(session, pid, "twitter").allowed
    shown = cli("people", "show", str(pid), "--json").json()
    assert shown["status"] == "erased" and shown["identities"] == [] and shown["timeline"] == []
    assert shown["attributes"]["counts"]["messages"] == 11
    assert cli("people", "find", f"twitter:{handle}").exit_code == 1
    event = cli("audit", "--action", "people.erase", "--json").json()["events"][0]
    assert event["subject_id"] == str(pid) and event["details"]["messages"] == 11
    assert not any(n.lower() in json.dumps(event).lower() for n in needles)
    assert cli("people", "erase", str(pid), "--yes").exit_code == 1
    assert cli("ingest", str(demo_path()), "--format", "twcs", "--json").json()["inserted"] == 0


def test_sensitive_commands_check_the_users_role(demo_db: Database, cli: Any) -> None:
    assert cli("users", "create", "ana@example.com", "--role", "agent").exit_code == 0
    assert cli("users", "create", "root@example.com", "--role", "admin").exit_code == 0
    pid = _pid(cli, "twitter:115712")
    refused = cli("people", "erase", str(pid), "--yes", "--as", "ana@example.com")
    assert refused.exit_code == 1 and "people.erase needs the role admin" in refused.stderr
    assert cli("people", "export", str(pid), "--as", "ana").exit_code == 1
    ok = cli("consent", "set", str(pid), "--channel", "sms", "--deny", "--as", "ana", "--json")
    assert ok.exit_code == 0
    assert ok.json()["channels"][0]["actor"] == "ana@example.com"
    assert cli("people", "export", str(pid), "--as", "root@example.com").exit_code == 0
    assert cli("people", "show", str(pid), "--json").json()["status"] == "active"


def test_db_vacuum_runs_on_both_databases(demo_db: Database, cli: Any) -> None:
    out = cli("db", "vacuum", "--json")
    assert out.exit_code == 0, out.stderr
    steps = out.json()["steps"]
    assert ("VACUUM" in steps) if not demo_db.is_postgresql else ("VACUUM (FULL, ANALYZE)" in steps)
