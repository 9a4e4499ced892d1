"""Channels benchmarks, each against a baseline measured in the same run.

* `channels.webhook_intake`: signed webhook deliveries per second answered
  202 by Rapport served by uvicorn on 127.0.0.1 (signature check, parse,
  store, thread, people), under a bounded load (a fixed number of requests
  from a few client threads); baseline: the same requests to a bare ASGI
  endpoint on the same server stack that reads the body and answers 202.
* `channels.feed_parse`: Atom entries per second turned into messages by the
  RSS connector; baseline: `feedparser.parse` alone on the same document.
"""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from xml.sax.saxutils import escape

import feedparser
import httpx

from rapport.bench import BenchOptions, BenchResult

SECRET = "bench-webhook-secret-0123456789"
CLIENT_THREADS = 4


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def baseline_app() -> Any:
    """The baseline: an ASGI endpoint that reads the body and answers 202."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def accept(request: Request) -> JSONResponse:
        await request.body()
        return JSONResponse({"accepted": True}, status_code=202)

    return Starlette(routes=[Route("/api/v1/channels/{name}/webhook", accept, methods=["POST"])])


def _serve(factory: str, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "uvicorn", factory, "--factory",
            "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode() if proc.stderr else ""
            raise RuntimeError(f"{factory} did not start: {err[-1000:]}")
        try:
            httpx.get(base + "/", timeout=1.0)
            return proc, base
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"{factory} did not answer within 60 s")


def _bodies(count: int) -> list[tuple[bytes, str]]:
    from rapport.channels.webhook.connector import sign

    rng = random.Random(7)
    start = datetime(2024, 5, 1, tzinfo=UTC)
    bodies = []
    for i in range(count):
        doc = {
            "id": f"bench-{i}",
            "author": f"customer{rng.randrange(count // 3 + 1)}",
            "text": f"Order {rng.randrange(10**6)} not delivered, tracking says otherwise #{i}",
            "created_at": (start + timedelta(seconds=i)).isoformat(),
            "in_reply_to": f"bench-{i - 1}" if i and rng.random() < 0.3 else None,
        }
        body = json.dumps(doc).encode()
        bodies.append((body, sign(SECRET, body)))
    return bodies


def _load(base: str, bodies: list[tuple[bytes, str]]) -> tuple[float, dict[int, int]]:
    """Send every body once from a few threads; (seconds, status counts)."""
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    chunks = [bodies[i::CLIENT_THREADS] for i in range(CLIENT_THREADS)]

    def worker(chunk: list[tuple[bytes, str]]) -> None:
        local: dict[int, int] = {}
        with httpx.Client(base_url=base, timeout=30.0) as client:
            for body, signature in chunk:
                response = client.post(
                    "/api/v1/channels/bench/webhook",
                    content=body,
                    headers={"Content-Type": "application/json", "X-Rapport-Signature": signature},
                )
                local[response.status_code] = local.get(response.status_code, 0) + 1
        with lock:
            for code, n in local.items():
                statuses[code] = statuses.get(code, 0) + n

    threads = [threading.Thread(target=worker, args=(c,)) for c in chunks]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - started, statuses


def _webhook_intake(options: BenchOptions, tmp: str) -> BenchResult:
    count = max(200, min(2000, options.size // 100))
    db_url = f"sqlite:///{tmp}/webhook-bench.db"
    env = {
        **os.environ,
        "RAPPORT_DATABASE_URL": db_url,
        "RAPPORT_DATA_DIR": tmp,
        "RAPPORT_ENV": "dev",
    }
    env.pop("RAPPORT_BROKER_URL", None)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "rapport",
            "channels",
            "add",
            "webhook",
            "bench",
            "--secret",
            SECRET,
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    bodies = _bodies(count)
    proc, base = _serve("rapport.bench.channels:baseline_app", env)
    try:
        _load(base, bodies[:50])  # warm-up
        base_seconds, base_statuses = _load(base, bodies)
    finally:
        proc.terminate()
        proc.wait(10)
    proc, base = _serve("rapport.web.app:create_app", env)
    try:
        ours_seconds, statuses = _load(base, bodies)
        # Redelivery of everything: 202 again, nothing stored twice.
        redelivery_seconds, redelivered = _load(base, bodies)
    finally:
        proc.terminate()
        proc.wait(10)
    import sqlite3

    with sqlite3.connect(f"{tmp}/webhook-bench.db") as lite:
        stored = lite.execute("SELECT count(*) FROM message").fetchone()[0]
    ours_rate = count / ours_seconds
    base_rate = count / base_seconds
    return BenchResult(
        name="channels.webhook_intake",
        figures={
            "requests": count,
            "client_threads": CLIENT_THREADS,
            "accepted_202": statuses.get(202, 0),
            "other_statuses": {str(k): v for k, v in statuses.items() if k != 202},
            "stored_messages": stored,
            "intake_req_per_s": round(ours_rate, 1),
            "redelivery_req_per_s": round(count / redelivery_seconds, 1),
            "redelivered_202": redelivered.get(202, 0),
            "baseline_bare_asgi_req_per_s": round(base_rate, 1),
            "baseline_accepted_202": base_statuses.get(202, 0),
            "ratio_to_baseline": round(ours_rate / base_rate, 3),
        },
        notes="signed JSON webhooks to uvicorn on 127.0.0.1, SQLite; baseline: bare ASGI 202",
    )


def _atom(entries: int) -> bytes:
    rng = random.Random(11)
    start = datetime(2024, 5, 1, tzinfo=UTC)
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom"><title>Bench forum</title>',
        "<id>urn:bench</id><updated>2024-05-01T00:00:00Z</updated>",
    ]
    for i in range(entries):
        stamp = (start + timedelta(minutes=i)).strftime("%Y-%m-%dT%H:%M:%SZ")
        body = escape(
            f"<p>Post {i}: my order {rng.randrange(10**6)} is <b>late</b> again &amp; support "
            "has not answered. Anyone else?</p>"
        )
        parts.append(
            f"<entry><title>Question {i}</title><id>urn:bench:{i}</id>"
            f'<link href="https://forum.example/t/{i}"/><published>{stamp}</published>'
            f"<author><name>user{i % 97}</name></author>"
            f'<content type="html">{body}</content></entry>'
        )
    parts.append("</feed>")
    return "".join(parts).encode()


def _feed_parse(options: BenchOptions) -> BenchResult:
    from rapport.channels.rss.connector import parse_feed

    entries = max(100, min(2000, options.size // 200))
    document = _atom(entries)
    rounds = 3
    started = time.perf_counter()
    for _ in range(rounds):
        parsed = feedparser.parse(document)
    base_seconds = time.perf_counter() - started
    assert len(parsed.entries) == entries
    started = time.perf_counter()
    for _ in range(rounds):
        page = parse_feed(document, channel="bench", fetched_at=datetime.now(UTC))
    ours_seconds = time.perf_counter() - started
    assert len(page.messages) == entries and not page.rejected
    ours_rate = entries * rounds / ours_seconds
    base_rate = entries * rounds / base_seconds
    return BenchResult(
        name="channels.feed_parse",
        figures={
            "entries": entries,
            "feed_bytes": len(document),
            "parse_entries_per_s": round(ours_rate),
            "baseline_feedparser_entries_per_s": round(base_rate),
            "ratio_to_baseline": round(ours_rate / base_rate, 3),
        },
        notes="Atom document to stored-ready messages; baseline: feedparser.parse alone",
    )


def run(options: BenchOptions) -> list[BenchResult]:
    results = [_feed_parse(options)]
    with tempfile.TemporaryDirectory(dir=options.work_dir) as tmp:
        try:
            results.append(_webhook_intake(options, tmp))
        except (RuntimeError, OSError, subprocess.CalledProcessError) as exc:
            results.append(BenchResult("channels.webhook_intake", notes=f"failed: {exc}"))
    return results


if __name__ == "__main__":  # pragma: no cover - manual runs
    for result in run(BenchOptions(size=int(sys.argv[1]) if len(sys.argv) > 1 else 200_000)):
        print(result.name, json.dumps(result.figures), result.notes)
