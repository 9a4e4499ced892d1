"""SMS in the Twilio format: signatures, catch-up polling, replies."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from rapport.channels import service
from rapport.channels.base import OutboundReply
from rapport.channels.errors import SendFailed
from rapport.channels.sms.connector import twilio_signature
from rapport.conversations.models import Message
from rapport.storage.engine import session_scope
from tests.channels.conftest import CASSETTES, Replay
from tests.conftest import Database

SID = "AC0123456789abcdef0123456789abcdef"
MESSAGES = f"/2010-04-01/Accounts/{SID}/Messages.json"


def test_signature_matches_twilios_published_example() -> None:
    params = [
        ("CallSid", "CA1234567890ABCDE"),
        ("Caller", "+12349013030"),
        ("Digits", "1234"),
        ("From", "+12349013030"),
        ("To", "+18005551212"),
    ]
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert twilio_signature("12345", url, params) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    assert twilio_signature("12345", url, [*params[:2], ("Digits", "9999"), *params[3:]]) != (
        "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    )


@pytest.fixture
def sms(db: Database, cli) -> str:
    result = cli(
        "channels", "add", "sms", "sms",
        "--handle", "+14155550100",
        "--token", "twilio-auth-token-0123456789abcdef",
        "--set", f"account_sid={SID}",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    return "sms"


def test_poll_catches_up_and_threads_by_number(sms: str, replay: Replay) -> None:
    replay.on("GET", MESSAGES, "twilio/messages_list.json")
    result = service.do_poll_channel(sms, transport=replay.transport)
    assert (result.fetched, result.inserted, result.error) == (2, 2, None)
    [call] = replay.requests
    assert call.url.params["To"] == "+14155550100" and "DateSent>" in call.url.params
    assert call.headers["authorization"].startswith("Basic ")
    with session_scope() as s:
        rows = {m.external_id: m for m in s.execute(select(Message)).scalars()}
    first, second = (
        rows["SM1111111111111111111111111111aaaa"],
        rows["SM2222222222222222222222222222bbbb"],
    )
    assert second.parent_external_id == first.external_id
    assert first.thread_id == second.thread_id
    assert second.created_at.isoformat() == "2024-05-01T14:40:00+00:00"

    # A webhook delivery from the same number joins the same conversation.
    from urllib.parse import parse_qsl

    from fastapi.testclient import TestClient

    from rapport.web.app import create_app

    body = (CASSETTES / "twilio" / "inbound_sms.form").read_bytes()
    url = "http://testserver/api/v1/channels/sms/webhook"
    signature = twilio_signature(
        "twilio-auth-token-0123456789abcdef", url, parse_qsl(body.decode(), keep_blank_values=True)
    )
    with TestClient(create_app()) as client:
        answer = client.post(
            "/api/v1/channels/sms/webhook",
            content=body,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": signature,
            },
        )
    assert answer.status_code == 200, answer.text
    with session_scope() as s:
        third = s.execute(
            select(Message).where(Message.external_id == "SM3333333333333333333333333333cccc")
        ).scalar_one()
    assert third.parent_external_id == second.external_id and third.thread_id == first.thread_id


def test_reply_goes_out_through_the_messages_api(sms: str, replay: Replay) -> None:
    replay.on("GET", MESSAGES, "twilio/messages_list.json")
    replay.on("POST", MESSAGES, "twilio/rate_limited.json", "twilio/message_created.json")
    service.do_poll_channel(sms, transport=replay.transport)
    reply = OutboundReply(
        21, sms, "Hi Jo, your replacement router ships tomorrow. Reply STOP to opt out.",
        in_reply_to_external_id="SM2222222222222222222222222222bbbb",
    )  # fmt: skip
    with session_scope(write=True) as s:
        receipt = service.do_send(s, reply, transport=replay.transport)
    assert receipt.external_id == "SM9f2b6a0c1d2e3f40516273849a0b1c2d"
    posts = replay.sent("POST", MESSAGES)
    assert len(posts) == 2  # 429 (Retry-After: 1), then accepted
    from urllib.parse import parse_qs

    form = parse_qs(posts[1].content.decode())
    assert form == {"To": ["+14155550199"], "From": ["+14155550100"], "Body": [reply.text]}


def test_invalid_number_is_refused_for_good(sms: str, replay: Replay) -> None:
    replay.on("POST", MESSAGES, "twilio/invalid_to.json")
    with session_scope(write=True) as s, pytest.raises(SendFailed) as refused:
        service.do_send(
            s, OutboundReply(22, sms, "hello", to_handle="+1415555XXXX"), transport=replay.transport
        )
    assert refused.value.retryable is False and "Invalid 'To' Phone Number" in str(refused.value)
    assert len(replay.sent("POST", MESSAGES)) == 1
