"""The reports service: every write of the reports domain goes through here.

- `do_rebuild_buckets` — empty the hourly buckets and count every stored
  message again (after a bulk change the hooks could not see);
- `do_set_rule` / `do_remove_rule` — alert rules;
- `do_notify_alerts` — tell each rule's recipients about its new alerts,
  through the outbound connectors (`rapport.channels.service.do_send`),
  once per alert;
- `do_set_belief` — the manager's ranking of why customers engage;
- `do_add_query` / `do_remove_query` — listening queries (`listening.py`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rapport.audit.service import cli_actor, do_record
from rapport.auth.roles import allows, roles_for
from rapport.channels.base import OutboundReply
from rapport.channels.errors import NoConnector, SendFailed
from rapport.channels.queries import get_channel
from rapport.channels.registry import get_type
from rapport.channels.service import do_send
from rapport.conversations.queries import message_id_chunks
from rapport.reports import buckets
from rapport.reports.alerts import Alert, RuleSpec, compute_alerts, data_end
from rapport.reports.errors import InsightsError, RuleNotFound
from rapport.reports.models import AlertNotification, AlertRule, InsightSetting
from rapport.scheduling import service as scheduling
from rapport.scheduling.registry import JobOutcome
from rapport.scheduling.schemas import JobCreate, JobPublic
from rapport.storage.base import utcnow

log = logging.getLogger(__name__)

ALERTS_JOB_KIND = "reports.alerts"
ALERTS_JOB_NAME = "reports.alerts"
#: How often the scheduler looks for new alerts to notify.
ALERTS_JOB_INTERVAL = 300.0
#: Without --since, alerts ending in the last day of data are "current".
CURRENT_WINDOW = timedelta(days=1)


def authorize(session: Session, user: str | None, capability: str) -> str:
    """The actor for a CLI write: the shell operator (no ``--as``), or that
    Rapport user if their role holds ``capability`` (as the API checks)."""
    if user is None:
        return cli_actor()
    from rapport.users.service import get_user

    found = get_user(session, user)
    if not found.active:
        raise InsightsError(f"user {found.email} is disabled")
    if not allows(found.role, capability):
        raise InsightsError(
            f"{capability} needs the role {' or '.join(sorted(roles_for(capability)))}; "
            f"{found.email} is {found.role}"
        )
    return found.email


# ----------------------------------------------------------------- buckets


def do_rebuild_buckets(session: Session, *, progress: Callable[[int], None] | None = None) -> int:
    """Count every stored message into empty buckets again; returns messages."""
    buckets.clear(session)
    done = 0
    for ids in message_id_chunks(session, 20_000):
        done += buckets.apply(session, ids, +1)
        if progress:
            progress(done)
    return done


# ----------------------------------------------------------------- rules


def do_set_rule(session: Session, spec: RuleSpec, *, actor: str) -> RuleSpec:
    """Create or replace the alert rule ``spec.name``."""
    if spec.kind == "velocity" and spec.scope != "thread":
        raise InsightsError("a velocity rule watches threads: its scope is 'thread'")
    if spec.kind != "velocity":
        kind, _, value = spec.scope.partition(":")
        if kind not in ("all", "brand", "topic", "query") or (kind == "all" and value):
            raise InsightsError(
                f"scope {spec.scope!r}: expected all, brand, topic, query, "
                "or one of them as brand:HANDLE, topic:LABEL, query:NAME"
            )
    if spec.notify_channel:
        channel = get_channel(session, spec.notify_channel)  # ChannelNotFound: exit 1 / 404
        if not channel.live or not get_type(channel.kind).sends:
            raise InsightsError(
                f"notify channel {spec.notify_channel!r} cannot send "
                f"({'imported history, no connector' if not channel.live else channel.kind})"
            )
        if channel.kind == "email" and not (spec.notify_to and "@" in spec.notify_to):
            raise InsightsError("an email notification needs --to ADDRESS")
    row = session.execute(select(AlertRule).where(AlertRule.name == spec.name)).scalar_one_or_none()
    now = utcnow()
    if row is None:
        row = AlertRule(name=spec.name, created_by=actor, created_at=now)
        session.add(row)
    row.kind = spec.kind
    row.scope = spec.scope
    row.bucket = spec.bucket
    row.baseline_days = spec.baseline_days
    row.threshold = spec.threshold
    row.min_count = spec.min_count
    row.notify_channel = spec.notify_channel
    row.notify_to = spec.notify_to
    row.enabled = spec.enabled
    row.updated_at = now
    session.flush()
    if spec.notify_channel and spec.enabled:
        scheduling.do_register_job(
            session,
            JobCreate(
                name=ALERTS_JOB_NAME,
                kind=ALERTS_JOB_KIND,
                interval_seconds=ALERTS_JOB_INTERVAL,
            ),
        )
    do_record(
        session,
        actor,
        "reports.rule_set",
        subject_type="alert_rule",
        subject_id=row.id,
        details=spec.model_dump(exclude={"default"}),
    )
    from rapport.reports.alerts import rule_spec

    return rule_spec(row)


def do_remove_rule(session: Session, name: str, *, actor: str) -> None:
    row = session.execute(select(AlertRule).where(AlertRule.name == name)).scalar_one_or_none()
    if row is None:
        raise RuleNotFound(
            f"no stored alert rule named {name!r} (defaults are switched off with "
            f"`rapport alerts rule set {name} --disable`)"
        )
    do_record(session, actor, "reports.rule_remove", subject_type="alert_rule", subject_id=row.id)
    session.delete(row)
    session.flush()


# ----------------------------------------------------------------- notifications


@dataclass
class NotifySummary:
    alerts: int = 0
    sent: int = 0
    failed: int = 0
    #: Alerts already told to that rule's recipients (not sent again).
    already_sent: int = 0
    #: Alerts of rules without a recipient.
    no_recipient: int = 0
    errors: list[str] = field(default_factory=list)


def notification_text(alert: Alert) -> str:
    span = f"{alert.start:%Y-%m-%d %H:%M} → {alert.end:%Y-%m-%d %H:%M} UTC"
    examples = ", ".join(str(i) for i in alert.example_message_ids) or "none"
    return (
        f"[Rapport alert] {alert.kind} on {alert.scope}, {span}: observed "
        f"{alert.observed:g}, expected {alert.expected:g} (z {alert.z:g}).\n"
        f"Why: {alert.reason}\n"
        f"Example messages: {examples}\n"
        "See `rapport alerts --json` or /dashboards."
    )


def do_notify_alerts(
    session: Session, *, since: datetime | None = None, until: datetime | None = None
) -> NotifySummary:
    """Send each stored rule's alerts in range (default: those still going on
    in the last day of data) to its notify channel, once: an alert already
    sent for a rule is never sent again; a retryable failure is tried again
    on the next run."""
    summary = NotifySummary()
    stored = {
        r.name: r
        for r in session.execute(select(AlertRule).where(AlertRule.enabled.is_(True))).scalars()
    }
    if not any(r.notify_channel for r in stored.values()):
        return summary
    if since is None:
        end = data_end(session)
        if end is None:
            return summary
        since = end - CURRENT_WINDOW
    result = compute_alerts(session, since=since, until=until)
    for alert in result.alerts:
        rule = stored.get(alert.rule)
        if rule is None or not rule.notify_channel:
            summary.no_recipient += 1
            continue
        summary.alerts += 1
        row = session.execute(
            select(AlertNotification).where(
                AlertNotification.rule_id == rule.id,
                AlertNotification.fingerprint == alert.fingerprint,
            )
        ).scalar_one_or_none()
        if row is not None and (row.status == "sent" or not row.retryable):
            summary.already_sent += 1
            continue
        if row is None:
            row = AlertNotification(
                rule_id=rule.id,
                fingerprint=alert.fingerprint,
                alert=alert.model_dump(mode="json"),
                channel=rule.notify_channel,
                recipient=rule.notify_to,
                status="pending",
                attempts=0,
                retryable=True,
                created_at=utcnow(),
            )
            session.add(row)
            session.flush()
        row.attempts += 1
        reply = OutboundReply(
            outbox_id=row.id,
            channel=rule.notify_channel,
            text=notification_text(alert),
            to_handle=rule.notify_to,
            private=True,
        )
        try:
            receipt = do_send(session, reply)
        except (NoConnector, SendFailed) as exc:
            row.status = "failed"
            row.retryable = bool(getattr(exc, "retryable", False))
            row.last_error = str(exc)[:4000]
            summary.failed += 1
            summary.errors.append(f"{alert.scope} → {rule.notify_channel}: {exc}")
        else:
            row.status = "sent"
            row.retryable = False
            row.last_error = None
            row.receipt_id = receipt.external_id[:255]
            row.sent_at = receipt.sent_at
            summary.sent += 1
        session.flush()
    return summary


def run_alerts_job(job: JobPublic) -> JobOutcome:
    """The scheduler's handler for `reports.alerts` jobs."""
    from rapport.storage.engine import session_scope

    with session_scope(write=True) as session:
        summary = do_notify_alerts(session)
    return JobOutcome(
        summary=f"{summary.sent} sent, {summary.failed} failed, "
        f"{summary.already_sent} already sent",
        error="; ".join(summary.errors)[:2000] or None,
    )


# ----------------------------------------------------------------- settings


def get_setting(session: Session, key: str) -> Any:
    row = session.get(InsightSetting, key)
    return None if row is None else row.value


def do_set_setting(session: Session, key: str, value: Any, *, actor: str) -> None:
    row = session.get(InsightSetting, key)
    if row is None:
        row = InsightSetting(key=key, value=value, updated_by=actor, updated_at=utcnow())
        session.add(row)
    else:
        row.value = value
        row.updated_by = actor
        row.updated_at = utcnow()
    session.flush()
    do_record(
        session,
        actor,
        "reports.setting",
        subject_type="insight_setting",
        subject_id=key,
        details={"value": value},
    )


def do_set_belief(session: Session, ranking: str | list[str], *, actor: str) -> list[str]:
    """Record why the company believes customers engage, best reason first."""
    from rapport.reports.perception import BELIEF_KEY, parse_ranking

    reasons = parse_ranking(ranking)
    do_set_setting(session, BELIEF_KEY, {"ranking": reasons}, actor=actor)
    return reasons
