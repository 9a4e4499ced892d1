"""Email round trip against a real local mail server (pymap IMAP + aiosmtpd
SMTP, started by the tests): a customer writes, the mailbox is polled, the
reply goes out over SMTP threaded by In-Reply-To/References, and the
customer's answer lands in the same thread."""

from __future__ import annotations

import email
import smtplib
from email import policy
from email.message import EmailMessage

from sqlalchemy import select

from rapport.channels import service
from rapport.channels.base import OutboundReply
from rapport.conversations.models import Message
from rapport.storage.engine import session_scope
from tests.channels.conftest import MailServer
from tests.conftest import Database

CUSTOMER = "jo@example.org"


def _send_as_customer(
    server: MailServer, subject: str, body: str, msgid: str, reply_to: str | None = None
) -> None:
    message = EmailMessage()
    message["From"] = f"Jo Park <{CUSTOMER}>"
    message["To"] = server.address
    message["Subject"] = subject
    message["Date"] = "Wed, 01 May 2024 09:00:00 +0200"
    message["Message-ID"] = f"<{msgid}>"
    if reply_to:
        message["In-Reply-To"] = f"<{reply_to}>"
        message["References"] = f"<order-55@example.org> <{reply_to}>"
    message.set_content(body)
    with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=10) as smtp:
        smtp.send_message(message)


def _add(cli, server: MailServer, name: str = "support") -> None:
    result = cli(
        "channels", "add", "email", name,
        "--handle", server.address,
        "--password", server.password,
        "--set", "imap_host=127.0.0.1",
        "--set", f"imap_port={server.imap_port}",
        "--set", "imap_security=none",
        "--set", f"smtp_port={server.smtp_port}",
        "--set", "smtp_security=none",
        "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert result.json()["secrets"] == ["password"]
    assert server.password not in result.stdout


def _by_id() -> dict[str, Message]:
    with session_scope() as s:
        return {m.external_id: m for m in s.execute(select(Message)).scalars()}


def test_email_round_trip_threads_by_message_id(db: Database, cli, mail_server: MailServer) -> None:
    _add(cli, mail_server)
    checked = cli("channels", "test", "support", "--json")
    assert checked.exit_code == 0, checked.stdout + checked.stderr
    assert checked.json()["ok"] is True

    _send_as_customer(
        mail_server,
        "Order 55: router arrived broken",
        "Hello,\n\nthe router I received yesterday does not power on.\n\nJo",
        "order-55@example.org",
    )
    polled = cli("channels", "poll", "support", "--json")
    assert polled.exit_code == 0, polled.stderr
    assert polled.json()["support"]["inserted"] >= 1
    customer = _by_id()["order-55@example.org"]
    assert customer.direction == "inbound"
    assert customer.meta["subject"] == "Order 55: router arrived broken"
    assert customer.text.startswith("Hello,\n\nthe router I received yesterday")
    assert customer.created_at.isoformat() == "2024-05-01T07:00:00+00:00"
    assert "Message-ID: <order-55@example.org>" in customer.raw

    before = len(mail_server.received)
    reply = OutboundReply(
        outbox_id=41,
        channel="support",
        text="Sorry Jo! A replacement ships today; no need to send the broken one back.",
        in_reply_to_external_id="order-55@example.org",
    )
    with session_scope(write=True) as s:
        receipt = service.do_send(s, reply)
    [envelope] = mail_server.received[before:]
    assert envelope.rcpt_tos == [CUSTOMER]
    sent = email.message_from_bytes(envelope.original_content, policy=policy.default)
    assert sent["Subject"] == "Re: Order 55: router arrived broken"
    assert sent["In-Reply-To"] == "<order-55@example.org>"
    assert sent["References"] == "<order-55@example.org>"
    assert sent["Message-ID"] == f"<{receipt.external_id}>"
    assert "replacement ships today" in sent.get_content()

    # The reply is delivered to the mailbox too: polled, it is ours (outbound) and threads.
    _send_as_customer(
        mail_server,
        "Re: Order 55: router arrived broken",
        "Great, thank you!\n\nOn Wed, 1 May 2024, Acme wrote:\n"
        "> Sorry Jo! A replacement ships today",
        "order-55-thanks@example.org",
        reply_to=receipt.external_id,
    )
    again = cli("channels", "poll", "support", "--json").json()["support"]
    assert again["inserted"] == 2
    rows = _by_id()
    ours, thanks = rows[receipt.external_id], rows["order-55-thanks@example.org"]
    assert ours.direction == "outbound" and ours.parent_external_id == "order-55@example.org"
    assert thanks.parent_external_id == receipt.external_id
    assert thanks.text == "Great, thank you!"  # the quoted history is not the message
    assert customer.thread_id == ours.thread_id == thanks.thread_id

    assert cli("channels", "poll", "support", "--json").json()["support"]["inserted"] == 0


def test_malformed_mail_is_quarantined_and_the_poll_goes_on(
    db: Database, cli, mail_server: MailServer
) -> None:
    _add(cli, mail_server, "support2")
    cli("channels", "poll", "support2")  # start after what earlier tests left in the mailbox
    mail_server.deliver(b"Subject: no sender here\r\n\r\nthis mail has no From header\r\n")
    _send_as_customer(
        mail_server, "Still fine", "A normal mail after a broken one.", "fine-1@example.org"
    )
    result = cli("channels", "poll", "support2", "--json").json()["support2"]
    assert result["inserted"] == 1 and result["quarantined"] == 1
    kept = cli("quarantine", "list", "--source", "channel:support2", "--json").json()["items"]
    assert len(kept) == 1
    assert kept[0]["reason"] == "mail has no sender address (From)"
    assert "this mail has no From header" in kept[0]["raw"]
    assert kept[0]["line"]  # the IMAP UID
    assert "fine-1@example.org" in _by_id()


def test_wrong_password_is_reported_not_crashed(db: Database, cli, mail_server: MailServer) -> None:
    result = cli(
        "channels", "add", "email", "badpass",
        "--handle", mail_server.address,
        "--password", "wrong",
        "--set", "imap_host=127.0.0.1",
        "--set", f"imap_port={mail_server.imap_port}",
        "--set", "imap_security=none",
    )  # fmt: skip
    assert result.exit_code == 0
    checked = cli("channels", "test", "badpass", "--json")
    assert checked.exit_code == 1 and checked.json()["ok"] is False
    assert "login refused" in checked.json()["detail"]
    polled = cli("channels", "poll", "badpass", "--json")
    assert polled.exit_code == 1 and "login refused" in polled.json()["badpass"]["error"]
