"""The people, consent and topics API on the relationships and analysis
services: merge/unmerge round-trip, roles, consent, preferences, export and
erasure, each audited; bad input is refused with the reason."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from rapport.analysis.service import do_discover_topics, scopes_with_messages
from rapport.audit.service import list_events
from rapport.storage.engine import session_scope
from tests.web.conftest import Account


def _two_people(client: TestClient, headers: dict[str, str]) -> tuple[int, int]:
    items = client.get("/api/v1/people?limit=2", headers=headers).json()["people"]
    return items[0]["id"], items[1]["id"]


def test_merge_unmerge_and_roles_round_trip_and_are_audited(
    client: TestClient, conversations: Path, accounts: dict[str, Account]
) -> None:
    agent = accounts["agent"].headers
    a, b = _two_people(client, agent)
    before = client.get(f"/api/v1/people/{a}", headers=agent).json()["person"]
    other = client.get(f"/api/v1/people/{b}", headers=agent).json()["person"]["identities"][0]
    merged = client.post(
        "/api/v1/people/merge", json={"survivor_id": a, "absorbed_id": b}, headers=agent
    )
    assert merged.status_code == 201, merged.text
    assert merged.json()["identities_moved"] == [other["ref"]]
    gone = client.get(f"/api/v1/people/{b}", headers=agent)
    assert gone.status_code == 422 and f"merged into person {a}" in gone.json()["detail"]
    itself = client.post(
        "/api/v1/people/merge", json={"survivor_id": a, "absorbed_id": a}, headers=agent
    )
    assert itself.status_code == 422 and "itself" in itself.json()["detail"]

    split = client.post(
        f"/api/v1/people/{a}/unmerge", json={"identity": other["ref"]}, headers=agent
    )
    assert split.status_code == 200, split.text
    assert split.json()["restored_person_id"] == b
    after = client.get(f"/api/v1/people/{a}", headers=agent).json()["person"]
    assert [i["ref"] for i in after["identities"]] == [i["ref"] for i in before["identities"]]
    unknown = client.post(
        f"/api/v1/people/{a}/unmerge", json={"identity": "twitter:nobody-here"}, headers=agent
    )
    assert unknown.status_code == 404 and "twitter:nobody-here" in unknown.json()["detail"]

    roles = client.patch(
        f"/api/v1/people/{a}/roles",
        json={"add": ["advocate", "customer"], "reason": "recommends us"},
        headers=agent,
    )
    assert roles.status_code == 200 and {"advocate", "customer"} <= set(roles.json()["roles"])
    bad = client.patch(f"/api/v1/people/{a}/roles", json={"add": ["wizard"]}, headers=agent)
    assert bad.status_code == 422 and "wizard" in bad.json()["detail"]
    assert (
        client.patch(
            f"/api/v1/people/{a}/roles",
            json={"add": ["customer"]},
            headers=accounts["analyst"].headers,
        ).status_code
        == 403
    )
    with session_scope() as session:
        events, _ = list_events(session, subject_type="person", limit=100)
    done = {(e.action, e.actor) for e in events}
    email = accounts["agent"].email
    assert {("people.merge", email), ("people.unmerge", email), ("people.role", email)} <= done


def test_consent_and_preferences_through_the_api(
    client: TestClient, conversations: Path, accounts: dict[str, Account]
) -> None:
    agent = accounts["agent"].headers
    pid, _ = _two_people(client, agent)
    view = client.get(f"/api/v1/people/{pid}/consent", headers=accounts["analyst"].headers)
    assert view.status_code == 200
    assert view.json()["decisions"][0] == {
        **view.json()["decisions"][0],
        "channel": "twitter",
        "allowed": True,
    }
    denied = client.put(
        f"/api/v1/people/{pid}/consent/twitter", json={"allowed": False}, headers=agent
    )
    assert denied.status_code == 200, denied.text
    decision = next(d for d in denied.json()["decisions"] if d["channel"] == "twitter")
    assert decision["allowed"] is False and decision["reason"]
    prefs = client.patch(
        f"/api/v1/people/{pid}/preferences",
        json={"quiet_hours": "22:00-07:00", "timezone": "Europe/Paris", "language": "fr"},
        headers=agent,
    )
    assert prefs.status_code == 200, prefs.text
    assert prefs.json()["preferences"] == {
        "preferred_channel": None,
        "quiet_hours": "22:00-07:00",
        "timezone": "Europe/Paris",
        "language": "fr",
    }
    wrong = client.patch(
        f"/api/v1/people/{pid}/preferences", json={"timezone": "Mars/Olympus"}, headers=agent
    )
    assert wrong.status_code == 422 and "Mars/Olympus" in wrong.json()["detail"]
    analyst = client.put(
        f"/api/v1/people/{pid}/consent/twitter",
        json={"allowed": True},
        headers=accounts["analyst"].headers,
    )
    assert analyst.status_code == 403
    assert client.get("/api/v1/people/999999/consent", headers=agent).status_code == 404
    with session_scope() as session:
        events, _ = list_events(session, subject_type="person", subject_id=pid, limit=10)
    assert {"consent.set", "consent.preferences"} <= {e.action for e in events}


def test_export_and_erasure_through_the_api(
    client: TestClient, conversations: Path, accounts: dict[str, Account]
) -> None:
    pid, _ = _two_people(client, accounts["agent"].headers)
    assert (
        client.get(f"/api/v1/people/{pid}/export", headers=accounts["agent"].headers).status_code
        == 403
    )
    export = client.get(f"/api/v1/people/{pid}/export", headers=accounts["manager"].headers)
    assert export.status_code == 200
    doc = export.json()
    assert doc["person"]["id"] == pid and doc["messages"]
    assert {"knowledge.entries", "network.ties", "preferences.requests"} <= set(
        doc["other_domains"]
    )
    admin = accounts["admin"].headers
    unconfirmed = client.post(f"/api/v1/people/{pid}/erase", json={"confirm": False}, headers=admin)
    assert unconfirmed.status_code == 422 and "cannot be undone" in unconfirmed.json()["detail"]
    refused = client.post(
        f"/api/v1/people/{pid}/erase", json={"confirm": True}, headers=accounts["manager"].headers
    )
    assert refused.status_code == 403
    erased = client.post(f"/api/v1/people/{pid}/erase", json={"confirm": True}, headers=admin)
    assert erased.status_code == 200, erased.text
    summary = erased.json()
    assert summary["vacuumed"] is True and summary["messages_redacted"] == len(doc["messages"])
    again = client.post(f"/api/v1/people/{pid}/erase", json={"confirm": True}, headers=admin)
    assert again.status_code in (404, 422)


def test_duplicates_at_risk_and_topics(
    client: TestClient, conversations: Path, accounts: dict[str, Account]
) -> None:
    analyst = accounts["analyst"].headers
    dupes = client.get("/api/v1/people/duplicates", headers=analyst)
    assert dupes.status_code == 200 and dupes.json()["total"] == len(dupes.json()["suggestions"])
    risk = client.get("/api/v1/people/at-risk", headers=analyst)
    assert risk.status_code == 200
    assert all(p["health"]["at_risk_reason"] for p in risk.json()["people"])
    empty = client.get("/api/v1/topics", headers=analyst).json()
    assert empty == {"scopes": [], "topics": [], "total": 0}
    with session_scope(write=True) as session:
        scope, ids = max(scopes_with_messages(session).items(), key=lambda kv: len(kv[1]))
        do_discover_topics(session, scope, ids, seed=1, k=3)
    found = client.get("/api/v1/topics", params={"examples": 1}, headers=analyst).json()
    assert found["scopes"] == [scope] and found["total"] == len(found["topics"]) > 0
    topic = found["topics"][0]
    assert topic["label"] and topic["terms"] and len(topic["examples"]) <= 1
    assert sum(topic["sentiment_mix"].values()) == topic["size"]
    assert client.get("/api/v1/topics").status_code == 401
