"""The network and knowledge pages, and reviewing harvested answers."""

from __future__ import annotations

import html
import re
from pathlib import Path

from fastapi.testclient import TestClient

from rapport.audit.service import cli_actor
from rapport.knowledge.service import do_harvest
from rapport.storage.engine import session_scope
from tests.web.conftest import Account


def test_network_page_lists_influencers_with_reasons(
    client: TestClient, conversations: Path, accounts: dict[str, Account]
) -> None:
    h = {**accounts["analyst"].headers, "Accept": "text/html"}
    report = client.get("/api/v1/network", params={"top": 20}, headers=h).json()
    page = client.get("/network", headers=h)
    assert page.status_code == 200
    top = report["top_influencers"][0]
    assert top["label"] in page.text and top["reason"].split(";")[0] in page.text
    assert 'id="chart-influencers"' in page.text
    person = re.search(r'href="/people/(\d+)"', page.text)
    assert person is not None
    assert client.get(f"/people/{person.group(1)}", headers=h).status_code == 200


def test_knowledge_search_and_review(
    client: TestClient, conversations: Path, accounts: dict[str, Account]
) -> None:
    with session_scope(write=True) as session:
        harvested = do_harvest(session, actor=cli_actor())
    assert harvested.model_dump()  # real harvest over the sample threads
    agent, analyst = accounts["agent"].headers, accounts["analyst"].headers
    entries = client.get("/api/v1/kb/entries", params={"status": "candidate"}, headers=agent)
    first = entries.json()["entries"][0]
    refused = client.post(f"/api/v1/kb/entries/{first['id']}/approve", json={}, headers=analyst)
    assert refused.status_code == 403
    approved = client.post(
        f"/api/v1/kb/entries/{first['id']}/approve", json={"note": "good answer"}, headers=agent
    )
    assert approved.status_code == 200
    assert approved.json()["status"] == "approved"
    assert approved.json()["reviewed_by"] == accounts["agent"].email
    missing = client.post("/api/v1/kb/entries/999999/reject", json={}, headers=agent)
    assert missing.status_code == 404
    page = client.get(
        "/knowledge",
        params={"q": first["question"][:60], "status": "approved"},
        headers={**agent, "Accept": "text/html"},
    )
    assert page.status_code == 200 and "approved (1)" in page.text
    assert first["answer"][:40] in html.unescape(page.text)
    source = first["source_message_ids"][0]
    jump = client.get(f"/messages/{source}", headers=agent)
    assert jump.status_code == 303 and jump.headers["location"].endswith(f"#m{source}")
    audit = client.get(
        "/api/v1/audit", params={"action": "knowledge.*"}, headers=accounts["admin"].headers
    ).json()
    assert [e["action"] for e in audit["events"]] == ["knowledge.approve", "knowledge.harvest"]
