"""The network and knowledge read API, through the real FastAPI app."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from rapport.audit.service import cli_actor
from rapport.auth.tokens import issue_access_token
from rapport.conversations.service import do_ingest_files
from rapport.knowledge.service import do_harvest
from rapport.storage.engine import session_scope
from rapport.users.schemas import UserCreate
from rapport.users.service import do_create_user, get_user
from rapport.web.app import create_app


def test_network_and_kb_endpoints(db: Any, tmp_path: Any) -> None:
    from tests.knowledge.conftest import write_slice

    with session_scope(write=True) as session:
        do_create_user(session, UserCreate(email="an@example.com", role="analyst"), actor="t")
        token = issue_access_token(get_user(session, "an@example.com"))
    client = TestClient(create_app(), headers={"Authorization": f"Bearer {token}"})
    assert client.get("/api/v1/network", headers={"Authorization": ""}).status_code == 401
    empty = client.get("/api/v1/network")
    assert empty.status_code == 422 and "empty" in empty.json()["detail"]
    do_ingest_files([write_slice(tmp_path / "slice.csv")], fmt="twcs")
    doc = client.get("/api/v1/network", params={"top": 5}).json()
    assert doc["summary"]["nodes"] == len(doc["nodes"]) > 0
    assert len(doc["top_influencers"]) <= 5
    gexf = client.get("/api/v1/network/export", params={"format": "gexf"})
    assert gexf.status_code == 200 and b"<gexf" in gexf.content
    assert client.get("/api/v1/network/export", params={"format": "dot"}).status_code == 422
    with session_scope(write=True) as session:
        do_harvest(session, actor=cli_actor())
    hits = client.get("/api/v1/kb/search", params={"q": "open return in the virgin app"}).json()
    assert "1183" in {s["external_id"] for s in hits["results"][0]["sources"]}
    entries = client.get("/api/v1/kb/entries", params={"status": "candidate", "limit": 3}).json()
    assert len(entries["entries"]) == 3 and entries["counts"]["candidate"] > 3
    assert client.get("/api/v1/kb/entries", params={"status": "nope"}).status_code == 422
