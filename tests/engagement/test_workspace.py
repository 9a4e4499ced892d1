"""The inbox essentials: status (snooze wakes from the schedule, a new
customer message reopens), labels on threads and people, internal notes
with mentions (never sent, never counted, erased with the person), canned
responses, bulk actions all or nothing, saved views."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from rapport.engagement import workspace
from rapport.engagement.models import ThreadNote, ThreadState
from rapport.scheduling import queries as schedule
from rapport.storage.base import utcnow
from rapport.storage.engine import session_scope
from tests.engagement.test_triage import thread_of, write_jsonl


def test_status_snooze_and_reopen(demo_db, cli, staff, tmp_path: Path) -> None:
    tid = thread_of("37")  # Verizon: the brand answered last
    done = cli("threads", "status", str(tid), "resolved", "--as", "ana", "--json").json()
    assert (done["previous"], done["status"]) == ("open", "resolved")
    assert done["survey_skipped"].startswith("twitter is a public channel")
    shown = cli("threads", "show", str(tid), "--json").json()
    assert shown["status"] == "resolved" and shown["resolved_at"] and shown["status_changed_at"]
    still_open = cli("inbox", "--all", "--status", "open", "--json", "--limit", "1000").json()
    assert tid not in [i["thread_id"] for i in still_open["items"]]
    resolved = cli("inbox", "--status", "resolved", "--all", "--json").json()
    assert [i["thread_id"] for i in resolved["items"]] == [tid]

    # A new customer message reopens it, and triage runs again.
    reply = write_jsonl(tmp_path / "r.jsonl", [
        {"id": "9100001", "author": "115719", "text": "@VerizonSupport it is down again",
         "created_at": "2017-11-01T09:00:00Z", "in_reply_to": "37"},
    ])  # fmt: skip
    cli("ingest", str(reply), "--format", "jsonl", "--channel", "twitter")
    again = cli("threads", "show", str(tid), "--json").json()
    assert again["status"] == "open" and again["decision"]["reopen_count"] == 1
    assert again["decision"]["sla_due_at"] is not None  # decided again: an answer is due

    # Snoozing: the time must be in the future; the schedule wakes it.
    past = cli("threads", "status", str(tid), "snoozed", "--until", "2020-01-01T00:00Z")
    assert past.exit_code == 1 and "is in the past" in past.stderr
    missing = cli("threads", "status", str(tid), "snoozed")
    assert missing.exit_code == 1 and "snoozed needs --until" in missing.stderr
    bad = cli("threads", "status", str(tid), "closed")
    assert bad.exit_code == 1 and "unknown status 'closed'" in bad.stderr
    until = (utcnow() + timedelta(hours=2)).replace(microsecond=0)
    snoozed = cli("threads", "status", str(tid), "snoozed", "--until", until.isoformat(), "--json")
    assert snoozed.json()["snoozed_until"] == until.isoformat().replace("+00:00", "Z")
    with session_scope() as s:
        assert schedule.get_job(s, workspace.WAKE_JOB).next_run_at == until
    with session_scope(write=True) as s:
        assert workspace.do_wake_snoozed(s, now=until - timedelta(seconds=1)) == []
        assert workspace.do_wake_snoozed(s, now=until + timedelta(seconds=1)) == [tid]
    assert cli("threads", "show", str(tid), "--json").json()["status"] == "open"


def test_labels_on_threads_and_people(demo_db, cli, staff) -> None:
    a, b = thread_of("195"), thread_of("180")
    assert cli("labels", "add", str(a), "VIP", "billing", "--json").json()["labels"] == [
        "billing", "vip",
    ]  # fmt: skip
    cli("labels", "add", str(b), "vip")
    listed = {x["name"]: x for x in cli("labels", "list", "--json").json()["labels"]}
    assert listed["vip"]["threads"] == 2 and listed["billing"]["threads"] == 1
    vip = cli("inbox", "--label", "vip", "--all", "--json").json()
    assert sorted(i["thread_id"] for i in vip["items"]) == sorted([a, b])
    assert all("vip" in i["labels"] for i in vip["items"])
    assert cli("threads", "show", str(a), "--json").json()["labels"] == ["billing", "vip"]
    assert cli("labels", "remove", str(a), "billing", "--json").json()["labels"] == ["vip"]
    unknown = cli("labels", "remove", str(a), "nope")
    assert unknown.exit_code == 1 and "no label named 'nope'" in unknown.stderr
    no_thread = cli("labels", "add", "999999", "vip")
    assert no_thread.exit_code == 1 and "thread 999999 not found" in no_thread.stderr
    assert cli("inbox", "--label", "ghost").exit_code == 1

    person = cli("threads", "show", str(a), "--json").json()["customer_id"]
    assert cli("people", "label", str(person), "churn-risk", "--json").json()["labels"] == [
        "churn-risk"
    ]
    exported = cli("people", "export", str(person), "--json").json()
    assert exported["other_domains"]["engagement"]["labels"] == ["churn-risk"]
    assert cli("people", "erase", str(person), "--yes").exit_code == 0
    assert {x["name"]: x for x in cli("labels", "list", "--json").json()["labels"]}["churn-risk"][
        "people"
    ] == 0


def test_notes_notify_and_never_leave_the_building(demo_db, cli, staff) -> None:
    tid = thread_of("195")
    before = cli("report", "--json").json()
    quote = cli("threads", "show", str(tid), "--json").json()["messages"][0]
    handle = quote["author"]
    text = f"@ben can you check? {handle} wrote: {quote['text']}"
    note = cli("notes", "add", str(tid), "--text", text, "--as", "ana", "--json")
    assert note.exit_code == 0, note.stderr
    assert note.json()["mentions"] == ["ben"] and note.json()["internal"] is True
    inbox = cli("notifications", "--as", "ben", "--json").json()["items"]
    assert [(n["thread_id"], n["actor"]) for n in inbox] == [(tid, "ana@example.com")]
    assert cli("notifications", "--as", "ana", "--json").json()["items"] == []
    cli("notifications", "--as", "ben", "--mark-read")
    assert cli("notifications", "--as", "ben", "--unread", "--json").json()["items"] == []

    shown = cli("threads", "show", str(tid), "--json").json()
    assert [e["kind"] for e in shown["timeline"]].count("note") == 1
    assert all(not e.get("internal") for e in shown["messages"])
    assert shown["notes"][0]["internal"] is True
    assert cli("report", "--json").json() == before  # never a message, never counted
    assert cli("outbox", "list", "--json").json()["items"] == []
    assert cli("notes", "add", str(tid), "--text", "  ").exit_code == 1

    person = shown["customer_id"]
    assert cli("people", "erase", str(person), "--yes").exit_code == 0
    with session_scope() as s:
        [text] = s.execute(select(ThreadNote.text)).scalars()
    assert handle not in text and quote["text"] not in text
    assert text.startswith("@ben can you check? [erased] wrote: [erased]")


def test_canned_responses(demo_db, cli, staff) -> None:
    bad = cli("canned", "add", "hello", "--text", "Hi {{customer.firstname}}!")
    assert bad.exit_code == 1 and "unknown variable {{customer.firstname}}" in bad.stderr
    ok = cli("canned", "add", "sorry", "--text",
             "Sorry {{customer.name}} (@{{customer.handle}}), {{agent.name}} here: thread "
             "{{thread.id}}", "--json")  # fmt: skip
    assert ok.json()["variables"] == ["customer.name", "customer.handle", "agent.name", "thread.id"]
    assert cli("canned", "add", "sorry", "--text", "x").exit_code == 1  # exists: --replace
    tid = thread_of("195")
    handle = cli("threads", "show", str(tid), "--json").json()["messages"][0]["author"]
    sent = cli("reply", str(tid), "--canned", "sorry", "--as", "ana", "--json")
    assert sent.exit_code == 0, sent.stderr
    entry = sent.json()
    assert entry["text"] == f"Sorry  (@{handle}), Ana here: thread {tid}"
    assert entry["canned"] == "sorry" and "customer.name" in sent.stderr  # no name: warned
    assert cli("outbox", "list", "--json").json()["items"][0]["text"] == entry["text"]
    unknown = cli("reply", str(tid), "--canned", "nope", "--as", "ana")
    assert unknown.exit_code == 1 and "no canned response 'nope'" in unknown.stderr
    assert [c["shortcode"] for c in cli("canned", "list", "--json").json()["canned"]] == ["sorry"]
    assert cli("canned", "delete", "sorry").exit_code == 0
    assert cli("canned", "delete", "sorry").exit_code == 1


def test_bulk_is_all_or_nothing_and_views_are_saved(demo_db, cli, staff) -> None:
    a, b = thread_of("195"), thread_of("180")
    missing = cli("threads", "bulk", "--ids", f"{a},999999", "--status", "resolved")
    assert missing.exit_code == 1 and "thread 999999: not found" in missing.stderr
    refused = cli("threads", "bulk", "--ids", f"{a},{b}", "--status", "snoozed", "--label", "x")
    assert refused.exit_code == 1 and f"thread {a}: snoozed needs --until" in refused.stderr
    with session_scope() as s:
        assert {st.status for st in s.execute(select(ThreadState)).scalars()} == {"open"}
    assert cli("labels", "list", "--json").json()["labels"] == []  # nothing half-done
    done = cli("threads", "bulk", "--ids", f"{a},{b}", "--status", "pending", "--label", "wait",
               "--assign", "ben", "--as", "max", "--json")  # fmt: skip
    assert done.exit_code == 0, done.stderr
    assert done.json() == {"threads": 2, "changed": {"status": 2, "labels": 2, "assign": 2},
                           "surveys": []}  # fmt: skip
    view = cli("views", "save", "bens-waiting", "--filter", "status=pending",
               "--filter", "assignee=ben", "--filter", "label=wait", "--json")  # fmt: skip
    assert view.json()["filters"] == {"status": "pending", "assignee": "ben", "label": "wait"}
    shown = cli("inbox", "--view", "bens-waiting", "--json").json()
    assert sorted(i["thread_id"] for i in shown["items"]) == sorted([a, b])
    assert cli("views", "save", "x", "--filter", "colour=red").exit_code == 1
    assert cli("views", "save", "x", "--filter", "label=ghost").exit_code == 1
    assert cli("inbox", "--view", "nope").exit_code == 1
    assert [v["name"] for v in cli("views", "list", "--json").json()["views"]] == ["bens-waiting"]


def test_inbox_reports(demo_db, cli, staff, tmp_path: Path) -> None:
    a, b = thread_of("195"), thread_of("180")
    cli("teams", "add", "care", "--as", "max")
    cli("teams", "join", "ana", "care", "--as", "max")
    cli("assign", str(a), "--to", "ana", "--as", "max")
    with session_scope(write=True) as s:
        from rapport.engagement.service import Actor

        actor = Actor("ana@example.com", staff["ana"].id, "ana", "Ana")
        t0 = datetime(2024, 1, 1, tzinfo=UTC)
        workspace.do_set_status(s, a, "pending", actor=actor, now=t0)
        workspace.do_set_status(s, a, "open", actor=actor, now=t0 + timedelta(hours=2))
        workspace.do_set_status(s, a, "resolved", actor=actor, now=t0 + timedelta(hours=3))
        workspace.do_set_status(s, b, "resolved", actor=actor, now=t0 + timedelta(hours=5))
        workspace.do_set_status(s, b, "open", actor=actor, now=t0 + timedelta(hours=6))
        started = {
            st.thread_id: st.first_inbound_at for st in s.execute(select(ThreadState)).scalars()
        }
    res = cli("metrics", "resolution", "--by", "channel", "--json").json()
    expected = sorted(
        [(t0 + timedelta(hours=3) - started[a]).total_seconds(),
         (t0 + timedelta(hours=5) - started[b]).total_seconds()]
    )  # fmt: skip
    assert res["groups"]["twitter"]["count"] == 2
    assert res["groups"]["twitter"]["median_seconds"] == round(sum(expected) / 2, 1)
    by_agent = cli("metrics", "resolution", "--by", "agent", "--json").json()["groups"]
    assert by_agent["ana"]["count"] == 1 and by_agent["(unassigned)"]["count"] == 1
    by_team = cli("metrics", "resolution", "--by", "team", "--json").json()["groups"]
    assert set(by_team) == {"care", "(no team)"}
    reopen = cli("metrics", "reopen", "--json").json()["groups"]["all"]
    assert (reopen["resolved_threads"], reopen["reopened_threads"], reopen["reopen_rate"]) == (
        2, 1, 0.5,
    )  # fmt: skip
    pending = cli("metrics", "pending", "--json").json()["groups"]["all"]
    assert (pending["count"], pending["median_seconds"]) == (1, 7200.0)
    assert cli("metrics", "csat", "--json").json()["groups"] == {}
    assert cli("metrics", "resolution", "--by", "mood").exit_code == 1
