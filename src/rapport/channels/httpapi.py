"""HTTP for connectors: httpx with timeouts everywhere, retries with
exponential backoff and jitter (tenacity), HTTP 429 / `Retry-After` and the
platforms' rate-limit headers honoured, and a transport seam.

The seam: every connector builds its client through `HttpApi`, which takes
an ``httpx.BaseTransport``; tests hand it an ``httpx.MockTransport`` that
replays responses recorded in each platform's documented format.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import httpx
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from rapport.channels.errors import ConnectorFailed, RateLimited

#: connect, read, write, pool: no call waits for ever.
DEFAULT_TIMEOUT = httpx.Timeout(20.0, connect=5.0)
USER_AGENT = "Rapport/0.1 (+https://github.com/rapport-crm; social CRM connector)"


class _Retryable(Exception):
    """A response worth trying again (5xx, a short 429)."""

    def __init__(self, response: httpx.Response, retry_after: float | None) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response
        self.retry_after = retry_after


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """`Retry-After` as seconds to wait: delta-seconds or an HTTP date."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - (now if now is not None else time.time()))


def _reset_epoch(value: str) -> float | None:
    """A rate-limit reset: epoch seconds (Bluesky) or ISO 8601 (Mastodon)."""
    value = value.strip()
    try:
        number = float(value)
    except ValueError:
        try:
            stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=UTC)
        return stamp.timestamp()
    # Small numbers are seconds from now (draft IETF RateLimit headers).
    return number if number > 1e9 else time.time() + number


def describe_error(response: httpx.Response, limit: int = 300) -> str:
    """The platform's own words about a failed call, shortened."""
    text = ""
    try:
        body = response.json()
    except ValueError:
        text = response.text
    else:
        if isinstance(body, dict):
            for key in ("error_description", "message", "error", "errors", "detail"):
                if body.get(key):
                    value = body[key]
                    text = "; ".join(map(str, value)) if isinstance(value, list) else str(value)
                    break
            else:
                text = str(body)
        else:
            text = str(body)
    text = " ".join(text.split())
    return text[:limit] + ("…" if len(text) > limit else "")


class HttpApi:
    """One platform's HTTP API for one connector run."""

    def __init__(
        self,
        base_url: str,
        *,
        platform: str,
        headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        attempts: int = 4,
        max_wait: float = 30.0,
        auth: httpx.Auth | tuple[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.platform = platform
        self.attempts = attempts
        #: Longest wait we sit out inside one call; longer ones become `RateLimited`.
        self.max_wait = max_wait
        self.sleep = sleep
        #: Epoch seconds before which the platform's budget is spent.
        self.blocked_until: float | None = None
        self.requests = 0
        self.client = httpx.Client(
            base_url=base_url,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json", **(headers or {})},
            transport=transport,
            timeout=timeout,
            auth=auth,
            follow_redirects=True,
        )

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> HttpApi:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ rate limits

    def _note_budget(self, response: httpx.Response) -> None:
        headers = response.headers
        remaining = headers.get("x-ratelimit-remaining") or headers.get("ratelimit-remaining")
        reset = headers.get("x-ratelimit-reset") or headers.get("ratelimit-reset")
        if remaining is None or reset is None:
            return
        try:
            left = float(remaining)
        except ValueError:
            return
        if left <= 0:
            self.blocked_until = _reset_epoch(reset)

    def _wait_for_budget(self) -> None:
        if self.blocked_until is None:
            return
        wait = self.blocked_until - time.time()
        if wait <= 0:
            self.blocked_until = None
            return
        if wait > self.max_wait:
            raise RateLimited(
                f"{self.platform}: rate-limit budget spent; it resets in {wait:.0f}s",
                retry_after=wait,
            )
        self.sleep(wait)
        self.blocked_until = None

    # ------------------------------------------------------------ requests

    def _wait(self, state: RetryCallState) -> float:
        backoff = wait_exponential_jitter(multiplier=0.25, max=10.0, jitter=0.25)(state)
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _Retryable) and exc.retry_after is not None:
            return max(exc.retry_after, 0.0)
        return backoff

    def request(
        self,
        method: str,
        url: str,
        *,
        ok: tuple[int, ...] = (),
        **kwargs: Any,
    ) -> httpx.Response:
        """Send one request, retried on timeouts, connection errors, 5xx and
        short 429s. Answers in ``ok`` (e.g. 304) are returned like 2xx; any
        other 4xx raises `ConnectorFailed(retryable=False)` at once."""

        def attempt() -> httpx.Response:
            self._wait_for_budget()
            self.requests += 1
            response = self.client.request(method, url, **kwargs)
            self._note_budget(response)
            status = response.status_code
            if status < 300 or status in ok:
                return response
            if status == 429:
                wait = parse_retry_after(response.headers.get("retry-after"))
                if wait is None and self.blocked_until is not None:
                    wait = max(0.0, self.blocked_until - time.time())
                if wait is None:
                    wait = 5.0
                if wait > self.max_wait:
                    raise RateLimited(
                        f"{self.platform}: HTTP 429 rate limited on {method} {url}; "
                        f"retry after {wait:.0f}s ({describe_error(response)})",
                        retry_after=wait,
                    )
                self.blocked_until = None
                raise _Retryable(response, wait)
            if status >= 500 or status == 408:
                raise _Retryable(response, parse_retry_after(response.headers.get("retry-after")))
            raise ConnectorFailed(
                f"{self.platform}: HTTP {status} on {method} {url}: {describe_error(response)}",
                retryable=False,
            )

        retrying = Retrying(
            retry=retry_if_exception(lambda e: isinstance(e, _Retryable | httpx.TransportError)),
            stop=stop_after_attempt(self.attempts),
            wait=self._wait,
            sleep=self.sleep,
            reraise=True,
        )
        try:
            return retrying(attempt)
        except _Retryable as exc:
            status = exc.response.status_code
            if status == 429:
                raise RateLimited(
                    f"{self.platform}: still rate limited after {self.attempts} attempts "
                    f"on {method} {url}",
                    retry_after=exc.retry_after or 60.0,
                ) from None
            raise ConnectorFailed(
                f"{self.platform}: HTTP {status} on {method} {url} after {self.attempts} "
                f"attempts: {describe_error(exc.response)}",
                retryable=True,
            ) from None
        except httpx.TimeoutException as exc:
            raise ConnectorFailed(
                f"{self.platform}: timed out on {method} {url} after {self.attempts} attempts "
                f"({type(exc).__name__})",
                retryable=True,
            ) from None
        except httpx.TransportError as exc:
            raise ConnectorFailed(
                f"{self.platform}: cannot reach {method} {url}: {type(exc).__name__}: {exc}",
                retryable=True,
            ) from None

    def get_json(self, url: str, **kwargs: Any) -> Any:
        return self.json_of(self.request("GET", url, **kwargs), url)

    def post_json(self, url: str, **kwargs: Any) -> Any:
        return self.json_of(self.request("POST", url, **kwargs), url)

    def json_of(self, response: httpx.Response, url: str) -> Any:
        try:
            return response.json()
        except ValueError:
            raise ConnectorFailed(
                f"{self.platform}: {url} answered HTTP {response.status_code} with something "
                f"that is not JSON: {response.text[:200]!r}",
                retryable=True,
            ) from None
