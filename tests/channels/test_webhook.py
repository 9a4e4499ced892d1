"""Signed webhooks through the real app: generic JSON and Twilio SMS."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

from fastapi.testclient import TestClient
from sqlalchemy import select

from rapport.channels.sms.connector import twilio_signature
from rapport.channels.webhook.connector import sign
from rapport.conversations.models import Message
from rapport.storage.engine import session_scope
from rapport.web.app import create_app
from tests.channels.conftest import CASSETTES
from tests.conftest import FIXTURES, Database

SECRET = "whsec-3f9a0c1b7e2d4a68"
URL = "/api/v1/channels/shop/webhook"


def _message(ext: str = "order-881-msg-1", **extra: object) -> bytes:
    doc = {
        "id": ext,
        "author": {"handle": "jo@example.org", "name": "Jo"},
        "text": "My parcel says delivered but it is not here.",
        "created_at": "2024-05-01T09:00:00Z",
        "in_reply_to": None,
        "order": "881",
        **extra,
    }
    return json.dumps(doc).encode()


def _post(client: TestClient, body: bytes, signature: str | None) -> object:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-Rapport-Signature"] = signature
    return client.post(URL, content=body, headers=headers)


def _messages() -> list[Message]:
    with session_scope() as s:
        return list(s.execute(select(Message).order_by(Message.id)).scalars())


def test_signed_webhook_is_stored_once_and_forged_ones_are_refused(db: Database, cli) -> None:
    assert cli("channels", "add", "webhook", "shop", "--secret", SECRET).exit_code == 0
    body = _message()
    with TestClient(create_app()) as client:
        ok = _post(client, body, sign(SECRET, body))
        assert ok.status_code == 202, ok.text
        assert ok.json()["inserted"] == 1

        again = _post(client, body, sign(SECRET, body))  # a redelivery
        assert again.status_code == 202
        assert again.json()["inserted"] == 0 and again.json()["duplicates"] == 1

        forged = _message("order-881-msg-2")
        assert _post(client, forged, sign("not-the-secret-at-all", forged)).status_code == 401
        assert _post(client, forged, None).status_code == 401
        assert _post(client, forged, "sha256=" + "0" * 64).status_code == 401
        tampered = body.replace(b"not here", b"here now")
        assert _post(client, tampered, sign(SECRET, body)).status_code == 401

        too_big = _message("big", text="x" * 1_000_001)
        assert _post(client, too_big, sign(SECRET, too_big)).status_code == 413

        assert client.post("/api/v1/channels/nope/webhook", content=body).status_code == 404

    stored = _messages()
    assert len(stored) == 1
    assert stored[0].external_id == "order-881-msg-1"
    assert stored[0].raw == body.decode()  # the payload exactly as delivered
    assert stored[0].meta == {"order": "881"}
    health = cli("channels", "list", "--json").json()["channels"][0]["health"]
    assert health["webhooks_accepted"] == 2 and health["webhooks_refused"] == 4


def test_signed_but_malformed_payloads_are_quarantined(db: Database, cli) -> None:
    cli("channels", "add", "webhook", "shop", "--secret", SECRET)
    not_json = b'{"id": "x1", "text": "unterminated'
    no_author = json.dumps(
        {"id": "x2", "text": "hi", "created_at": "2024-05-01T09:00:00Z"}
    ).encode()
    batch = json.dumps(
        [
            json.loads(_message("b-1")),
            {"id": "b-2", "author": "kim", "text": "t", "created_at": "soon"},
        ]
    ).encode()
    with TestClient(create_app()) as client:
        bad = _post(client, not_json, sign(SECRET, not_json))
        assert bad.status_code == 422 and "invalid JSON" in bad.json()["detail"]
        missing = _post(client, no_author, sign(SECRET, no_author))
        assert missing.status_code == 422 and "author" in missing.json()["detail"]
        mixed = _post(client, batch, sign(SECRET, batch))
        assert mixed.status_code == 202
        assert mixed.json()["inserted"] == 1 and mixed.json()["quarantined"] == 1
    kept = cli("quarantine", "list", "--json").json()["items"]
    assert [k["source"] for k in kept] == ["channel:shop"] * 3
    assert kept[0]["raw"] == not_json.decode()
    assert "created_at" in kept[2]["reason"] and kept[2]["line"] == 2
    assert [m.external_id for m in _messages()] == ["b-1"]


def test_twilio_sms_webhook_checks_its_signature(db: Database, cli) -> None:
    token = "twilio-auth-token-0123456789abcdef"
    webhook_url = "https://crm.acme.example/api/v1/channels/sms/webhook"
    cli(
        "channels", "add", "sms", "sms",
        "--handle", "+14155550100",
        "--token", token,
        "--set", "account_sid=AC0123456789abcdef0123456789abcdef",
        "--set", f"webhook_url={webhook_url}",
    )  # fmt: skip
    body = (CASSETTES / "twilio" / "inbound_sms.form").read_bytes()
    signature = twilio_signature(
        token, webhook_url, parse_qsl(body.decode(), keep_blank_values=True)
    )
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    with TestClient(create_app()) as client:
        forged = client.post(
            "/api/v1/channels/sms/webhook",
            content=body,
            headers={**headers, "X-Twilio-Signature": twilio_signature("wrong", webhook_url, [])},
        )
        assert forged.status_code == 401
        ok = client.post(
            "/api/v1/channels/sms/webhook",
            content=body,
            headers={**headers, "X-Twilio-Signature": signature},
        )
        assert ok.status_code == 200, ok.text
        assert ok.headers["content-type"].startswith("application/xml")
        assert "<Response>" in ok.text
        again = client.post(
            "/api/v1/channels/sms/webhook",
            content=body,
            headers={**headers, "X-Twilio-Signature": signature},
        )
        assert again.status_code == 200
    [sms] = _messages()
    assert sms.external_id == "SM3333333333333333333333333333cccc"
    assert sms.text == "My router arrived broken 😞 what now?"
    assert sms.meta["to"] == "+14155550100"
    with session_scope() as s:
        from rapport.conversations.queries import messages_by_ids

        assert messages_by_ids(s, [sms.id])[0].author == "+14155550199"


def test_feeds_and_unknown_channels_take_no_webhooks(db: Database, cli) -> None:
    cli("channels", "add", "rss", "blog", "--url", "http://127.0.0.1:9/feed")
    cli("ingest", str(FIXTURES / "amazon_alexa_sample.tsv"))
    with TestClient(create_app()) as client:
        assert client.post("/api/v1/channels/blog/webhook", content=b"{}").status_code == 404
        assert client.post("/api/v1/channels/reviews/webhook", content=b"{}").status_code == 404
