"""Engagement over HTTP: the prioritized inbox, claims, replies through the
outbox, suggestions, the policy, talk/listen; the thread page's triage card."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from tests.web.conftest import Account


def test_inbox_claim_reply_and_policy_over_the_api(
    client: TestClient, conversations: Path, accounts: dict[str, Account]
) -> None:
    agent, manager = accounts["agent"].headers, accounts["manager"].headers
    page = client.get("/api/v1/inbox?limit=20", headers=accounts["analyst"].headers).json()
    priorities = [i["priority"] for i in page["items"]]
    assert priorities == sorted(priorities, reverse=True) and len(priorities) == 20
    assert page["counts"]["open"] >= page["total"] > 20
    tid = page["items"][0]["thread_id"]

    claimed = client.post(f"/api/v1/threads/{tid}/claim", headers=agent)
    assert claimed.status_code == 200 and claimed.json()["assignee"] == "agent"
    taken = client.post(f"/api/v1/threads/{tid}/claim", headers=manager)
    assert taken.status_code == 422 and "already claimed by agent" in taken.json()["detail"]
    assert (
        client.post(f"/api/v1/threads/{tid}/claim", headers=accounts["analyst"].headers).status_code
        == 403
    )
    assert client.post(f"/api/v1/threads/{tid}/release", headers=agent).json()["assignee"] is None
    given = client.post(f"/api/v1/threads/{tid}/assign", json={"to": "agent"}, headers=manager)
    assert given.status_code == 200 and given.json()["assigned_how"] == "assign"
    assert (
        client.post(f"/api/v1/threads/{tid}/assign", json={"to": "x"}, headers=agent).status_code
        == 403
    )

    long = client.post(f"/api/v1/threads/{tid}/reply", json={"text": "y" * 300}, headers=agent)
    assert long.status_code == 422 and "twitter takes at most 280" in long.json()["detail"]
    sent = client.post(f"/api/v1/threads/{tid}/reply", json={"text": "On it!"}, headers=agent)
    assert sent.status_code == 201
    entry = sent.json()["outbox"]
    assert entry["status"] == "undeliverable" and entry["created_by"] == "agent@example.com"
    listed = client.get("/api/v1/outbox", headers=agent).json()
    assert [i["id"] for i in listed["items"]] == [entry["id"]]
    assert listed["counts"]["undeliverable"] == 1

    suggestions = client.get(f"/api/v1/threads/{tid}/suggestions", headers=agent).json()
    assert suggestions["thread_id"] == tid
    assert all(s["source_message_ids"] and s["reason"] for s in suggestions["suggestions"])

    bad = client.put("/api/v1/policy", json={"source": "rules: [\n"}, headers=manager)
    assert bad.status_code == 422 and "line 2" in bad.json()["detail"]
    assert client.put("/api/v1/policy", json={"source": "x"}, headers=agent).status_code == 403
    assert client.get("/api/v1/policy", headers=agent).json()["version"] == 0
    tried = client.post(
        "/api/v1/policy/test",
        json={
            "source": "rules:\n  - id: all\n    decide: respond\n    reason: r\n"
            "default: {decide: respond, reason: d}\n"
        },
        headers=agent,
    ).json()
    assert tried["after"] == {"respond": tried["threads"]}

    tl = client.get("/api/v1/reports/talk-listen", headers=agent).json()
    assert tl["channels"][0]["name"] == "twitter" and tl["target_outbound_share"] == 0.25
    sla = client.get("/api/v1/reports/sla", headers=agent).json()
    assert set(sla["by_channel"]) == {"twitter"}


def test_thread_page_shows_the_triage_card_and_reply_box(
    client: TestClient, conversations: Path, accounts: dict[str, Account]
) -> None:
    agent = accounts["agent"].headers
    item = client.get("/api/v1/inbox?limit=1", headers=agent).json()["items"][0]
    html = client.get(f"/threads/{item['thread_id']}", headers=agent).text
    assert 'id="triage"' in html and item["reason"].split(":")[0] in html
    assert 'id="reply-form"' in html and 'id="claim"' in html
    analyst_html = client.get(
        f"/threads/{item['thread_id']}", headers=accounts["analyst"].headers
    ).text
    assert 'id="reply-form"' not in analyst_html
    fragment = client.get(f"/threads/{item['thread_id']}/suggestions", headers=agent).text
    assert 'id="suggestions"' in fragment
    answer = client.post(
        f"/threads/{item['thread_id']}/reply", data={"text": "z" * 300}, headers=agent
    )
    assert answer.status_code == 422 and "takes at most 280" in answer.text
    done = client.post(f"/threads/{item['thread_id']}/claim", headers=agent)
    assert done.status_code == 303 and "notice=claimed" in done.headers["location"]
    dashboards = client.get("/dashboards", headers=agent).text
    assert 'id="talk-listen"' in dashboards and "channel twitter" in dashboards


def test_workspace_over_the_api(
    client: TestClient, conversations: Path, accounts: dict[str, Account]
) -> None:
    agent, manager = accounts["agent"].headers, accounts["manager"].headers
    tid = client.get("/api/v1/inbox?limit=1", headers=agent).json()["items"][0]["thread_id"]
    note = client.post(
        f"/api/v1/threads/{tid}/notes", json={"text": "@manager please look"}, headers=agent
    )
    assert note.status_code == 201 and note.json()["mentions"] == ["manager"]
    mine = client.get("/api/v1/notifications", headers=manager).json()
    assert mine["unread"] == 1 and mine["items"][0]["thread_id"] == tid
    assert client.post("/api/v1/notifications/read", headers=manager).json() == {"marked": 1}
    assert client.get("/api/v1/notifications", headers=agent).json()["items"] == []
    assert client.get(f"/api/v1/threads/{tid}/notes", headers=agent).json()["notes"][0]["internal"]

    labels = client.post(f"/api/v1/threads/{tid}/labels", json={"labels": ["vip"]}, headers=agent)
    assert labels.json()["labels"] == ["vip"]
    assert client.get("/api/v1/inbox?label=vip", headers=agent).json()["total"] == 1
    canned = client.post(
        "/api/v1/canned", json={"shortcode": "hi", "text": "Hi {{agent.name}}"}, headers=agent
    )
    assert canned.status_code == 201 and canned.json()["variables"] == ["agent.name"]
    bad = client.post("/api/v1/canned", json={"shortcode": "x", "text": "{{nope}}"}, headers=agent)
    assert bad.status_code == 422 and "{{nope}}" in bad.json()["detail"]
    replied = client.post(f"/api/v1/threads/{tid}/reply", json={"canned": "hi"}, headers=agent)
    assert replied.status_code == 201 and replied.json()["outbox"]["canned"] == "hi"

    past = client.post(
        f"/api/v1/threads/{tid}/status",
        json={"status": "snoozed", "until": "2001-01-01T00:00:00Z"},
        headers=agent,
    )
    assert past.status_code == 422 and "in the past" in past.json()["detail"]
    done = client.post(f"/api/v1/threads/{tid}/status", json={"status": "resolved"}, headers=agent)
    assert done.json()["status"] == "resolved" and "public channel" in done.json()["survey_skipped"]
    bulk = client.post("/api/v1/threads/bulk", json={"ids": [tid, 99999999], "status": "open"},
                       headers=agent)  # fmt: skip
    assert bulk.status_code == 422 and "thread 99999999: not found" in bulk.json()["detail"]
    assign = client.post("/api/v1/threads/bulk", json={"ids": [tid], "assign": "agent"},
                         headers=agent)  # fmt: skip
    assert assign.status_code == 422 and "conversations.assign" in assign.json()["detail"]
    view = client.post("/api/v1/views", json={"name": "vip", "filters": {"label": "vip",
                       "status": "resolved"}}, headers=agent)  # fmt: skip
    assert view.status_code == 201
    assert [i["thread_id"] for i in client.get("/api/v1/inbox?view=vip", headers=agent).json()[
        "items"]] == [tid]  # fmt: skip
    res = client.get("/api/v1/reports/resolution?by=label", headers=agent).json()
    assert res["groups"]["vip"]["count"] == 1
    assert (
        client.get("/api/v1/reports/reopen", headers=agent).json()["groups"]["all"][
            "resolved_threads"
        ]
        == 1
    )
