"""The inbox (ordered by priority, filterable, every thread once with --all)
and the work on it: assign, claim (one agent wins a real race), release."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from sqlalchemy import func, select

from rapport.conversations.models import Thread
from rapport.engagement.models import ThreadState
from rapport.storage.engine import session_scope
from tests.engagement.test_triage import thread_of


def test_inbox_is_ordered_by_priority_and_hides_listen_only(demo_db, cli) -> None:
    doc = cli("inbox", "--json", "--limit", "200").json()
    items = doc["items"]
    assert len(items) == 200 and doc["total"] > 200
    priorities = [i["priority"] for i in items]
    assert priorities == sorted(priorities, reverse=True)
    assert all(i["decision"] != "listen_only" and i["status"] == "open" for i in items)
    first = items[0]
    assert set(first) >= {
        "thread_id", "customer_id", "decision", "reason", "priority", "sla_due_at",
        "assignee", "last_message",
    }  # fmt: skip
    assert first["reason"] and first["priority_reason"] and first["last_message"]["text"]
    # The top of the inbox is urgent work, not chatter waiting on the customer.
    assert first["decision"] in ("respond_now", "escalate")
    assert doc["counts"]["open"] >= doc["total"]


def test_all_lists_every_thread_exactly_once(demo_db, cli) -> None:
    seen: list[int] = []
    offset = 0
    while True:
        page = cli("inbox", "--all", "--json", "--limit", "1000", "--offset", str(offset)).json()
        seen.extend(i["thread_id"] for i in page["items"])
        offset += 1000
        if offset >= page["total"]:
            break
    with session_scope() as s:
        threads = set(s.execute(select(Thread.id)).scalars())
    assert len(seen) == len(set(seen)) == len(threads)
    assert set(seen) == threads


def test_inbox_filters(demo_db, cli, staff) -> None:
    private = cli("inbox", "--decision", "move_private", "--json").json()
    assert private["total"] > 0 and {i["decision"] for i in private["items"]} == {"move_private"}
    listen = cli("inbox", "--decision", "listen_only", "--json").json()
    assert listen["total"] > 0
    assert cli("inbox", "--channel", "twitter", "--json").json()["total"] > 0
    tid = cli("inbox", "--json", "--limit", "1").json()["items"][0]["thread_id"]
    assert cli("claim", str(tid), "--as", "ana", "--json").json()["assignee"] == "ana"
    mine = cli("inbox", "--assignee", "ana", "--json").json()
    assert [i["thread_id"] for i in mine["items"]] == [tid]
    nobody = cli("inbox", "--assignee", "none", "--json").json()
    assert tid not in [i["thread_id"] for i in nobody["items"]]

    # Teams: a manager makes one, ben joins, a thread given to ben is the team's.
    assert cli("teams", "add", "social", "--as", "max", "--json").exit_code == 0
    assert cli("teams", "join", "ben", "social", "--as", "max", "--json").json()["members"] == [
        "ben"
    ]
    other = cli("inbox", "--json", "--limit", "2").json()["items"][1]["thread_id"]
    given = cli("assign", str(other), "--to", "ben", "--as", "max", "--json").json()
    assert given["assignee"] == "ben" and given["team"] == "social"
    team = cli("inbox", "--team", "social", "--json").json()
    assert [i["thread_id"] for i in team["items"]] == [other]

    for args, message in [
        (("inbox", "--decision", "reply_now"), "unknown decision 'reply_now'"),
        (("inbox", "--status", "closed"), "unknown status 'closed'"),
        (("inbox", "--channel", "myspace"), "unknown channel 'myspace'"),
        (("inbox", "--team", "nope"), "no team named 'nope'"),
        (("inbox", "--assignee", "zoe"), "user zoe not found"),
        (("threads", "show", "999999"), "thread 999999 not found"),
        (("claim", "999999", "--as", "ana"), "thread 999999 not found"),
        (("assign", str(tid), "--to", "zoe", "--as", "max"), "user zoe not found"),
        (("claim", str(tid)), "claim needs the agent"),
    ]:
        result = cli(*args)
        assert result.exit_code == 1, (args, result.stdout)
        assert message in result.stderr, (args, result.stderr)


def test_claim_release_and_assign_rules(demo_db, cli, staff) -> None:
    tid = thread_of("195")
    assert cli("claim", str(tid), "--as", "ana", "--json").json()["assigned_how"] == "claim"
    assert cli("claim", str(tid), "--as", "ana", "--json").exit_code == 0  # claiming again is fine
    taken = cli("claim", str(tid), "--as", "ben")
    assert taken.exit_code == 1 and "already claimed by ana" in taken.stderr
    refused = cli("release", str(tid), "--as", "ben")
    assert refused.exit_code == 1 and "held by ana" in refused.stderr
    analyst = cli("claim", str(tid), "--as", "ida")
    assert analyst.exit_code == 1 and "may not do this (conversations.work)" in analyst.stderr
    agent_assigns = cli("assign", str(tid), "--to", "ben", "--as", "ana")
    assert agent_assigns.exit_code == 1 and "conversations.assign" in agent_assigns.stderr
    assert cli("release", str(tid), "--as", "ana", "--json").json()["assignee"] is None
    assert cli("claim", str(tid), "--as", "ben", "--json").json()["assignee"] == "ben"
    moved = cli("assign", str(tid), "--to", "ana", "--as", "max", "--json").json()
    assert (moved["assignee"], moved["assigned_how"]) == ("ana", "assign")
    events = cli("audit", "--json").json()["events"]
    actions = [e["action"] for e in events if e["subject_id"] == str(tid)]
    assert {"thread.claim", "thread.release", "thread.assign"} <= set(actions)


CLAIM = """
import json, sys, time
from rapport.storage.engine import session_scope
from rapport.engagement.service import do_claim
from rapport.errors import RapportError
thread, user, start = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
while time.time() < start:
    time.sleep(0.001)
try:
    with session_scope(write=True) as s:
        do_claim(s, thread, user, actor=user)
    print(json.dumps({"user": user, "won": True}))
except RapportError as exc:
    print(json.dumps({"user": user, "won": False, "error": str(exc)}))
"""


def test_concurrent_claims_one_agent_wins(demo_db, staff) -> None:
    """Real processes race for the same thread at the same instant (each waits
    for the same start time once imported)."""
    tid = thread_of("195")
    users = ["ana", "ben", "max"]
    start = time.time() + 6
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CLAIM, str(tid), user, str(start)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=os.environ.copy(),
        )
        for user in users
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    winners = [r["user"] for r in results if r["won"]]
    assert len(winners) == 1, results
    assert all("already claimed by " + winners[0] in r["error"] for r in results if not r["won"])
    with session_scope() as s:
        holder = s.execute(
            select(ThreadState.assignee_user_id).where(ThreadState.thread_id == tid)
        ).scalar_one()
        assert holder == staff[winners[0]].id
        assert s.execute(select(func.count()).select_from(ThreadState)).scalar_one() == 1312
