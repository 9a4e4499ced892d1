"""The customer's preference page: a signed link, no login, CSRF-checked
forms, every request kept and audited, forged or expired links refused."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from itsdangerous import URLSafeTimedSerializer

from rapport.audit.service import list_events
from rapport.errors import NotFoundError
from rapport.preferences import service
from rapport.preferences.errors import LinkInvalid, RequestNotFound
from rapport.preferences.links import read_link, sign_link
from rapport.preferences.queries import list_requests, preference_view
from rapport.preferences.schemas import CustomerRequestUpdate
from rapport.relationships.queries import consent_decision, preferences_of
from rapport.storage.engine import session_scope
from tests.web.conftest import Account


def a_customer(client: TestClient, account: Account) -> int:
    items = client.get("/api/v1/threads?limit=10", headers=account.headers).json()["items"]
    return next(i["customer_person_id"] for i in items if i["customer_person_id"])


def csrf_of(page_text: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page_text).group(1)


def test_customer_changes_consent_and_channel_and_asks_for_export_and_erasure(
    client: TestClient, conversations: Path, accounts: dict[str, Account]
) -> None:
    person = a_customer(client, accounts["agent"])
    _token, path = sign_link(person)
    page = client.get(path)
    assert page.status_code == 200
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "Log in" not in page.text  # the customer's page, not the staff UI
    csrf = csrf_of(page.text)

    # Without the double-submit token nothing is recorded.
    assert (
        client.post(
            f"{path}/consent",
            data={"channel": "twitter", "allow": "no"},
            headers={"Accept": "text/html"},
        ).status_code
        == 403
    )
    assert (
        client.post(
            f"{path}/consent", data={"channel": "twitter", "allow": "no", "csrf_token": csrf}
        ).status_code
        == 303
    )
    # Changing one's mind updates the open request instead of piling up new ones.
    client.post(f"{path}/consent", data={"channel": "twitter", "allow": "yes", "csrf_token": csrf})
    client.post(f"{path}/consent", data={"channel": "twitter", "allow": "no", "csrf_token": csrf})
    assert (
        client.post(f"{path}/channel", data={"channel": "twitter", "csrf_token": csrf}).status_code
        == 303
    )
    unknown = client.post(
        f"{path}/channel",
        data={"channel": "fax", "csrf_token": csrf},
        headers={"Accept": "text/html"},
    )
    assert unknown.status_code == 422 and "not one of this person" in unknown.text
    assert client.post(f"{path}/export", data={"csrf_token": csrf}).status_code == 303
    assert client.post(f"{path}/export", data={"csrf_token": csrf}).status_code == 303
    assert client.post(f"{path}/erasure", data={"csrf_token": csrf}).status_code == 422
    done = client.post(f"{path}/erasure", data={"csrf_token": csrf, "confirm": "yes"})
    assert done.status_code == 303 and done.headers["location"] == f"{path}?done=erasure"

    with session_scope() as session:
        view = preference_view(session, person)
        requests, total = list_requests(session, status="open")
        done, _ = list_requests(session, status="done")
        events, _ = list_events(session, actor=f"customer:{person}")
        # Consent and the preferred channel are applied to the person at once.
        decision = consent_decision(session, person, "twitter")
        preferred = preferences_of(session, person).preferred_channel
    assert not decision.allowed and preferred == "twitter"
    assert sorted(r.kind for r in requests) == ["erasure", "export"] and total == 2
    assert sorted(r.kind for r in done) == ["consent"] * 3 + ["preferred_channel"]
    assert [(c.channel, c.allowed) for c in view.channels] == [("twitter", False)]
    assert view.preferred_channel == "twitter"
    actions = [e.action for e in events]
    assert actions.count("preferences.consent") == 3 and actions.count("consent.set") == 3
    assert {"preferences.export", "preferences.erasure", "consent.preferences"} <= set(actions)
    assert all(e.subject_id == str(person) for e in events)

    shown = client.get(f"{path}?done=erasure")
    assert "your request to erase your data is recorded" in shown.text

    # The admin sees the open ones; a rejection needs a reason.
    admin = accounts["admin"].headers
    listed = client.get("/api/v1/requests?status=open", headers=admin).json()
    assert listed["total"] == 2
    export = next(r for r in listed["items"] if r["kind"] == "export")
    erasure = next(r for r in listed["items"] if r["kind"] == "erasure")
    refused = client.patch(
        f"/api/v1/requests/{erasure['id']}", json={"status": "rejected"}, headers=admin
    )
    assert refused.status_code == 422 and "needs a note" in refused.json()["detail"]
    # The export is carried out and handed over; the erasure erases.
    exported = client.post(f"/api/v1/requests/{export['id']}/fulfil", headers=admin)
    assert exported.status_code == 200, exported.text
    body = exported.json()
    assert body["request"]["status"] == "done"
    assert body["request"]["handled_by"] == accounts["admin"].email
    assert str(person) in str(body["export"])
    erased = client.post(f"/api/v1/requests/{erasure['id']}/fulfil", headers=admin)
    assert erased.status_code == 200 and erased.json()["export"] is None
    again = client.post(f"/api/v1/requests/{erasure['id']}/fulfil", headers=admin)
    assert again.status_code == 422 and "already done" in again.json()["detail"]
    assert client.get("/api/v1/requests?status=open", headers=admin).json()["total"] == 0
    # The person is gone: their link opens nothing any more.
    gone = client.get(path, headers={"Accept": "text/html"})
    assert gone.status_code == 422 and "was erased" in gone.text


def test_forged_damaged_and_expired_links_are_refused(
    client: TestClient, conversations: Path, accounts: dict[str, Account]
) -> None:
    person = a_customer(client, accounts["agent"])
    token, _path = sign_link(person)
    assert read_link(token) == person
    other = URLSafeTimedSerializer("not-our-key", salt="rapport.preferences.link").dumps(
        {"p": person}
    )
    for bad in (token[:-3] + "xyz", other, token.replace(".", "-", 1)):
        with pytest.raises(LinkInvalid):
            read_link(bad)
        page = client.get(f"/preferences/{bad}", headers={"Accept": "text/html"})
        assert page.status_code == 403 and "not valid" in page.text
    # Someone else's token cannot post to this person either.
    client.cookies.set("rapport_csrf", "t")
    forged = client.post(f"/preferences/{other}/export", data={"csrf_token": "t"})
    assert forged.status_code == 403
    with session_scope() as session:
        assert list_requests(session)[1] == 0


def test_service_refuses_unknown_people_and_bad_closures(db, conversations, accounts) -> None:
    with session_scope(write=True) as session, pytest.raises(NotFoundError):
        service.do_issue_link(session, 999_999, actor="test")
    with session_scope(write=True) as session, pytest.raises(NotFoundError):
        service.do_request_export(session, 999_999)
    with session_scope(write=True) as session, pytest.raises(RequestNotFound):
        service.do_close_request(
            session, 999_999, CustomerRequestUpdate(status="done"), actor="test"
        )
