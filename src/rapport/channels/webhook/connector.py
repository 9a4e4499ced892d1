"""A generic webhook: any system POSTs messages to
`/api/v1/channels/{name}/webhook` as JSON, one object
(`{"id", "author", "text", "created_at", "in_reply_to"}`, other keys kept
in the meta) or a list of them, signed with the channel's secret:

    X-Rapport-Signature: sha256=<hex HMAC-SHA256 of the raw body>

Replies go back, when `--set reply_url=...` is given, as a signed JSON POST
to that URL (same header, same secret); without it the channel only listens.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from rapport.channels.base import ConnectorContext, OutboundReply, Page, Receipt
from rapport.channels.errors import ConnectorFailed, NoConnector, SendFailed, SignatureInvalid
from rapport.channels.httpapi import HttpApi
from rapport.channels.registry import ConnectorType
from rapport.conversations.importers.jsonl import parse_object
from rapport.conversations.importers.records import Rejected
from rapport.conversations.importers.tabular import RowError

SIGNATURE_HEADER = "x-rapport-signature"
#: Messages one delivery may carry.
MAX_BATCH = 1000


class WebhookOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    secret: str = Field(min_length=16, description="Shared HMAC secret (16+ characters).")
    reply_url: str | None = Field(
        None, description="Where replies are POSTed (signed); unset: listen only."
    )


def sign(secret: str, body: bytes) -> str:
    """The `X-Rapport-Signature` value for ``body``."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


class WebhookConnector:
    kind = "webhook"

    def __init__(self, name: str, options: WebhookOptions, ctx: ConnectorContext) -> None:
        self.name = name
        self.options = options
        self.ctx = ctx

    def verify(self, body: bytes, headers: dict[str, str]) -> None:
        given = headers.get(SIGNATURE_HEADER, "").strip()
        if not given:
            raise SignatureInvalid(
                "missing X-Rapport-Signature header (sha256=<hex HMAC-SHA256 of the body>)"
            )
        if not given.startswith("sha256="):
            raise SignatureInvalid("X-Rapport-Signature must be 'sha256=<hex>'")
        if not hmac.compare_digest(sign(self.options.secret, body), given.lower()):
            raise SignatureInvalid("X-Rapport-Signature does not match the body")

    def receive(self, body: bytes, headers: dict[str, str]) -> Page:
        self.verify(body, headers)
        page = Page(messages=[])
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            page.rejected.append(
                Rejected(
                    None,
                    f"body is not UTF-8 (undecodable byte at offset {exc.start})",
                    body.decode("utf-8", "replace"),
                    raw_bytes=body,
                )
            )
            return page
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            page.rejected.append(
                Rejected(
                    None, f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}", text
                )
            )
            return page
        items = document if isinstance(document, list) else [document]
        if len(items) > MAX_BATCH:
            page.rejected.append(
                Rejected(None, f"{len(items)} messages in one delivery (at most {MAX_BATCH})", text)
            )
            return page
        for index, item in enumerate(items, 1):
            raw = text if len(items) == 1 else json.dumps(item, ensure_ascii=False)
            line = None if len(items) == 1 else index
            try:
                message = parse_object(item, line=line, raw=raw)
            except RowError as exc:
                page.rejected.append(
                    Rejected(line, f"{exc.field}: {exc.reason}", raw, field=exc.field)
                )
                continue
            message.channel = self.name  # a delivery cannot write to another channel
            page.messages.append(message)
        return page

    def poll(self, cursor: str | None) -> Page:
        return Page(messages=[], cursor=cursor)

    def send(self, reply: OutboundReply) -> Receipt:
        if not self.options.reply_url:
            raise NoConnector(
                f"channel {self.name!r} is a listen-only webhook: add a reply URL "
                f"(`rapport channels add webhook {self.name} --secret ... --set reply_url=https://...`)"
            )
        now = datetime.now(UTC)
        payload: dict[str, Any] = {
            "id": f"rapport-outbox-{reply.outbox_id}",
            "channel": self.name,
            "text": reply.text,
            "in_reply_to": reply.in_reply_to_external_id,
            "to": reply.to_handle,
            "private": reply.private,
            "author": reply.from_account,
            "created_at": now.isoformat(),
        }
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        headers = {
            "Content-Type": "application/json",
            "X-Rapport-Signature": sign(self.options.secret, body),
            "Idempotency-Key": payload["id"],
        }
        try:
            with HttpApi("", platform=f"webhook {self.name}", transport=self.ctx.transport) as api:
                response = api.request(
                    "POST", self.options.reply_url, content=body, headers=headers
                )
        except ConnectorFailed as exc:
            raise SendFailed(str(exc), retryable=exc.retryable) from None
        external_id = payload["id"]
        answer: dict[str, Any] = {}
        try:
            parsed = response.json()
            if isinstance(parsed, dict):
                answer = parsed
                external_id = str(parsed.get("id") or external_id)
        except ValueError:
            pass
        return Receipt(
            external_id=external_id, sent_at=now, raw={"request": payload, "response": answer}
        )

    def check(self) -> str:
        where = (
            f"replies POST to {self.options.reply_url}" if self.options.reply_url else "listen only"
        )
        return f"accepts signed POSTs at /api/v1/channels/{self.name}/webhook; {where}"


CONNECTOR_TYPE = ConnectorType(
    kind="webhook",
    summary="Generic signed webhook (JSON messages, HMAC-SHA256); optional signed replies",
    options=WebhookOptions,
    secret_fields=frozenset({"secret"}),
    build=WebhookConnector,
    pollable=False,
    receives=True,
    sends=True,
    default_interval=300.0,
)
