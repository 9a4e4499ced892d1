"""SMS through Twilio.

Inbound: Twilio POSTs each message as `application/x-www-form-urlencoded`
(`MessageSid`, `From`, `To`, `Body`, `NumMedia`, `MediaUrl0`...) to
`/api/v1/channels/{name}/webhook`, signed in `X-Twilio-Signature`:
base64(HMAC-SHA1(auth token, URL + every POST parameter's name and value
in name order)). Poll (catches up on deliveries missed while down): `GET
/2010-04-01/Accounts/{sid}/Messages.json?To=<our number>`. Outbound: `POST
.../Messages.json` with `From`, `To`, `Body`.

SMS has no reply links: each message is attached to the previous one
exchanged with the same number, so a conversation with a number is a thread.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field

from rapport.channels.base import ConnectorContext, OutboundReply, Page, Receipt
from rapport.channels.errors import ConnectorFailed, SendFailed, SignatureInvalid
from rapport.channels.httpapi import HttpApi
from rapport.channels.registry import ConnectorType
from rapport.conversations.importers.records import ParsedMessage, Rejected
from rapport.conversations.importers.timestamps import TimestampError, parse_any
from rapport.conversations.models import INBOUND, OUTBOUND

MAX_PAGES = 10
SMS_MAX_CHARS = 1600  # Twilio's limit for one message body


class SmsOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    handle: str = Field(description="Our phone number in E.164, e.g. +14155550100")
    account_sid: str = Field(description="Twilio Account SID (AC...)")
    token: str = Field(description="Twilio Auth Token: signs webhooks, authenticates the API.")
    webhook_url: str | None = Field(
        None,
        description="The public URL Twilio posts to, as configured there (signatures cover it); "
        "default: the URL the request arrived at.",
    )
    api_url: str = Field("https://api.twilio.com", description="The Twilio REST API base.")
    interval: float = Field(300.0, gt=0, description="Seconds between catch-up polls.")


def twilio_signature(auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """The `X-Twilio-Signature` Twilio computes for a form POST to ``url``."""
    grouped: dict[str, list[str]] = {}
    for key, value in params:
        grouped.setdefault(key, []).append(value)
    payload = url
    for key in sorted(grouped):
        for value in sorted(set(grouped[key])):
            payload += key + value
    digest = hmac.new(auth_token.encode("utf-8"), payload.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def _url_variants(url: str) -> list[str]:
    """The URL as given, and with/without its default port (Twilio signs
    whichever form it was configured with)."""
    parts = urlsplit(url)
    variants = [url]
    default = {"https": 443, "http": 80}.get(parts.scheme)
    host = parts.hostname or ""
    if parts.port is None and default:
        variants.append(urlunsplit(parts._replace(netloc=f"{host}:{default}")))
    elif parts.port == default:
        variants.append(urlunsplit(parts._replace(netloc=host)))
    return variants


class SmsConnector:
    kind = "sms"

    def __init__(self, name: str, options: SmsOptions, ctx: ConnectorContext) -> None:
        self.name = name
        self.options = options
        self.ctx = ctx

    # ------------------------------------------------------------ inbound

    def verify(self, body: bytes, headers: dict[str, str]) -> list[tuple[str, str]]:
        signature = headers.get("x-twilio-signature", "")
        if not signature:
            raise SignatureInvalid("missing X-Twilio-Signature header")
        try:
            params = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
        except UnicodeDecodeError:
            raise SignatureInvalid("body is not UTF-8 form data") from None
        url = self.options.webhook_url or headers.get(":url", "")
        for candidate in _url_variants(url):
            expected = twilio_signature(self.options.token, candidate, params)
            if hmac.compare_digest(expected, signature.strip()):
                return params
        raise SignatureInvalid(f"X-Twilio-Signature does not match (signed URL checked: {url})")

    def _thread_parent(self, handle: str, last: dict[str, str]) -> str | None:
        if handle in last:
            return last[handle]
        return self.ctx.latest_with(handle)

    def receive(self, body: bytes, headers: dict[str, str]) -> Page:
        params = self.verify(body, headers)
        form = dict(params)
        raw = body.decode("utf-8")
        sid = form.get("MessageSid") or form.get("SmsSid")
        sender = form.get("From")
        if not sid or not sender:
            return Page(
                messages=[],
                rejected=[
                    Rejected(
                        None, "Twilio webhook without MessageSid or From", raw, field="MessageSid"
                    )
                ],
            )
        media = [
            form[f"MediaUrl{i}"]
            for i in range(int(form.get("NumMedia") or 0))
            if form.get(f"MediaUrl{i}")
        ]
        meta: dict[str, Any] = {
            "to": form.get("To"),
            "num_segments": form.get("NumSegments"),
            "from_country": form.get("FromCountry"),
            "from_city": form.get("FromCity") or None,
            "media": media or None,
            "received_via": "webhook",
            "received_at_is_arrival": True,  # Twilio's webhook carries no timestamp
        }
        return Page(
            messages=[
                ParsedMessage(
                    external_id=sid,
                    author=sender,
                    direction=INBOUND,
                    created_at=datetime.now(UTC),
                    text=form.get("Body", ""),
                    raw=raw,
                    channel=self.name,
                    parent_external_id=self._thread_parent(sender, {}),
                    meta={k: v for k, v in meta.items() if v is not None},
                )
            ]
        )

    # ------------------------------------------------------------ API

    def _api(self) -> HttpApi:
        return HttpApi(
            self.options.api_url.rstrip("/"),
            platform="twilio",
            auth=(self.options.account_sid, self.options.token),
            transport=self.ctx.transport,
        )

    @property
    def _messages_path(self) -> str:
        return f"/2010-04-01/Accounts/{self.options.account_sid}/Messages.json"

    def poll(self, cursor: str | None) -> Page:
        """Inbound messages to our number since the cursor's day (Twilio filters by
        day; ids make the overlap harmless)."""
        since = (
            date.fromisoformat(cursor) if cursor else (datetime.now(UTC) - timedelta(days=1)).date()
        )
        page = Page(messages=[])
        newest = since
        found: list[dict[str, Any]] = []
        with self._api() as api:
            url: str | None = self._messages_path
            params: dict[str, Any] | None = {
                "To": self.options.handle,
                "DateSent>": since.isoformat(),
                "PageSize": 50,
            }
            for _ in range(MAX_PAGES):
                if url is None:
                    break
                body = api.get_json(url, params=params)
                items = body.get("messages") if isinstance(body, dict) else None
                if not isinstance(items, list):
                    raise ConnectorFailed(
                        "twilio: Messages.json has no messages list", retryable=True
                    )
                found.extend(i for i in items if isinstance(i, dict))
                url, params = body.get("next_page_uri"), None
        last: dict[str, str] = {}
        for item in sorted(found, key=lambda i: str(i.get("date_created") or "")):
            raw = json.dumps(item, ensure_ascii=False)
            try:
                stamp = parse_any(str(item.get("date_sent") or item.get("date_created") or ""))
            except TimestampError as exc:
                page.rejected.append(
                    Rejected(None, f"twilio message: {exc}", raw, field="date_sent")
                )
                continue
            sid, sender = item.get("sid"), item.get("from")
            if not sid or not sender:
                page.rejected.append(Rejected(None, "twilio message without sid or from", raw))
                continue
            outbound = str(item.get("direction", "")).startswith("outbound")
            other = str(item.get("to") if outbound else sender)
            page.messages.append(
                ParsedMessage(
                    external_id=str(sid),
                    author=str(sender),
                    direction=OUTBOUND if outbound else INBOUND,
                    created_at=stamp,
                    text=str(item.get("body") or ""),
                    raw=raw,
                    channel=self.name,
                    parent_external_id=self._thread_parent(other, last),
                    meta={
                        "to": item.get("to"),
                        "status": item.get("status"),
                        "received_via": "poll",
                    },
                )
            )
            last[other] = str(sid)
            newest = max(newest, stamp.date())
        page.cursor = newest.isoformat()
        return page

    def send(self, reply: OutboundReply) -> Receipt:
        to = reply.to_handle
        if to is None and reply.in_reply_to_external_id:
            parent = self.ctx.lookup(reply.in_reply_to_external_id)
            to = parent.author if parent else None
        if not to:
            raise SendFailed("sms: no phone number to send to", retryable=False)
        if len(reply.text) > SMS_MAX_CHARS:
            raise SendFailed(
                f"sms: {len(reply.text)} characters, Twilio takes {SMS_MAX_CHARS}", retryable=False
            )
        try:
            with self._api() as api:
                sent = api.post_json(
                    self._messages_path,
                    data={"To": to, "From": self.options.handle, "Body": reply.text},
                )
        except ConnectorFailed as exc:
            raise SendFailed(str(exc), retryable=exc.retryable) from None
        if not isinstance(sent, dict) or not sent.get("sid"):
            raise SendFailed(
                f"twilio answered without a message sid: {sent!r:.200}", retryable=False
            )
        try:
            sent_at = parse_any(str(sent.get("date_created")))
        except TimestampError:
            sent_at = datetime.now(UTC)
        return Receipt(external_id=str(sent["sid"]), sent_at=sent_at, raw=sent)

    def check(self) -> str:
        with self._api() as api:
            account = api.get_json(f"/2010-04-01/Accounts/{self.options.account_sid}.json")
        label = account.get("friendly_name") or self.options.account_sid
        return f"Twilio account {label}: {account.get('status')}"


CONNECTOR_TYPE = ConnectorType(
    kind="sms",
    summary="SMS via Twilio: signed inbound webhooks, catch-up polling, replies",
    options=SmsOptions,
    secret_fields=frozenset({"token"}),
    build=SmsConnector,
    pollable=True,
    receives=True,
    sends=True,
    default_interval=300.0,
)
