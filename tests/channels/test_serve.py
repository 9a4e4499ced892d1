"""`rapport serve` for real: its in-process scheduler polls a feed, and its
webhook endpoint answers over HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest
from sqlalchemy import func, select

from rapport.channels.webhook.connector import sign
from rapport.conversations.models import Message
from rapport.storage.engine import session_scope
from tests.channels.conftest import CASSETTES, FeedServer
from tests.conftest import Database


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _messages() -> int:
    with session_scope() as s:
        return int(s.execute(select(func.count()).select_from(Message)).scalar_one())


@pytest.mark.slow
def test_serve_runs_the_scheduler_and_takes_webhooks(
    db: Database, cli, feed_server: FeedServer
) -> None:
    url = feed_server.serve("/feed.atom", (CASSETTES / "feeds" / "product-blog.atom").read_bytes())
    cli("channels", "add", "rss", "blog", "--url", url, "--interval", "3600")
    cli("channels", "add", "webhook", "hook", "--secret", "0123456789abcdef")
    port = _port()
    env = {**os.environ, "RAPPORT_SCHEDULER_TICK_SECONDS": "0.2"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "rapport", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while _messages() < 3 and time.monotonic() < deadline:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            time.sleep(0.2)
        assert _messages() == 3  # the feed was polled by the scheduler, not by us
        body = (
            b'{"id": "w-1", "author": "kim", "text": "hello", "created_at": "2024-05-01T10:00:00Z"}'
        )
        base = f"http://127.0.0.1:{port}"
        for _ in range(50):
            try:
                answer = httpx.post(
                    f"{base}/api/v1/channels/hook/webhook",
                    content=body,
                    headers={"X-Rapport-Signature": sign("0123456789abcdef", body)},
                    timeout=10,
                )
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert answer.status_code == 202 and answer.json()["inserted"] == 1
        assert _messages() == 4
        jobs = cli("schedule", "list", "--json").json()["jobs"]
        assert jobs[0]["runs"] == 1 and jobs[0]["last_status"] == "ok"
    finally:
        proc.terminate()
        proc.wait(15)
