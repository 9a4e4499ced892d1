"""Webhook intake: `POST /api/v1/channels/{name}/webhook`.

The body is read with a hard 1 MB cap (413 beyond it, before it is all
read), handed with its headers and URL to the channel's connector, which
checks the signature (401 when missing or wrong: nothing is stored) and
parses it; the messages are stored once each (a redelivery is accepted
again and stores nothing new). A body that is signed but malformed is
quarantined with its reason and answered 422. Twilio deliveries are answered
with an empty TwiML document, as Twilio expects.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from rapport.channels import service
from rapport.channels.errors import PayloadTooLarge, WebhookRefused

router = APIRouter(tags=["channels"])

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


async def _read_capped(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"body of {declared} bytes is over the {limit} byte limit")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"body is over the {limit} byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


@router.post(
    "/api/v1/channels/{name}/webhook",
    status_code=202,
    responses={
        401: {"description": "missing or wrong signature"},
        404: {"description": "no such channel, or it takes no webhooks"},
        413: {"description": "body over 1 MB"},
        422: {"description": "signed, but malformed: quarantined with the reason"},
    },
)
async def receive_webhook(name: str, request: Request) -> Response:
    """Receive one delivery for channel ``name`` (generic webhook: JSON signed
    with `X-Rapport-Signature: sha256=<hex HMAC-SHA256 of the body>`; sms:
    Twilio's form POST signed with `X-Twilio-Signature`)."""
    try:
        body = await _read_capped(request, service.MAX_WEBHOOK_BYTES)
        headers = {k.lower(): v for k, v in request.headers.items()}
        headers[":url"] = str(request.url)
        result = await run_in_threadpool(service.do_receive_webhook, name, body, headers)
    except WebhookRefused as exc:
        extra = {"Retry-After": "60"} if exc.status == 503 else None
        return JSONResponse({"detail": str(exc)}, status_code=exc.status, headers=extra)
    if result.quarantined and not (result.inserted or result.duplicates):
        return JSONResponse(
            {"detail": "; ".join(result.reasons), "quarantined": result.quarantined},
            status_code=422,
        )
    if "x-twilio-signature" in headers:
        return Response(EMPTY_TWIML, status_code=200, media_type="application/xml")
    return JSONResponse(result.model_dump(), status_code=202)
