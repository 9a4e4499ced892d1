"""People on the TWCS demo: one person per customer, a full timeline, lists,
lookups, and the same person on every ingest."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from rapport.demo import demo_path
from rapport.relationships import queries
from rapport.storage.engine import session_scope
from tests.conftest import Database


def _demo_rows() -> list[dict[str, str]]:
    with demo_path().open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_every_demo_customer_is_one_person_and_brands_are_none(demo_db: Database, cli: Any) -> None:
    rows = _demo_rows()
    brands = {r["author_id"] for r in rows if r["inbound"] == "False"}
    customers = {r["author_id"] for r in rows if r["inbound"] == "True"} - brands
    listed = cli("people", "list", "--limit", "10000", "--json")
    assert listed.exit_code == 0, listed.stderr
    doc = listed.json()
    assert doc["total"] == len(customers)
    handles = [i for p in doc["people"] for i in p["identities"]]
    assert sorted(handles) == sorted(f"twitter:{c}" for c in customers)  # one identity each
    brand = cli("people", "find", "twitter:AmazonHelp", "--json")
    assert brand.exit_code == 1
    assert "our own accounts" in brand.stderr
    unknown = cli("people", "find", "twitter:no_such_handle_42", "--json")
    assert unknown.exit_code == 1 and "no identity" in unknown.stderr
    bad = cli("people", "show", "999999", "--json")
    assert bad.exit_code == 1 and "person 999999 not found" in bad.stderr


def test_timeline_holds_every_message_and_reply_in_time_order(demo_db: Database, cli: Any) -> None:
    rows = _demo_rows()
    by_id = {r["tweet_id"]: r for r in rows}
    handle = "115712"
    own = [r for r in rows if r["author_id"] == handle]
    replies = [
        r
        for r in rows
        if r["author_id"] != handle
        and r["in_response_to_tweet_id"] in by_id
        and by_id[r["in_response_to_tweet_id"]]["author_id"] == handle
    ]
    found = cli("people", "find", f"twitter:{handle}", "--json").json()
    assert found["message_count"] == len(own)
    shown = cli("people", "show", str(found["id"]), "--timeline-limit", "0", "--json")
    assert shown.exit_code == 0, shown.stderr
    detail = shown.json()
    messages = [e for e in detail["timeline"] if e["kind"] == "message"]
    received = [e for e in detail["timeline"] if e["kind"] == "reply_received"]
    assert sorted(e["summary"] for e in messages) == sorted(r["text"] for r in own)
    assert sorted(e["summary"] for e in received) == sorted(r["text"] for r in replies)
    assert all(e["author"] == "twitter:sprintcare" for e in received)
    stamps = [e["at"] for e in detail["timeline"]]
    assert stamps == sorted(stamps)
    assert detail["timeline_total"] == len(own) + len(replies)
    assert detail["identities"][0]["ref"] == f"twitter:{handle}"
    assert detail["health"]["score"] > 0


def test_same_identity_is_the_same_person_on_every_ingest(
    demo_db: Database, cli: Any, tmp_path: Path
) -> None:
    before = cli("people", "find", "twitter:115712", "--json").json()
    again = cli("ingest", str(demo_path()), "--format", "twcs", "--json").json()
    assert again["inserted"] == 0
    new = write_jsonl(
        tmp_path / "more.jsonl",
        [
            {
                "id": "new-1",
                "channel": "twitter",
                "author": "115712",
                "created_at": "2017-12-05T10:00:00Z",
                "text": "@sprintcare still waiting",
            },
            {
                "id": "new-2",
                "channel": "twitter",
                "author": "brand_new_customer_77",
                "created_at": "2017-12-05T11:00:00Z",
                "text": "@sprintcare hello",
            },
        ],
    )
    assert cli("ingest", str(new), "--json").json()["inserted"] == 2
    after = cli("people", "find", "twitter:115712", "--json").json()
    assert after["id"] == before["id"]
    assert after["message_count"] == before["message_count"] + 1
    assert after["last_seen_at"].startswith("2017-12-05T10:00")
    fresh = cli("people", "find", "twitter:brand_new_customer_77", "--json").json()
    assert fresh["id"] != before["id"] and fresh["message_count"] == 1
    total = cli("people", "list", "--json").json()["total"]
    assert total == cli("people", "list", "--json").json()["total"]


def test_list_filters_by_text_and_role_and_pages(demo_db: Database, cli: Any) -> None:
    everyone = cli("people", "list", "--limit", "5", "--json").json()
    assert len(everyone["people"]) == 5 and everyone["total"] > 1000
    seen = [p["last_seen_at"] for p in everyone["people"]]
    assert seen == sorted(seen, reverse=True)
    page2 = cli("people", "list", "--limit", "5", "--offset", "5", "--json").json()
    assert not {p["id"] for p in page2["people"]} & {p["id"] for p in everyone["people"]}
    hit = cli("people", "list", "--q", "11571", "--json").json()
    assert hit["total"] >= 2
    assert all(any("11571" in i for i in p["identities"]) for p in hit["people"])
    assert cli("people", "list", "--q", "zz_nothing_zz", "--json").json() == {
        "people": [],
        "total": 0,
    }
    pid = hit["people"][0]["id"]
    assert cli("people", "role", "set", str(pid), "--add", "partner", "--json").exit_code == 0
    partners = cli("people", "list", "--role", "partner", "--json").json()
    assert [p["id"] for p in partners["people"]] == [pid] and partners["total"] == 1
    assert partners["people"][0]["roles"] == ["partner"]
    assert cli("people", "list", "--role", "wizard").exit_code == 1


def test_identity_lookup_by_email_and_phone(demo_db: Database, cli: Any) -> None:
    out = cli(
        "people",
        "contact",
        "twitter:115712",
        "--email",
        "Jane.Roe@Example.org",
        "--phone",
        "+1 (555) 010-7788",
    )
    assert out.exit_code == 0, out.stderr
    person = cli("people", "find", "twitter:115712", "--json").json()["id"]
    assert cli("people", "find", "jane.roe@example.org", "--json").json()["id"] == person
    assert cli("people", "find", "+15550107788", "--json").json()["id"] == person
    assert cli("people", "list", "--q", "jane.roe", "--json").json()["people"][0]["id"] == person
    bad = cli("people", "contact", "twitter:115712", "--email", "not-an-email")
    assert bad.exit_code == 1 and "not an email" in bad.stderr
    with session_scope() as session:
        assert queries.resolve_person(session, "twitter:115712") == person


def test_people_per_identity_interface_for_other_domains(demo_db: Database) -> None:
    with session_scope() as session:
        pid = queries.resolve_person(session, "twitter:115712")
        ids = queries.identity_ids_of(session, pid)
        assert queries.person_for_identity(session, ids[0]) == pid
        assert queries.people_for_identities(session, ids) == {ids[0]: pid}
        groups: dict[int, list[int]] = defaultdict(list)
        for ident, person in queries.people_for_identities(session, [*ids, 10**9]).items():
            groups[person].append(ident)
        assert dict(groups) == {pid: ids}


def test_an_identity_that_turns_out_to_be_our_account_is_no_person(
    demo_db: Database, cli: Any, tmp_path: Path
) -> None:
    rows = [
        {
            "id": "b1",
            "channel": "forum",
            "author": "NewBrandHelp",
            "created_at": "2017-12-01T10:00:00Z",
            "text": "hello, we are new here",
        },
        {
            "id": "c1",
            "channel": "forum",
            "author": "carol",
            "created_at": "2017-12-01T11:00:00Z",
            "text": "@NewBrandHelp my order?",
        },
    ]
    cli("ingest", str(write_jsonl(tmp_path / "a.jsonl", rows)))
    assert (
        cli("people", "find", "forum:NewBrandHelp").exit_code == 0
    )  # looks like a customer so far
    reply = [
        {
            "id": "b2",
            "channel": "forum",
            "author": "NewBrandHelp",
            "created_at": "2017-12-01T12:00:00Z",
            "text": "@carol on its way",
            "in_reply_to": "c1",
            "direction": "outbound",
        },
    ]
    cli("ingest", str(write_jsonl(tmp_path / "b.jsonl", reply)))
    out = cli("people", "find", "forum:NewBrandHelp")
    assert out.exit_code == 1 and "our own accounts" in out.stderr
    carol = cli("people", "find", "forum:carol", "--json").json()["id"]
    with session_scope() as session:
        summary = queries.health_for(session, [carol])[carol]
        detail = queries.health_details(session, [carol])[carol]
    assert summary.score == detail.score and 0 < summary.score <= 100
    ours = next(f for f in detail.factors if f.name == "our_responsiveness")
    assert ours.explanation.startswith("we answered 1 of the 1 conversation they addressed to us")


def test_handles_of_email_and_sms_connectors_are_contact_points(db: Database, cli: Any) -> None:
    from datetime import UTC, datetime

    from rapport.conversations.importers.records import ParsedMessage
    from rapport.conversations.service import do_store_messages

    def msg(ext: str, author: str) -> ParsedMessage:
        return ParsedMessage(
            external_id=ext,
            author=author,
            direction="inbound",
            created_at=datetime(2024, 5, 1, tzinfo=UTC),
            text="where is my order?",
            raw="{}",
        )

    with session_scope(write=True) as session:
        do_store_messages(
            session,
            [msg("m1", "Ada@Example.org")],
            default_channel="support-mail",
            channel_kind="email",
        )
        do_store_messages(
            session, [msg("s1", "+15550100001")], default_channel="texts", channel_kind="sms"
        )
    ada = cli("people", "find", "ada@example.org", "--json")
    assert ada.exit_code == 0, ada.stderr
    assert ada.json()["identities"] == ["support-mail:Ada@Example.org"]
    assert cli("people", "find", "+1 555 010 0001", "--json").json()["identities"] == [
        "texts:+15550100001"
    ]
    shown = cli("people", "show", str(ada.json()["id"]), "--json").json()
    assert shown["attributes"]["emails"] == ["Ada@Example.org"]
