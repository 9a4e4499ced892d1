"""Email: a mailbox read over IMAP, replies sent over SMTP.

Poll: `SELECT` the mailbox read-only, `UID SEARCH UID <last+1>:*`, fetch new
messages with `BODY.PEEK[]` (nothing is marked read) in batches; the cursor
is `{"uidvalidity", "uid"}` and starts over when the server's UIDVALIDITY
changes (ids stay idempotent by Message-ID). Messages thread by
`In-Reply-To`/`References`. A message without a sender or a readable date is
quarantined raw. Send: a `text/plain` reply with `In-Reply-To`,
`References` and `Re: <subject>`, through SMTP (SSL, STARTTLS or plain).
"""

from __future__ import annotations

import contextlib
import imaplib
import json
import re
import smtplib
import ssl
from datetime import UTC, datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import format_datetime, getaddresses, make_msgid, parseaddr, parsedate_to_datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from rapport.channels.base import ConnectorContext, OutboundReply, Page, Receipt
from rapport.channels.errors import ConnectorFailed, SendFailed, WebhookRefused
from rapport.channels.htmltext import html_to_text
from rapport.channels.registry import ConnectorType
from rapport.conversations.importers.records import ParsedMessage, Rejected
from rapport.conversations.models import INBOUND, OUTBOUND

BATCH = 50
_MSGID = re.compile(r"<([^<>\s]+)>")
_QUOTE_HEADER = re.compile(r"^On .{5,200} wrote:\s*$")
Security = Literal["ssl", "starttls", "none"]


class EmailOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    handle: str = Field(description="Our address, e.g. support@example.com")
    password: str | None = Field(None, description="The mailbox password (IMAP and SMTP).")
    username: str | None = Field(None, description="Login name; default: the address.")
    imap_host: str = Field(description="IMAP server host.")
    imap_port: int | None = Field(None, description="Default 993 (ssl) or 143.")
    imap_security: Security = Field("ssl", description="ssl, starttls or none.")
    mailbox: str = Field("INBOX", description="Folder to read.")
    smtp_host: str | None = Field(None, description="SMTP server host; default: the IMAP host.")
    smtp_port: int | None = Field(None, description="Default 465 (ssl), 587 (starttls) or 25.")
    smtp_security: Security = Field("starttls", description="ssl, starttls or none.")
    timeout: float = Field(30.0, gt=0, description="Seconds before a mail server call gives up.")
    interval: float = Field(60.0, gt=0, description="Seconds between polls.")


def message_ids(value: str | None) -> list[str]:
    """The ids in a Message-ID / In-Reply-To / References header, without brackets."""
    if not value:
        return []
    found = _MSGID.findall(str(value))
    if not found and str(value).strip():
        return [str(value).strip().strip("<>")]
    return found


def _body_text(message: Message) -> str:
    part = (
        message.get_body(preferencelist=("plain", "html"))
        if isinstance(message, EmailMessage)
        else None
    )
    if part is None:
        payload = message.get_payload(decode=True)
        if isinstance(payload, bytes):
            return payload.decode(message.get_content_charset() or "utf-8", "replace")
        return ""
    try:
        content = part.get_content()
    except (LookupError, UnicodeDecodeError, AssertionError):
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    if part.get_content_subtype() == "html":
        return html_to_text(str(content))
    return str(content)


def strip_quoted(text: str) -> str:
    """Drop the quoted history a reply carries at its end ("On ... wrote:" and `>` lines)."""
    lines = text.rstrip().splitlines()
    end = len(lines)
    while end and (lines[end - 1].startswith(">") or not lines[end - 1].strip()):
        end -= 1
    if end < len(lines) and end and _QUOTE_HEADER.match(lines[end - 1].strip()):
        end -= 1
    kept = "\n".join(lines[:end]).strip()
    return kept or text.strip()


def decode_raw(data: bytes) -> tuple[str, str]:
    """(text, encoding) with nothing lost: UTF-8, else Latin-1 (byte for byte)."""
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def parse_mail(
    data: bytes,
    *,
    channel: str,
    our_address: str,
    fallback_id: str,
    internal_date: datetime | None = None,
    line: int | None = None,
) -> ParsedMessage | Rejected:
    raw, encoding = decode_raw(data)
    try:
        message = BytesParser(policy=policy.default).parsebytes(data)
        sender_name, sender = parseaddr(str(message.get("From", "")))
    except Exception as exc:  # the parser is lenient; a header that still breaks it is bad input
        return Rejected(line, f"unreadable mail: {type(exc).__name__}: {exc}", raw)
    if not sender or "@" not in sender:
        return Rejected(line, "mail has no sender address (From)", raw, field="From")
    created: datetime | None = None
    if message.get("Date"):
        try:
            created = parsedate_to_datetime(str(message["Date"]))
        except (TypeError, ValueError, IndexError):
            created = None
        if created is not None and created.tzinfo is None:
            created = created.replace(tzinfo=UTC)
    created = created or internal_date
    if created is None:
        return Rejected(
            line, f"mail has no readable Date: {message.get('Date')!r}", raw, field="Date"
        )
    ids = message_ids(message.get("Message-ID"))
    external_id = ids[0] if ids else fallback_id
    references = message_ids(message.get("References"))
    in_reply_to = message_ids(message.get("In-Reply-To"))
    parent = in_reply_to[0] if in_reply_to else (references[-1] if references else None)
    try:
        body = strip_quoted(_body_text(message))
    except Exception as exc:
        return Rejected(line, f"mail body cannot be decoded: {exc}", raw, field="body")
    subject = str(message.get("Subject") or "")
    ours = sender.casefold() == our_address.casefold()
    meta: dict[str, Any] = {
        "subject": subject,
        "message_id": external_id,
        "to": [a for _, a in getaddresses([str(v) for v in message.get_all("To", [])])],
        "cc": [a for _, a in getaddresses([str(v) for v in message.get_all("Cc", [])])] or None,
        "references": references or None,
        "raw_encoding": encoding if encoding != "utf-8" else None,
        "attachments": [p.get_filename() for p in message.iter_attachments()] or None,
    }
    return ParsedMessage(
        external_id=external_id[:255],
        author=sender.lower(),
        author_name=sender_name or None,
        direction=OUTBOUND if ours else INBOUND,
        created_at=created.astimezone(UTC),
        text=body,
        raw=raw,
        line=line,
        channel=channel,
        parent_external_id=parent[:255] if parent else None,
        meta={k: v for k, v in meta.items() if v is not None},
    )


class EmailConnector:
    kind = "email"

    def __init__(self, name: str, options: EmailOptions, ctx: ConnectorContext) -> None:
        self.name = name
        self.options = options
        self.ctx = ctx

    # ------------------------------------------------------------ IMAP

    def _imap(self) -> imaplib.IMAP4:
        o = self.options
        try:
            if o.imap_security == "ssl":
                conn: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                    o.imap_host,
                    o.imap_port or 993,
                    ssl_context=ssl.create_default_context(),
                    timeout=o.timeout,
                )
            else:
                conn = imaplib.IMAP4(o.imap_host, o.imap_port or 143, timeout=o.timeout)
                if o.imap_security == "starttls":
                    conn.starttls(ssl.create_default_context())
            if o.password is not None:
                conn.login(o.username or o.handle, o.password)
        except imaplib.IMAP4.error as exc:
            raise ConnectorFailed(
                f"imap {o.imap_host}: login refused: {exc}", retryable=False
            ) from None
        except (OSError, imaplib.IMAP4.abort) as exc:
            raise ConnectorFailed(
                f"imap {o.imap_host}: cannot connect: {exc}", retryable=True
            ) from None
        return conn

    @staticmethod
    def _ok(result: tuple[str, Any], what: str) -> Any:
        status, data = result
        if status != "OK":
            raise ConnectorFailed(f"imap: {what} failed: {data!r:.200}", retryable=True)
        return data

    def poll(self, cursor: str | None) -> Page:
        state = json.loads(cursor) if cursor else {}
        conn = self._imap()
        try:
            return self._poll(conn, state)
        except (OSError, imaplib.IMAP4.abort) as exc:
            raise ConnectorFailed(
                f"imap {self.options.imap_host}: connection lost: {exc}", retryable=True
            ) from None
        finally:
            with contextlib.suppress(OSError, imaplib.IMAP4.error):
                conn.logout()

    def _poll(self, conn: imaplib.IMAP4, state: dict[str, Any]) -> Page:
        self._ok(
            conn.select(_quote(self.options.mailbox), readonly=True),
            f"SELECT {self.options.mailbox}",
        )
        validity_data = conn.response("UIDVALIDITY")[1]
        validity = int(validity_data[0]) if validity_data and validity_data[0] else 0
        last_uid = int(state.get("uid", 0)) if state.get("uidvalidity") == validity else 0
        found = self._ok(conn.uid("SEARCH", f"UID {last_uid + 1}:*"), "UID SEARCH")
        uids = sorted(int(u) for u in (found[0] or b"").split() if int(u) > last_uid)
        batch, rest = uids[:BATCH], uids[BATCH:]
        page = Page(messages=[], has_more=bool(rest))
        if batch:
            data = self._ok(
                conn.uid("FETCH", ",".join(map(str, batch)), "(UID INTERNALDATE BODY.PEEK[])"),
                "UID FETCH",
            )
            for item in data:
                if not isinstance(item, tuple):
                    continue
                head, body = item[0].decode("ascii", "replace"), item[1]
                uid_match = re.search(r"UID (\d+)", head)
                uid = int(uid_match.group(1)) if uid_match else 0
                date_match = re.search(r'INTERNALDATE "([^"]+)"', head)
                internal = None
                if date_match:
                    parsed = imaplib.Internaldate2tuple(
                        f'INTERNALDATE "{date_match.group(1)}"'.encode()
                    )
                    if parsed:
                        internal = datetime(*parsed[:6], tzinfo=UTC)
                record = parse_mail(
                    body,
                    channel=self.name,
                    our_address=self.options.handle,
                    fallback_id=f"imap:{validity}:{uid}",
                    internal_date=internal,
                    line=uid,
                )
                if isinstance(record, Rejected):
                    page.rejected.append(record)
                else:
                    record.meta["imap_uid"] = uid
                    page.messages.append(record)
            last_uid = batch[-1]
        page.cursor = json.dumps({"uidvalidity": validity, "uid": last_uid})
        return page

    def receive(self, body: bytes, headers: dict[str, str]) -> Page:
        raise WebhookRefused(
            f"channel {self.name!r} (email) reads its mailbox, it is not pushed to", status=404
        )

    # ------------------------------------------------------------ SMTP

    def compose(self, reply: OutboundReply) -> EmailMessage:
        parent = (
            self.ctx.lookup(reply.in_reply_to_external_id)
            if reply.in_reply_to_external_id
            else None
        )
        to = reply.to_handle or (parent.author if parent else None)
        if not to or "@" not in to:
            raise SendFailed("email: no recipient address for this reply", retryable=False)
        message = EmailMessage()
        sender = reply.from_account if reply.from_account and "@" in reply.from_account else None
        message["From"] = sender or Address(addr_spec=self.options.handle)
        message["To"] = to
        subject = str(parent.meta.get("subject") or "") if parent else ""
        if not subject:
            subject = "Your message"
        message["Subject"] = subject if subject.lower().startswith("re:") else f"Re: {subject}"
        message["Date"] = format_datetime(datetime.now(UTC))
        domain = self.options.handle.rpartition("@")[2] or None
        message["Message-ID"] = make_msgid(f"rapport.{reply.outbox_id}", domain=domain)
        if parent is not None:
            refs = [*(parent.meta.get("references") or []), parent.external_id]
            message["In-Reply-To"] = f"<{parent.external_id}>"
            message["References"] = " ".join(f"<{r}>" for r in refs[-20:])
        message.set_content(reply.text)
        return message

    def _smtp(self) -> smtplib.SMTP:
        o = self.options
        host = o.smtp_host or o.imap_host
        if o.smtp_security == "ssl":
            conn: smtplib.SMTP = smtplib.SMTP_SSL(
                host, o.smtp_port or 465, timeout=o.timeout, context=ssl.create_default_context()
            )
        else:
            conn = smtplib.SMTP(
                host,
                o.smtp_port or (587 if o.smtp_security == "starttls" else 25),
                timeout=o.timeout,
            )
            if o.smtp_security == "starttls":
                conn.starttls(context=ssl.create_default_context())
        if o.password is not None and conn.has_extn("auth"):
            conn.login(o.username or o.handle, o.password)
        return conn

    def send(self, reply: OutboundReply) -> Receipt:
        message = self.compose(reply)
        host = self.options.smtp_host or self.options.imap_host
        try:
            conn = self._smtp()
            try:
                refused = conn.send_message(message)
            finally:
                with contextlib.suppress(OSError, smtplib.SMTPException):
                    conn.quit()
        except smtplib.SMTPAuthenticationError as exc:
            raise SendFailed(
                f"smtp {host}: login refused: {exc.smtp_code} {exc.smtp_error!r}", retryable=False
            ) from None
        except smtplib.SMTPRecipientsRefused as exc:
            raise SendFailed(
                f"smtp {host}: recipient refused: {exc.recipients}", retryable=False
            ) from None
        except smtplib.SMTPResponseException as exc:
            raise SendFailed(
                f"smtp {host}: {exc.smtp_code} {exc.smtp_error!r}",
                retryable=400 <= exc.smtp_code < 500,
            ) from None
        except (TimeoutError, smtplib.SMTPException, OSError) as exc:
            raise SendFailed(f"smtp {host}: {type(exc).__name__}: {exc}", retryable=True) from None
        if refused:
            raise SendFailed(f"smtp {host}: recipients refused: {refused}", retryable=False)
        message_id = message_ids(message["Message-ID"])[0]
        return Receipt(
            external_id=message_id,
            sent_at=datetime.now(UTC),
            raw={
                "message_id": message_id,
                "to": str(message["To"]),
                "subject": str(message["Subject"]),
                "mime": message.as_string(),
            },
        )

    def check(self) -> str:
        conn = self._imap()
        try:
            status, data = conn.select(_quote(self.options.mailbox), readonly=True)
            if status != "OK":
                raise ConnectorFailed(
                    f"imap: no mailbox {self.options.mailbox!r}: {data!r:.200}", retryable=False
                )
            count = int(data[0] or 0)
        finally:
            with contextlib.suppress(OSError, imaplib.IMAP4.error):
                conn.logout()
        try:
            smtp = self._smtp()
            smtp.noop()
            smtp.quit()
        except (smtplib.SMTPException, OSError) as exc:
            raise ConnectorFailed(f"smtp: {type(exc).__name__}: {exc}", retryable=True) from None
        return f"imap: {count} messages in {self.options.mailbox}; smtp reachable"


def _quote(mailbox: str) -> str:
    return (
        mailbox
        if re.fullmatch(r"[A-Za-z0-9_./-]+", mailbox)
        else '"' + mailbox.replace('"', '\\"') + '"'
    )


CONNECTOR_TYPE = ConnectorType(
    kind="email",
    summary="Email: an IMAP mailbox in (threaded by Message-ID/References), SMTP replies out",
    options=EmailOptions,
    secret_fields=frozenset({"password"}),
    build=EmailConnector,
    pollable=True,
    receives=False,
    sends=True,
    default_interval=60.0,
)
