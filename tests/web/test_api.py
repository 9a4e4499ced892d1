"""The REST API's reads and writes, on real imported conversations."""

from __future__ import annotations

import csv
import itertools
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from rapport.audit.service import list_events
from rapport.conversations.service import do_ingest_files
from rapport.storage.engine import session_scope
from tests.web.conftest import SAMPLE_ROWS, Account


def parse_twcs_time(value: str) -> datetime:
    return datetime.strptime(value, "%a %b %d %H:%M:%S %z %Y").astimezone(UTC)


def test_threads_list_newest_first_with_customer_and_latest_message(
    client: TestClient, conversations: Path, accounts: dict[str, Account]
) -> None:
    h = accounts["analyst"].headers
    first = client.get("/api/v1/threads?limit=20", headers=h).json()
    summary = client.get("/api/v1/reports/summary").json()
    assert first["total"] == summary["threads"]
    assert first["triaged"] is True and all(i["decision"] for i in first["items"])
    stamps = [i["thread"]["last_message_at"] for i in first["items"]]
    assert stamps == sorted(stamps, reverse=True) and len(stamps) == 20
    second = client.get("/api/v1/threads?limit=20&offset=20", headers=h).json()
    assert not {i["thread"]["id"] for i in first["items"]} & {
        i["thread"]["id"] for i in second["items"]
    }
    item = first["items"][0]
    detail = client.get(f"/api/v1/threads/{item['thread']['id']}", headers=h).json()
    messages = detail["messages"]
    assert len(messages) == item["thread"]["message_count"]
    assert messages[-1]["id"] == item["thread"]["last_message"]["id"]
    assert [m["created_at"] for m in messages] == sorted(m["created_at"] for m in messages)
    inbound = [m for m in messages if m["direction"] == "inbound"]
    if inbound:
        assert item["thread"]["customer"] == inbound[0]["author"]
        assert detail["customer_person_id"] == inbound[0]["person_id"]
    assert client.get("/api/v1/threads/999999", headers=h).status_code == 404
    assert client.get("/api/v1/threads?channel=nowhere", headers=h).json()["total"] == 0


def test_volume_series_adds_up_to_the_messages_in_range(
    client: TestClient, conversations: Path, accounts: dict[str, Account]
) -> None:
    with conversations.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    times = [parse_twcs_time(r["created_at"]) for r in rows]
    last = max(times)
    since = (last - timedelta(days=10)).replace(hour=0, minute=0, second=0, microsecond=0)
    expected = Counter(
        (t.date().isoformat(), r["inbound"] == "True")
        for t, r in zip(times, rows, strict=True)
        if t >= since
    )
    h = accounts["agent"].headers
    series = client.get(
        "/api/v1/reports/volume", params={"since": since.isoformat(), "bucket": "day"}, headers=h
    ).json()
    assert [c["channel"] for c in series["channels"]] == ["twitter"]
    twitter = series["channels"][0]
    got = Counter()
    for day, n_in, n_out in zip(
        series["buckets"], twitter["inbound"], twitter["outbound"], strict=True
    ):
        got[(day[:10], True)] += n_in
        got[(day[:10], False)] += n_out
    assert +got == +expected
    days = [datetime.fromisoformat(b) for b in series["buckets"]]
    assert all(b - a == timedelta(days=1) for a, b in itertools.pairwise(days))
    # Weeks start on Monday and add up to the same total; a naive time is read as UTC.
    weeks = client.get(
        "/api/v1/reports/volume",
        params={"since": since.replace(tzinfo=None).isoformat(), "bucket": "week"},
        headers=h,
    ).json()
    assert all(datetime.fromisoformat(b).weekday() == 0 for b in weeks["buckets"])
    assert sum(map(sum, (weeks["channels"][0]["inbound"], weeks["channels"][0]["outbound"]))) == (
        sum(expected.values())
    )
    # Hours add up to the same days.
    hours = client.get(
        "/api/v1/reports/volume", params={"since": since.isoformat(), "bucket": "hour"}, headers=h
    ).json()
    per_day = Counter()
    for stamp, n_in, n_out in zip(
        hours["buckets"],
        hours["channels"][0]["inbound"],
        hours["channels"][0]["outbound"],
        strict=True,
    ):
        per_day[(stamp[:10], True)] += n_in
        per_day[(stamp[:10], False)] += n_out
    assert +per_day == +expected
    # Without a range: the last 60 days that hold data.
    default = client.get("/api/v1/reports/volume", headers=h).json()
    assert datetime.fromisoformat(default["buckets"][-1]).date() == last.date()
    too_many = client.get(
        "/api/v1/reports/volume", params={"since": "1900-01-01", "bucket": "hour"}, headers=h
    )
    assert too_many.status_code == 422 and "too many" in too_many.json()["detail"]


def test_sentiment_series_says_how_much_is_analysed(
    client: TestClient, conversations: Path, accounts: dict[str, Account]
) -> None:
    body = client.get(
        "/api/v1/reports/sentiment",
        params={"since": "2010-01-01", "bucket": "week"},
        headers=accounts["analyst"].headers,
    ).json()
    summary = client.get("/api/v1/reports/summary").json()
    assert body["inbound_messages"] == summary["inbound"]
    assert 0 <= body["analysed_messages"] <= body["inbound_messages"]


def test_channels_and_quarantine(
    client: TestClient, conversations: Path, accounts: dict[str, Account], tmp_path: Path
) -> None:
    messy = tmp_path / "messy.csv"
    with conversations.open(encoding="utf-8") as fh:
        lines = fh.read().splitlines()
    header, good = lines[0], lines[1]
    messy.write_text(
        f"{header}\n{good}\n9999001,someone,True,yesterday-ish,broken date,,\n", encoding="utf-8"
    )
    do_ingest_files([messy], fmt="twcs", channel="dump")
    h = accounts["manager"].headers
    channels = {c["name"]: c for c in client.get("/api/v1/channels", headers=h).json()["channels"]}
    assert channels["twitter"]["messages"] == SAMPLE_ROWS and not channels["twitter"]["live"]
    assert channels["dump"]["messages"] == 1
    quarantine = client.get("/api/v1/quarantine", headers=h).json()
    assert quarantine["total"] == 1
    row = quarantine["items"][0]
    assert row["line"] == 3 and "yesterday-ish" in row["raw"] and row["reason"]


def test_admin_adds_and_removes_a_live_channel_managers_watch_it(
    client: TestClient, accounts: dict[str, Account]
) -> None:
    admin, manager = accounts["admin"].headers, accounts["manager"].headers
    secret = "s3cret-signing-key-of-enough-length"
    body = {"kind": "webhook", "name": "partners", "options": {"secret": secret}}
    assert client.post("/api/v1/channels", json=body, headers=manager).status_code == 403
    created = client.post("/api/v1/channels", json=body, headers=admin)
    assert created.status_code == 201, created.text
    channel = created.json()
    assert channel["live"] and channel["secrets"] == ["secret"]
    assert secret not in created.text
    assert channel["webhook_path"] == "/api/v1/channels/partners/webhook"
    kinds = client.get("/api/v1/channel-kinds", headers=manager).json()["kinds"]
    assert {"rss", "webhook", "mastodon"} <= {k["kind"] for k in kinds}
    bad = client.post(
        "/api/v1/channels",
        json={**body, "name": "other", "options": {"secret": "short"}},
        headers=admin,
    )
    assert bad.status_code == 422 and "secret" in bad.json()["detail"]
    off = client.patch("/api/v1/channels/partners", json={"enabled": False}, headers=admin)
    assert off.status_code == 200 and off.json()["health"]["status"] == "disabled"
    assert client.get("/api/v1/channels/partners", headers=manager).json()["enabled"] is False
    assert client.delete("/api/v1/channels/partners", headers=manager).status_code == 403
    assert client.delete("/api/v1/channels/partners", headers=admin).status_code == 204
    assert client.get("/api/v1/channels/partners", headers=manager).json()["live"] is False
    assert client.get("/api/v1/channels/nowhere", headers=manager).status_code == 404
    events = client.get("/api/v1/audit", params={"action": "channels.*"}, headers=admin).json()
    assert [e["action"] for e in events["events"]] == [
        "channels.remove",
        "channels.disable",
        "channels.add",
    ]
    assert all(e["actor"] == accounts["admin"].email for e in events["events"])
    assert secret not in str(events)


def test_person_overview_and_preference_link(
    client: TestClient, conversations: Path, accounts: dict[str, Account]
) -> None:
    item = client.get("/api/v1/threads?limit=5", headers=accounts["agent"].headers).json()
    person_id = next(i["customer_person_id"] for i in item["items"] if i["customer_person_id"])
    body = client.get(f"/api/v1/people/{person_id}", headers=accounts["analyst"].headers).json()
    person = body["person"]
    assert person["id"] == person_id and person["identities"]
    handles = {i["handle"] for i in person["identities"]}
    refs = {i["ref"] for i in person["identities"]}
    messages = [e for e in person["timeline"] if e["kind"] == "message"]
    assert messages and all(e["author"] in refs for e in messages)
    assert {d["channel"] for d in person["consent"]["decisions"]} == {"twitter"}
    assert body["requests"] == []
    assert client.get("/api/v1/people/999999", headers=accounts["agent"].headers).status_code == 404
    found = client.get(
        "/api/v1/people", params={"q": sorted(handles)[0]}, headers=accounts["agent"].headers
    ).json()
    assert person_id in [p["id"] for p in found["people"]]
    page = client.get(
        "/people",
        params={"q": sorted(handles)[0]},
        headers={**accounts["agent"].headers, "Accept": "text/html"},
    )
    assert page.status_code == 200 and f'href="/people/{person_id}"' in page.text

    link = client.post(
        f"/api/v1/people/{person_id}/preference-link", headers=accounts["agent"].headers
    )
    assert link.status_code == 201
    body = link.json()
    assert body["url"].endswith(body["path"]) and body["path"].startswith("/preferences/")
    page = client.get(body["path"])
    assert page.status_code == 200 and "Your preferences" in page.text
    assert sorted(handles)[0] in page.text
    with session_scope() as session:
        events, _ = list_events(session, action="preferences.link")
    assert [(e.actor, e.subject_id) for e in events] == [(accounts["agent"].email, str(person_id))]


def test_users_api_creates_updates_and_audits(
    client: TestClient, accounts: dict[str, Account]
) -> None:
    h = accounts["admin"].headers
    created = client.post(
        "/api/v1/users",
        json={"email": "Nina@Example.com", "role": "analyst", "password": "long enough pw"},
        headers=h,
    )
    assert created.status_code == 201
    user = created.json()
    assert user["email"] == "nina@example.com" and user["role"] == "analyst"
    duplicate = client.post(
        "/api/v1/users", json={"email": "nina@example.com", "role": "agent"}, headers=h
    )
    assert duplicate.status_code == 422 and "exists already" in duplicate.json()["detail"]
    bad_role = client.post(
        "/api/v1/users", json={"email": "x@example.com", "role": "boss"}, headers=h
    )
    assert bad_role.status_code == 422 and "unknown role" in bad_role.json()["detail"]
    short = client.put(
        f"/api/v1/users/{user['id']}/password", json={"password": "short"}, headers=h
    )
    assert short.status_code == 422 and "too short" in short.json()["detail"]
    changed = client.patch(f"/api/v1/users/{user['id']}", json={"role": "manager"}, headers=h)
    assert changed.status_code == 200 and changed.json()["role"] == "manager"
    assert client.get(f"/api/v1/users/{user['id']}", headers=h).json()["role"] == "manager"
    assert (
        client.patch("/api/v1/users/999999", json={"role": "agent"}, headers=h).status_code == 404
    )
    audit = client.get("/api/v1/audit", params={"action": "users.*"}, headers=h).json()
    mine = [e for e in audit["events"] if e["actor"] == accounts["admin"].email]
    assert [e["action"] for e in mine] == ["users.update", "users.create"]
    assert all(e["subject_id"] == str(user["id"]) for e in mine)


def test_html_pages_render_for_a_logged_in_manager(
    client: TestClient, conversations: Path, accounts: dict[str, Account]
) -> None:
    h = {**accounts["manager"].headers, "Accept": "text/html"}
    inbox = client.get("/inbox", headers=h)
    assert inbox.status_code == 200 and "data-row" in inbox.text
    thread_id = client.get("/api/v1/threads?limit=1", headers=h).json()["items"][0]["thread"]["id"]
    thread = client.get(f"/threads/{thread_id}", headers=h)
    assert thread.status_code == 200 and f"Thread {thread_id}" in thread.text
    dash = client.get("/dashboards", headers=h)
    assert (
        dash.status_code == 200 and 'id="chart-volume"' in dash.text and "chart-data" in dash.text
    )
    fragment = client.get(
        "/inbox?channel=twitter", headers={**h, "HX-Request": "true", "HX-Target": "inbox-list"}
    )
    assert fragment.text.lstrip().startswith('<section id="inbox-list"')
    channels = client.get("/admin/channels", headers=h)
    assert channels.status_code == 200 and "twitter" in channels.text
    missing = client.get("/threads/999999", headers=h)
    assert missing.status_code == 404 and "not found" in missing.text
    nowhere = client.get("/no/such/page", headers=h)
    assert nowhere.status_code == 404 and "text/html" in nowhere.headers["content-type"]
    for header in ("content-security-policy", "x-frame-options", "x-content-type-options"):
        assert header in inbox.headers
