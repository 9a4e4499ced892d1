"""Spike alerts: the robust z-score on series with known answers, the real
bursts of the airline slice (the Dallas ice storm at American, JetBlue's
"on fleek" tweet), thread velocity, rules, and notifications delivered to a
real local HTTP server and a real SMTP server, once each."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from rapport.channels.schemas import ChannelCreate
from rapport.channels.service import do_add_channel
from rapport.channels.webhook.connector import sign
from rapport.conversations.models import Message
from rapport.reports.alerts import RuleSpec, Series, detect, robust_z, share_z
from rapport.reports.models import AlertNotification
from rapport.scheduling.models import ScheduledJob
from rapport.storage.engine import session_scope

SECRET = "alert-hook-secret-0123456789"


def test_robust_z_uses_the_median_and_mad_with_a_poisson_floor() -> None:
    expected, sigma, z = robust_z(30, [10, 10, 12, 9, 11])
    assert expected == 10 and sigma == pytest.approx(10**0.5) and z == pytest.approx(20 / 10**0.5)
    expected, sigma, z = robust_z(300, [100, 140, 60, 100, 180])
    assert (
        expected == 100 and sigma == pytest.approx(1.4826 * 40) and z == pytest.approx(200 / 59.304)
    )
    p0, sigma, z = share_z(60, 100, [0.3, 0.3, 0.32, 0.28])
    assert p0 == pytest.approx(0.3) and sigma == pytest.approx((0.3 * 0.7 / 100) ** 0.5)
    assert z == pytest.approx(0.3 / sigma)


def test_detect_judges_each_hour_against_the_same_hour_on_previous_days() -> None:
    start = datetime(2024, 3, 1, tzinfo=UTC)
    series = Series("all")
    for day in range(8):
        for hour in range(24):
            at = start + timedelta(days=day, hours=hour)
            # A strong daily cycle: busy afternoons are not spikes.
            series.messages[at] = 200.0 if 12 <= hour < 18 else 20.0
    spike = start + timedelta(days=6, hours=3)
    series.messages[spike] = 90.0
    rule = RuleSpec(name="t", kind="volume", threshold=5, min_count=10)
    hits = detect(series, rule, start, start + timedelta(days=8), start)
    assert [h.start for h in hits] == [spike]
    assert hits[0].expected == 20 and "median 20 of the same hour" in hits[0].detail
    # Three days of history at least: the first days are never judged.
    early = Series("all")
    early.messages[start + timedelta(days=1, hours=3)] = 500.0
    assert detect(early, rule, start, start + timedelta(days=2), start) == []


def _alerts(cli: Any, *args: str) -> list[dict[str, Any]]:
    result = cli("alerts", *args, "--json")
    assert result.exit_code == 0, result.stderr
    return list(result.json()["alerts"])


def _texts(ids: list[int]) -> list[str]:
    with session_scope() as session:
        return list(session.execute(select(Message.text).where(Message.id.in_(ids))).scalars())


def test_the_airline_bursts_are_found_with_reasons_and_examples(airline, cli) -> None:
    alerts = _alerts(cli)
    american = [a for a in alerts if a["kind"] == "volume" and a["scope"] == "brand:americanair"]
    assert american, alerts
    storm = american[0]
    assert storm["start"].startswith("2015-02-22T2")
    assert storm["observed"] > 10 * max(storm["expected"], 1)
    assert "volume spike on brand:americanair" in storm["reason"] and "z ≥ 5" in storm["reason"]
    assert all("@americanair" in t.lower() for t in _texts(storm["example_message_ids"]))
    fleek = [
        a for a in alerts
        if a["scope"] == "brand:jetblue" and a["start"].startswith("2015-02-23T1")
    ]  # fmt: skip
    assert fleek, [a["scope"] for a in alerts]
    assert any("fleek" in t.lower() for t in _texts(fleek[0]["example_message_ids"]))
    for a in alerts:
        assert set(a) >= {
            "kind",
            "scope",
            "start",
            "end",
            "observed",
            "expected",
            "reason",
            "example_message_ids",
        }
        assert a["end"] > a["start"] and a["reason"]


def test_an_empty_range_has_no_alerts(airline, cli) -> None:
    assert _alerts(cli, "--since", "2030-01-01") == []
    assert _alerts(cli, "--since", "2015-02-20", "--until", "2015-02-19") == []


def test_a_thread_gaining_replies_fast_is_a_velocity_alert(db, cli, tmp_path: Path) -> None:
    start = datetime(2024, 5, 6, 9, 0, tzinfo=UTC)
    lines = []
    for day in range(4):  # a few quiet days of ordinary traffic first
        for i in range(5):
            at = start + timedelta(days=day, hours=i * 3)
            lines.append(
                {
                    "id": f"q{day}-{i}",
                    "author": f"u{i}",
                    "text": "@acme hello",
                    "created_at": at.isoformat(),
                }
            )
    viral = start + timedelta(days=4)
    lines.append(
        {
            "id": "v0",
            "author": "angry",
            "text": "@acme you broke my guitar and nobody cares. Worst airline ever",
            "created_at": viral.isoformat(),
            "retweet_count": 12,
        }
    )
    for i in range(1, 19):
        lines.append({
            "id": f"v{i}", "author": f"fan{i}", "in_reply_to": f"v{i - 1}",
            "text": "this is terrible, shame on @acme",
            "created_at": (viral + timedelta(minutes=3 * i)).isoformat(),
        })  # fmt: skip
    path = tmp_path / "viral.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n", encoding="utf-8")
    assert cli("ingest", str(path), "--format", "jsonl", "--channel", "social").exit_code == 0
    [velocity] = [a for a in _alerts(cli) if a["kind"] == "velocity"]
    assert velocity["observed"] == 19 + 12  # 19 messages and 12 reshares in the hour
    assert velocity["start"] == viral.isoformat().replace("+00:00", "Z")
    with session_scope() as session:
        first = session.execute(select(Message.id).where(Message.external_id == "v0")).scalar_one()
    assert velocity["example_message_ids"][0] == first
    assert "replies+reshares" in velocity["reason"]


def test_rules_are_stored_changed_and_removed(airline, cli) -> None:
    assert cli("alerts", "rule", "set", "volume-brand", "--disable").exit_code == 0
    assert not [a for a in _alerts(cli) if a["rule"] == "volume-brand"]
    ok = cli(
        "alerts", "rule", "set", "jetblue-watch", "--kind", "volume",
        "--scope", "brand:jetblue", "--z", "4", "--min-count", "5", "--json",
    )  # fmt: skip
    assert ok.exit_code == 0, ok.stderr
    mine = [a for a in _alerts(cli) if a["rule"] == "jetblue-watch"]
    assert mine and all(a["scope"] == "brand:jetblue" for a in mine)
    rules = {r["name"]: r for r in cli("alerts", "rules", "--json").json()["rules"]}
    assert rules["volume-brand"]["enabled"] is False and rules["jetblue-watch"]["threshold"] == 4
    bad = cli("alerts", "rule", "set", "x", "--kind", "volume", "--scope", "everything")
    assert bad.exit_code == 1 and "scope 'everything'" in bad.stderr
    assert cli("alerts", "rule", "set", "y", "--scope", "all").exit_code == 2  # no --kind
    assert cli("alerts", "rule", "remove", "jetblue-watch").exit_code == 0
    assert cli("alerts", "rule", "remove", "jetblue-watch").exit_code == 1
    assert cli("alerts", "rule", "remove", "volume-brand").exit_code == 0
    assert [a for a in _alerts(cli) if a["rule"] == "volume-brand"]


# ----------------------------------------------------------------- notifications


class Hook:
    """A real HTTP server on loopback recording signed POSTs."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.fail_next = 0
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if hook.fail_next > 0:
                    hook.fail_next -= 1
                    self.send_response(503)
                    self.send_header("Retry-After", "0")
                    self.end_headers()
                    return
                hook.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(json.dumps({"id": f"hook-{len(hook.received)}"}).encode())

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alerts"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()


@pytest.fixture
def hook() -> Iterator[Hook]:
    h = Hook()
    yield h
    h.server.shutdown()


def _add_channel(kind: str, name: str, options: dict[str, Any]) -> None:
    with session_scope(write=True) as session:
        do_add_channel(session, ChannelCreate(kind=kind, name=name, options=options), actor="test")


def test_alerts_are_posted_to_a_webhook_once_each(airline, cli, hook: Hook) -> None:
    _add_channel("webhook", "ops-hook", {"secret": SECRET, "reply_url": hook.url})
    ok = cli("alerts", "rule", "set", "volume-brand", "--notify", "ops-hook")
    assert ok.exit_code == 0, ok.stderr
    expected = [a for a in _alerts(cli) if a["rule"] == "volume-brand"]
    hook.fail_next = 4  # the first delivery fails all 4 attempts: retried on the next run
    first = cli("alerts", "notify", "--since", "2015-02-17", "--json").json()
    assert first["sent"] == len(expected) - 1 and first["failed"] == 1
    second = cli("alerts", "notify", "--since", "2015-02-17", "--json").json()
    assert second["sent"] == 1 and second["already_sent"] == len(expected) - 1
    third = cli("alerts", "notify", "--since", "2015-02-17", "--json").json()
    assert third["sent"] == 0 and third["already_sent"] == len(expected)
    assert len(hook.received) == len(expected)
    scopes = set()
    for headers, body in hook.received:
        assert headers["x-rapport-signature"] == sign(SECRET, body)
        payload = json.loads(body)
        assert payload["text"].startswith("[Rapport alert] volume on brand:")
        scopes.add(payload["text"].split(" on ", 1)[1].split(",", 1)[0])
    assert scopes == {a["scope"] for a in expected}
    with session_scope() as session:
        rows = list(session.execute(select(AlertNotification)).scalars())
        job = session.execute(
            select(ScheduledJob).where(ScheduledJob.kind == "reports.alerts")
        ).scalar_one()
    assert len(rows) == len(expected) and all(r.status == "sent" for r in rows)
    assert max(r.attempts for r in rows) == 2 and job.interval_seconds == 300


def test_a_rule_refuses_a_channel_that_cannot_send(airline, cli) -> None:
    bad = cli("alerts", "rule", "set", "volume-all", "--notify", "twitter")
    assert bad.exit_code == 1 and "cannot send" in bad.stderr
    missing = cli("alerts", "rule", "set", "volume-all", "--notify", "nowhere")
    assert missing.exit_code == 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_alerts_are_mailed_through_the_email_connector(airline, cli) -> None:
    pytest.importorskip("aiosmtpd")
    from aiosmtpd.controller import Controller

    received: list[Any] = []

    class Inbox:
        async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
            received.append(envelope)
            return "250 OK"

    controller = Controller(Inbox(), hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        _add_channel(
            "email",
            "ops-mail",
            {
                "handle": "alerts@acme.example",
                "imap_host": "127.0.0.1",
                "smtp_host": "127.0.0.1",
                "smtp_port": controller.port,
                "smtp_security": "none",
            },
        )
        no_to = cli("alerts", "rule", "set", "volume-all", "--notify", "ops-mail")
        assert no_to.exit_code == 1 and "--to" in no_to.stderr
        ok = cli(
            "alerts",
            "rule",
            "set",
            "volume-all",
            "--notify",
            "ops-mail",
            "--to",
            "oncall@acme.example",
        )
        assert ok.exit_code == 0, ok.stderr
        expected = [a for a in _alerts(cli) if a["rule"] == "volume-all"]
        assert expected
        done = cli("alerts", "notify", "--since", "2015-02-17", "--json").json()
        again = cli("alerts", "notify", "--since", "2015-02-17", "--json").json()
    finally:
        controller.stop()
    assert done["sent"] == len(expected) and again["sent"] == 0
    assert len(received) == len(expected)
    assert all(e.rcpt_tos == ["oncall@acme.example"] for e in received)
    body = received[0].original_content.decode()
    assert "[Rapport alert] volume on all" in body and "Example messages:" in body
