"""Test fixtures of the channels domain: recorded platform exchanges replayed
through httpx.MockTransport, a real local HTTP server for feeds, and a real
local mail server (pymap IMAP + aiosmtpd SMTP) for email."""

from __future__ import annotations

import imaplib
import json
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

CASSETTES = Path(__file__).resolve().parent / "fixtures"


# ---------------------------------------------------------------- replayed HTTP


@dataclass
class Replay:
    """Recorded exchanges (`fixtures/<platform>/*.json`: the request and the
    platform's documented response) served in order per method and path; the
    last one of a route repeats. Every request made is kept for assertions."""

    routes: dict[tuple[str, str], deque[dict[str, Any]]] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)

    def on(self, method: str, path: str, *cassettes: str) -> Replay:
        queue = self.routes.setdefault((method.upper(), path), deque())
        for name in cassettes:
            queue.append(json.loads((CASSETTES / name).read_text(encoding="utf-8"))["response"])
        return self

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        queue = self.routes.get((request.method, request.url.path))
        if not queue:
            return httpx.Response(
                501, json={"error": f"no recorded exchange for {request.method} {request.url.path}"}
            )
        recorded = queue.popleft() if len(queue) > 1 else queue[0]
        headers = dict(recorded.get("headers") or {})
        headers.pop("content-length", None)
        return httpx.Response(
            recorded["status"], headers=headers, content=json.dumps(recorded["body"]).encode()
        )

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handler)

    def sent(self, method: str, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == method and r.url.path == path]


@pytest.fixture
def replay() -> Replay:
    return Replay()


# ---------------------------------------------------------------- a real HTTP server


class FeedServer:
    """Serves documents on 127.0.0.1 with ETag / If-None-Match, like a web server."""

    def __init__(self) -> None:
        self.documents: dict[str, tuple[bytes, str]] = {}
        self.hits: list[tuple[str, int]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                doc = server.documents.get(self.path)
                if doc is None:
                    self.send_response(404)
                    self.end_headers()
                    server.hits.append((self.path, 404))
                    return
                body, ctype = doc
                etag = f'"{hash(body) & 0xFFFFFFFF:x}"'
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    server.hits.append((self.path, 304))
                    return
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("ETag", etag)
                self.end_headers()
                self.wfile.write(body)
                server.hits.append((self.path, 200))

            def log_message(self, *_args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def serve(self, path: str, body: bytes, ctype: str = "application/atom+xml") -> str:
        self.documents[path] = (body, ctype)
        return self.url(path)


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    server = FeedServer()
    server.thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


# ---------------------------------------------------------------- a real mail server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class MailServer:
    """pymap (a pure-Python IMAP4rev1 server) with one mailbox, and aiosmtpd
    (an SMTP server) delivering every message it accepts into that mailbox
    by IMAP APPEND, as a mail delivery agent would."""

    address: str
    password: str
    imap_port: int
    smtp_port: int
    received: list[Any] = field(default_factory=list)

    def imap(self) -> imaplib.IMAP4:
        conn = imaplib.IMAP4("127.0.0.1", self.imap_port, timeout=10)
        conn.login(self.address, self.password)
        return conn

    def deliver(self, data: bytes) -> None:
        conn = self.imap()
        try:
            status, detail = conn.append("INBOX", None, None, data)
            assert status == "OK", detail
        finally:
            conn.logout()


@pytest.fixture(scope="module")
def mail_server() -> Iterator[MailServer]:
    pytest.importorskip("aiosmtpd")
    from aiosmtpd.controller import Controller

    imap_port = _free_port()
    address, password = "support@acme.example", "s3cret-mailbox-pass"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from pymap.main import main; sys.exit(main())",
            "--host",
            "127.0.0.1",
            "--port",
            str(imap_port),
            "dict",
            "--demo-user",
            address,
            "--demo-password",
            password,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    server = MailServer(address, password, imap_port, 0)
    deadline = time.monotonic() + 20
    while True:
        try:
            server.imap().logout()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                err = proc.stderr.read().decode() if proc.stderr else ""
                pytest.fail(f"the local IMAP server (pymap) did not start: {err[-2000:]}")
            time.sleep(0.1)

    class Deliver:
        async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
            server.received.append(envelope)
            await _to_thread(server.deliver, envelope.original_content or envelope.content)
            return "250 Message accepted for delivery"

    controller = Controller(Deliver(), hostname="127.0.0.1", port=_free_port())
    controller.start()
    server.smtp_port = controller.port
    try:
        yield server
    finally:
        controller.stop()
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


async def _to_thread(fn: Any, *args: Any) -> Any:
    import asyncio

    return await asyncio.to_thread(fn, *args)
