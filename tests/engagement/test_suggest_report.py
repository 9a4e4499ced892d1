"""Suggested answers cite their sources and hide personal details; the
talk/listen governance report flags where we talk too much."""

from __future__ import annotations

import os

from rapport.conversations.queries import messages_by_ids
from rapport.engagement.placeholders import generalise, render
from rapport.settings import reset_settings_cache
from rapport.storage.engine import session_scope
from tests.engagement.test_triage import thread_of


def test_personal_details_become_placeholders() -> None:
    text, used = generalise(
        "@115712 Hi Sarah, your order #11203456 ships today; we emailed jo.b@example.com and "
        "will call +1 (555) 010-7788. ^JK"
    )
    assert text == (
        "@{{customer.handle}} Hi {{customer.name}}, your order {{order_number}} ships today; "
        "we emailed {{email}} and will call {{phone}}. ^{{agent.name}}"
    )
    assert set(used) == {"customer.handle", "customer.name", "order_number", "email", "phone",
                         "agent.name"}  # fmt: skip
    filled = render("Hi {{customer.name}}, thread {{thread.id}} -{{agent.name}}",
                    {"customer.name": "Sarah", "thread.id": "7", "agent.name": None})  # fmt: skip
    assert (filled.text, filled.missing) == ("Hi Sarah, thread 7 -", ["agent.name"])


def test_suggestions_cite_past_answers_to_similar_messages(demo_db, cli) -> None:
    tid = thread_of("195")  # "Raw meat!!!! It's does not say unwrapped raw meat!!!"
    doc = cli("suggest", str(tid), "--json", "--limit", "3").json()
    assert doc["thread_id"] == tid and doc["query_message_id"]
    suggestions = doc["suggestions"]
    assert suggestions, "the demo holds similar answered messages"
    scores = [s["score"] for s in suggestions]
    assert scores == sorted(scores, reverse=True)
    for s in suggestions:
        assert s["kind"] == "past_answer" and "TF-IDF cosine" in s["reason"]
        question_id, answer_id = s["source_message_ids"][:2]
        with session_scope() as session:
            question, answer = messages_by_ids(session, [question_id, answer_id])
        assert question.direction == "inbound" and answer.direction == "outbound"
        assert answer.parent_external_id == question.external_id
        assert question.thread_id != tid  # never the thread's own answers
        assert f"message {question_id}" in s["reason"] and f"message {answer_id}" in s["reason"]
        assert "@{{customer.handle}}" in s["text"] or not s["text"].startswith("@")
    unknown = cli("suggest", "999999")
    assert unknown.exit_code == 1 and "thread 999999 not found" in unknown.stderr


def test_talk_listen_flags_where_we_talk_too_much(demo_db, cli, staff) -> None:
    doc = cli("report", "--json", "--talk-listen").json()
    assert set(doc) == {"messages", "threads", "inbound", "outbound", "brands", "talk_listen"}
    tl = doc["talk_listen"]
    assert tl["target_outbound_share"] == 0.25
    [twitter] = tl["channels"]
    assert (twitter["inbound"], twitter["outbound"]) == (2778, 2222)
    assert twitter["outbound_share"] == round(2222 / 5000, 4) and twitter["over_target"] is True
    accounts = {a["name"]: a for a in tl["accounts"]}
    amazon = doc["brands"]["AmazonHelp"]
    assert accounts["AmazonHelp"]["outbound"] == amazon["outbound"]
    assert accounts["AmazonHelp"]["outbound_share"] == round(amazon["talk_listen_ratio"], 4)
    assert any(f.startswith("channel twitter: 44% outbound") for f in tl["flags"])
    assert tl["teams"] == []
    # A team's threads: a manager gives a thread to a member of team "care".
    cli("teams", "add", "care", "--as", "max")
    cli("teams", "join", "ana", "care", "--as", "max")
    tid = thread_of("195")
    cli("assign", str(tid), "--to", "ana", "--as", "max")
    teams = cli("report", "--json", "--talk-listen").json()["talk_listen"]["teams"]
    thread = cli("threads", "show", str(tid), "--json").json()["messages"]
    inbound = sum(1 for m in thread if m["direction"] == "inbound")
    assert teams == [
        {
            "name": "care",
            "inbound": inbound,
            "outbound": len(thread) - inbound,
            "outbound_share": round((len(thread) - inbound) / len(thread), 4),
            "over_target": False,  # fewer than 10 messages: no verdict
        }
    ]
    # The target is a setting.
    os.environ["RAPPORT_TALK_TARGET_OUTBOUND_SHARE"] = "0.5"
    reset_settings_cache()
    try:
        relaxed = cli("report", "--json", "--talk-listen").json()["talk_listen"]
        assert relaxed["target_outbound_share"] == 0.5
        assert relaxed["channels"][0]["over_target"] is False
        table = cli("report").stdout
        assert "talk/listen: 44% outbound overall (target 50%)" in table
    finally:
        os.environ.pop("RAPPORT_TALK_TARGET_OUTBOUND_SHARE")
        reset_settings_cache()
