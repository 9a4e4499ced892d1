"""Spike alerts: volume and negative-sentiment anomalies against a seasonal
baseline, per scope (everything, each brand, topic or listening query), and
the velocity of single threads (a complaint going viral).

Read from the hourly buckets; the formula is documented in docs/INSIGHTS.md:

- baseline of bucket *t*: the same bucket on each of the previous
  ``baseline_days`` days (hour buckets: the same hour of day — traffic has a
  daily cycle; day buckets: the previous days), counting only days on or
  after the first stored message; at least `MIN_HISTORY` of them;
- expected = median of the baseline; spread σ = max(1.4826 · MAD, √max(expected, 1))
  — the MAD is the robust standard deviation; the Poisson floor keeps a flat
  or empty history from making every message a spike;
- robust z = (observed − expected) / σ; a bucket is anomalous when
  z ≥ threshold and observed ≥ min_count;
- negative sentiment: the same on the *share* of analysed inbound messages
  that are negative, with σ = max(1.4826 · MAD, √(p₀(1 − p₀)/n)) (the
  binomial standard error of the observed share); observed/expected are
  counts of negative messages (p₀ · n expected);
- consecutive anomalous buckets of one scope merge into one alert.
- velocity: a thread's replies + reshares in one hour ≥ threshold, with a
  negative or complaining message in it; expected is the mean activity of an
  active thread-hour in the range.
"""

from __future__ import annotations

import hashlib
import math
import statistics
import warnings
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from rapport.analysis.queries import sentiment_topics_for
from rapport.conversations.models import INBOUND, Message, MessageMention
from rapport.reports.buckets import as_utc, assign_brands, floor_hour, load_messages, raw_column
from rapport.reports.csvexport import CsvTable
from rapport.reports.filters import HOUR, ceil_hour
from rapport.reports.models import (
    ALL_MESSAGES,
    AlertRule,
    InsightBucket,
    InsightThreadHour,
    InsightTopicBucket,
    ListeningMatch,
    ListeningQuery,
)
from rapport.storage.bulk import in_values

AlertKind = Literal["volume", "negative", "velocity"]
KINDS: tuple[str, ...] = ("volume", "negative", "velocity")
SCOPE_KINDS = ("all", "brand", "topic", "query")
#: Fewest baseline buckets a bucket needs before it can be judged.
MIN_HISTORY = 3
#: 1 / Φ⁻¹(3/4): turns a MAD into a standard deviation for normal data.
MAD_SCALE = 1.4826
EXAMPLES = 5
#: Messages of an alert's window its examples are chosen from.
EXAMPLE_CANDIDATES = 200
#: Anomalous buckets at most this many buckets apart are one alert (a storm
#: does not stop being one event because one hour in it was ordinary).
MERGE_GAP = 3
DAY = timedelta(days=1)


class RuleSpec(BaseModel):
    """An alert rule (stored, or one of the defaults)."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
    kind: AlertKind
    scope: str = Field("all", max_length=400)
    bucket: Literal["hour", "day"] = "hour"
    baseline_days: int = Field(7, ge=1, le=90)
    threshold: float = Field(3.5, gt=0)
    min_count: int = Field(20, ge=1)
    notify_channel: str | None = Field(None, max_length=100)
    notify_to: str | None = Field(None, max_length=255)
    enabled: bool = True
    #: True for a built-in default nobody stored.
    default: bool = False


#: Hourly counts vary more than Poisson (z ≥ 5 for volume); a shift in the
#: negative share is judged against its own spread and sampling error (z ≥ 3.5).
DEFAULT_RULES = (
    RuleSpec(
        name="volume-all", kind="volume", scope="all", threshold=5, min_count=30, default=True
    ),
    RuleSpec(name="volume-brand", kind="volume", scope="brand", threshold=5, default=True),
    RuleSpec(name="volume-query", kind="volume", scope="query", threshold=5, default=True),
    RuleSpec(name="volume-topic", kind="volume", scope="topic", threshold=5, default=True),
    RuleSpec(name="negative-all", kind="negative", scope="all", default=True),
    RuleSpec(name="negative-brand", kind="negative", scope="brand", default=True),
    RuleSpec(name="negative-query", kind="negative", scope="query", default=True),
    RuleSpec(
        name="velocity",
        kind="velocity",
        scope="thread",
        threshold=15,
        min_count=1,
        default=True,
    ),
)


class Alert(BaseModel):
    kind: AlertKind
    scope: str
    start: datetime
    end: datetime
    observed: float
    expected: float
    reason: str
    example_message_ids: list[int]
    #: The largest robust z-score of the alert's buckets (velocity: activity / expected).
    z: float
    rule: str
    bucket: str

    @property
    def fingerprint(self) -> str:
        """Same kind, scope and start: the same alert, however far it grew."""
        key = f"{self.kind}|{self.scope}|{self.start.isoformat()}"
        return hashlib.sha256(key.encode("utf-8")).hexdigest()


class AlertsResult(BaseModel):
    since: datetime | None
    until: datetime | None
    alerts: list[Alert]
    rules: list[RuleSpec]


def rule_spec(row: AlertRule) -> RuleSpec:
    return RuleSpec(
        name=row.name,
        kind=row.kind,
        scope=row.scope,
        bucket=row.bucket,
        baseline_days=row.baseline_days,
        threshold=row.threshold,
        min_count=row.min_count,
        notify_channel=row.notify_channel,
        notify_to=row.notify_to,
        enabled=row.enabled,
    )


def effective_rules(session: Session) -> list[RuleSpec]:
    """The defaults, each replaced by a stored rule of the same name, then the
    other stored rules (a default is switched off by storing it disabled)."""
    stored = {
        r.name: rule_spec(r)
        for r in session.execute(select(AlertRule).order_by(AlertRule.name)).scalars()
    }
    rules = [stored.pop(d.name, d) for d in DEFAULT_RULES]
    return rules + list(stored.values())


# ----------------------------------------------------------------- series


@dataclass
class Series:
    """Counts per bucket start for one scope."""

    scope: str
    messages: dict[datetime, float] = field(default_factory=lambda: defaultdict(float))
    analysed: dict[datetime, float] = field(default_factory=lambda: defaultdict(float))
    negative: dict[datetime, float] = field(default_factory=lambda: defaultdict(float))


def _bucket_of(hour: datetime, bucket: str) -> datetime:
    hour = as_utc(hour)
    return hour.replace(hour=0) if bucket == "day" else hour


def _series(
    session: Session, scope: str, lo: datetime, hi: datetime, bucket: str
) -> dict[str, Series]:
    """Inbound counts per bucket from ``lo`` to ``hi`` for each scope the
    rule's ``scope`` names."""
    kind, _, value = scope.partition(":")
    out: dict[str, Series] = {}
    labelled: list[tuple[Any, ...]] = []
    if kind == "topic":
        t = InsightTopicBucket
        conds: list[Any] = [t.query_id == ALL_MESSAGES, t.hour >= lo, t.hour < hi]
        if value:
            conds.append(t.topic == value)
        rows = session.execute(
            select(
                t.topic,
                raw_column(t.hour),
                func.sum(t.messages),
                func.sum(t.messages),
                func.sum(t.negative),
            )
            .where(*conds)
            .group_by(t.topic, t.hour)
        ).all()
        labelled = [(f"topic:{k}", h, n, a, neg) for k, h, n, a, neg in rows]
    else:
        b = InsightBucket
        conds = [b.direction == INBOUND, b.hour >= lo, b.hour < hi]
        names: dict[int, str] = {}
        if kind == "query":
            query_rows = session.execute(
                select(ListeningQuery.id, ListeningQuery.name, ListeningQuery.brand)
            ).all()
            names = {int(i): n for i, n, _ in query_rows}
            branded = {int(i) for i, _, brand in query_rows if brand}
            if value:
                wanted = [i for i, n in names.items() if n == value]
            else:
                # Every query but those about a brand: the brand scope watches those.
                wanted = [i for i, n in names.items() if i not in branded]
            conds.append(b.query_id.in_(wanted or [-1]))
            key_col: Any = b.query_id
        else:
            conds.append(b.query_id == ALL_MESSAGES)
            if kind == "brand":
                conds.append(b.brand == value if value else b.brand != "")
                key_col = b.brand
            else:
                key_col = None
        group = [key_col, b.hour] if key_col is not None else [b.hour]
        shown = [key_col, raw_column(b.hour)] if key_col is not None else [raw_column(b.hour)]
        cols = [*shown, func.sum(b.messages), func.sum(b.analysed), func.sum(b.negative)]
        rows = session.execute(select(*cols).where(*conds).group_by(*group)).all()
        for row in rows:
            if key_col is None:
                labelled.append(("all", *row))
            elif kind == "query":
                labelled.append((f"query:{names.get(int(row[0]), row[0])}", *row[1:]))
            else:
                labelled.append((f"brand:{row[0]}", *row[1:]))
    starts: dict[Any, datetime] = {}
    for label, hour, n, analysed, negative in labelled:
        s = out.setdefault(label, Series(label))
        start = starts.get(hour)
        if start is None:
            start = starts[hour] = _bucket_of(hour, bucket)
        s.messages[start] += float(n or 0)
        s.analysed[start] += float(analysed or 0)
        s.negative[start] += float(negative or 0)
    return out


def data_start(session: Session) -> datetime | None:
    first = session.execute(
        select(func.min(InsightBucket.hour)).where(InsightBucket.query_id == ALL_MESSAGES)
    ).scalar_one_or_none()
    return as_utc(first) if first is not None else None


def data_end(session: Session) -> datetime | None:
    last = session.execute(
        select(func.max(InsightBucket.hour)).where(InsightBucket.query_id == ALL_MESSAGES)
    ).scalar_one_or_none()
    return as_utc(last) + HOUR if last is not None else None


# ----------------------------------------------------------------- detection


@dataclass
class Hit:
    start: datetime
    observed: float
    expected: float
    z: float
    detail: str


def robust_z(observed: float, history: Sequence[float]) -> tuple[float, float, float]:
    """(expected, σ, z) of ``observed`` against ``history`` (see module doc)."""
    expected = statistics.median(history)
    mad = statistics.median([abs(x - expected) for x in history])
    sigma = max(MAD_SCALE * mad, max(expected, 1.0) ** 0.5)
    return expected, sigma, (observed - expected) / sigma


def share_z(negative: float, n: float, history: Sequence[float]) -> tuple[float, float, float]:
    """(expected share, σ, z) of the negative share ``negative / n``."""
    p = negative / n
    p0 = statistics.median(history)
    mad = statistics.median([abs(x - p0) for x in history])
    binomial = (max(p0 * (1 - p0), 0.25 / max(n, 1)) / n) ** 0.5
    sigma = max(MAD_SCALE * mad, binomial)
    return p0, sigma, (p - p0) / sigma


def _label(start: datetime, bucket: str) -> str:
    return start.strftime("%Y-%m-%d") if bucket == "day" else start.strftime("%Y-%m-%d %H:00")


def detect(
    series: Series,
    rule: RuleSpec,
    since: datetime,
    until: datetime,
    first: datetime,
) -> list[Hit]:
    """Anomalous buckets of one series in [since, until)."""
    return detect_many([series], rule, since, until, first).get(series.scope, [])


def _dense(
    values: Sequence[dict[datetime, float]], origin: datetime, step: timedelta, size: int
) -> np.ndarray[Any, np.dtype[np.float64]]:
    out = np.zeros((len(values), size))
    index: dict[datetime, int] = {}
    for i, per in enumerate(values):
        for at, v in per.items():
            k = index.get(at)
            if k is None:
                k = index[at] = int((at - origin) / step)
            if 0 <= k < size:
                out[i, k] = v
    return out


def nanmedian(h: np.ndarray[Any, np.dtype[np.float64]]) -> np.ndarray[Any, np.dtype[np.float64]]:
    """The median over axis 0 ignoring NaN (NaN where all are NaN): the same
    as `np.nanmedian`, by one sort (the history is at most 90 deep)."""
    ordered = np.sort(h, axis=0)  # NaN sort last
    n = np.sum(~np.isnan(h), axis=0)
    lo = np.clip((n - 1) // 2, 0, None)[None]
    hi = np.clip(n // 2, 0, None)[None]
    mid = (np.take_along_axis(ordered, lo, 0)[0] + np.take_along_axis(ordered, hi, 0)[0]) / 2
    return np.where(n > 0, mid, np.nan)


def _lagged(
    m: np.ndarray[Any, np.dtype[np.float64]], lag: int, days: int
) -> np.ndarray[Any, np.dtype[np.float64]]:
    """(days, scopes, T): the value ``k * lag`` buckets before, NaN before the data."""
    out = np.full((days, *m.shape), np.nan)
    for k in range(1, days + 1):
        shift = k * lag
        if shift < m.shape[1]:
            out[k - 1, :, shift:] = m[:, : m.shape[1] - shift]
    return out


def detect_many(
    series: Sequence[Series],
    rule: RuleSpec,
    since: datetime,
    until: datetime,
    first: datetime,
) -> dict[str, list[Hit]]:
    """Anomalous buckets of each series in [since, until): the module's
    formula, computed for every scope and bucket at once."""
    if not series:
        return {}
    step = DAY if rule.bucket == "day" else HOUR
    lag = 1 if rule.bucket == "day" else 24
    origin = _bucket_of(first, rule.bucket)
    start = max(_bucket_of(since, rule.bucket), origin)
    size = int((until - origin) / step) + 1
    lo = int((start - origin) / step)
    baseline_words = (
        "the same hour on the previous days" if rule.bucket == "hour" else "the previous days"
    )
    out: dict[str, list[Hit]] = {}
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        if rule.kind == "volume":
            m = _dense([x.messages for x in series], origin, step, size)
            hist = _lagged(m, lag, rule.baseline_days)
            avail = np.sum(~np.isnan(hist), axis=0)
            expected = nanmedian(hist)
            mad = nanmedian(np.abs(hist - expected))
            sigma = np.maximum(MAD_SCALE * mad, np.sqrt(np.maximum(expected, 1.0)))
            z = (m - expected) / sigma
            observed = m
            fire = (avail >= MIN_HISTORY) & (m >= rule.min_count) & (z >= rule.threshold)
        else:
            n = _dense([x.analysed for x in series], origin, step, size)
            neg = _dense([x.negative for x in series], origin, step, size)
            share = np.where(n > 0, neg / np.where(n > 0, n, 1.0), np.nan)
            hist = _lagged(share, lag, rule.baseline_days)
            avail = np.sum(~np.isnan(hist), axis=0)
            p0 = nanmedian(hist)
            mad = nanmedian(np.abs(hist - p0))
            safe_n = np.where(n > 0, n, 1.0)
            binomial = np.sqrt(np.maximum(p0 * (1 - p0), 0.25 / safe_n) / safe_n)
            sigma = np.maximum(MAD_SCALE * mad, binomial)
            z = (share - p0) / sigma
            observed, expected = neg, p0 * n
            fire = (
                (avail >= MIN_HISTORY) & (n > 0) & (neg >= rule.min_count) & (z >= rule.threshold)
            )
        fire[:, :lo] = False
        fire[:, math.ceil((until - origin) / step) :] = False
    for i, k in zip(*np.nonzero(fire), strict=True):
        at = origin + int(k) * step
        scope = series[i].scope
        obs, exp, zz, sg = (
            float(observed[i, k]),
            float(expected[i, k]),
            float(z[i, k]),
            float(sigma[i, k]),
        )
        if rule.kind == "volume":
            detail = (
                f"{_label(at, rule.bucket)}: {obs:.0f} inbound vs median {exp:.0f} of "
                f"{baseline_words} ({int(avail[i, k])}), σ {sg:.1f}, z {zz:.1f}"
            )
        else:
            total = float(n[i, k])
            detail = (
                f"{_label(at, rule.bucket)}: {obs:.0f} of {total:.0f} analysed negative "
                f"({obs / total:.0%}) vs usual {float(p0[i, k]):.0%} (median of "
                f"{baseline_words}, {int(avail[i, k])}), σ {sg:.3f}, z {zz:.1f}"
            )
        out.setdefault(scope, []).append(Hit(at, obs, exp, zz, detail))
    return out


def _merge(hits: list[Hit], step: timedelta, gap: int = 1) -> list[list[Hit]]:
    """Runs of hits, a hit joining the run when it starts at most ``gap``
    buckets after the run's last one."""
    runs: list[list[Hit]] = []
    for hit in sorted(hits, key=lambda h: h.start):
        if runs and hit.start - runs[-1][-1].start <= gap * step:
            runs[-1].append(hit)
        else:
            runs.append([hit])
    return runs


# ----------------------------------------------------------------- examples


def _examples(session: Session, scope: str, start: datetime, end: datetime, kind: str) -> list[int]:
    """A few messages of the alert: negative or complaining ones first (an
    alert is about trouble), then the most reshared, then the earliest."""
    scope_kind, _, value = scope.partition(":")
    m = Message
    window = [m.created_at >= start, m.created_at < end, m.direction == INBOUND]
    if scope_kind == "query":
        query = (
            select(m.id)
            .join(ListeningMatch, ListeningMatch.message_id == m.id)
            .join(ListeningQuery, ListeningQuery.id == ListeningMatch.query_id)
            .where(ListeningQuery.name == value, *window)
        )
    else:
        query = select(m.id).where(*window)
    # By time: the window is a few hours, read through the created_at index.
    limit = EXAMPLE_CANDIDATES * (20 if scope_kind == "brand" else 1)
    ids = [
        int(i) for i in session.execute(query.order_by(m.created_at, m.id).limit(limit)).scalars()
    ]
    if scope_kind == "brand" and ids:
        mentioning = set(
            session.execute(
                select(MessageMention.message_id).where(
                    in_values(session, MessageMention.message_id, ids),
                    MessageMention.handle_key == value,
                )
            ).scalars()
        )
        ids = [i for i in ids if i in mentioning][:EXAMPLE_CANDIDATES]
    if not ids:
        return []
    msgs = load_messages(session, ids)
    analysis = sentiment_topics_for(session, ids)
    if scope_kind == "brand":
        assign_brands(session, msgs)
        msgs = [x for x in msgs if x.brand == value]
    elif scope_kind == "topic":
        msgs = [x for x in msgs if (a := analysis.get(x.id)) is not None and value in a.topics]

    def rank(x: Any) -> tuple[Any, ...]:
        a = analysis.get(x.id)
        negative = a is not None and a.sentiment == "negative"
        complaint = a is not None and a.intent == "complaint"
        return (-(negative or complaint), -negative, -x.reshares, x.created_at, x.id)

    return [x.id for x in sorted(msgs, key=rank)[:EXAMPLES]]


# ----------------------------------------------------------------- velocity


def _velocity(session: Session, rule: RuleSpec, since: datetime, until: datetime) -> list[Alert]:
    t = InsightThreadHour
    b = InsightBucket
    messages, reshares = session.execute(
        select(func.sum(b.messages), func.sum(b.reshares)).where(
            b.query_id == ALL_MESSAGES, b.hour >= since, b.hour < until
        )
    ).one()
    # What one message brings in an hour on average (itself and its reshares).
    expected = (float(messages or 0) + float(reshares or 0)) / max(float(messages or 0), 1.0)
    rows = session.execute(
        select(
            t.thread_id, t.hour, t.messages, t.reshares, t.activity, t.negative, t.complaints
        ).where(
            t.hour >= since,
            t.hour < until,
            t.activity >= rule.threshold,
            t.messages >= rule.min_count,
            or_(t.negative > 0, t.complaints > 0),
        )
    ).all()
    # Sorted here: an ORDER BY on the key would make the database read the
    # whole table in key order instead of the hour range of the index.
    rows = sorted(rows, key=lambda r: (r[0], str(r[1])))
    per_thread: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        per_thread[int(row[0])].append(row)
    alerts = []
    for thread_id, cells in per_thread.items():
        hits = [
            Hit(as_utc(c[1]), float(c[4]), expected, float(c[4]) / max(expected, 1.0), "")
            for c in cells
        ]
        detail = {as_utc(c[1]): c for c in cells}
        for run in _merge(hits, HOUR):
            start, end = run[0].start, run[-1].start + HOUR
            parts = []
            for h in run:
                c = detail[h.start]
                parts.append(
                    f"{_label(h.start, 'hour')}: {c[4]} replies+reshares "
                    f"({c[2]} messages, {c[3]} reshares; {c[5]} negative, {c[6]} complaints)"
                )
            observed = sum(h.observed for h in run)
            ids = [
                int(i)
                for i in session.execute(
                    select(Message.id)
                    .where(
                        Message.thread_id == thread_id,
                        Message.created_at >= start,
                        Message.created_at < end,
                    )
                    .order_by(Message.created_at, Message.id)
                    .limit(EXAMPLES)
                ).scalars()
            ]
            alerts.append(
                Alert(
                    kind="velocity",
                    scope=f"thread:{thread_id}",
                    start=start,
                    end=end,
                    observed=observed,
                    expected=round(expected * len(run), 2),
                    reason=(
                        f"thread {thread_id} moving fast: "
                        + "; ".join(parts)
                        + f"; a message brings {expected:.2f} on average in the range "
                        f"(rule {rule.name}: ≥ {rule.threshold:g} per hour with a "
                        "negative or complaining message)"
                    ),
                    example_message_ids=ids,
                    z=round(max(h.z for h in run), 2),
                    rule=rule.name,
                    bucket="hour",
                )
            )
    return alerts


# ----------------------------------------------------------------- entry point


def compute_alerts(
    session: Session,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    rules: Sequence[RuleSpec] | None = None,
) -> AlertsResult:
    """Alerts in [since, until) (default: every stored hour) under ``rules``
    (default: the effective rules)."""
    rules = list(rules) if rules is not None else effective_rules(session)
    first, last = data_start(session), data_end(session)
    if first is None or last is None:
        return AlertsResult(since=since, until=until, alerts=[], rules=rules)
    lo = max(floor_hour(since), first) if since is not None else first
    hi = min(ceil_hour(until), last) if until is not None else last
    alerts: list[Alert] = []
    if hi <= lo:
        return AlertsResult(since=since or lo, until=until or hi, alerts=[], rules=rules)
    read: dict[tuple[str, datetime, str], dict[str, Series]] = {}
    for rule in rules:
        if not rule.enabled:
            continue
        if rule.kind == "velocity":
            alerts.extend(_velocity(session, rule, lo, hi))
            continue
        step = DAY if rule.bucket == "day" else HOUR
        history_from = max(first, _bucket_of(lo, rule.bucket) - rule.baseline_days * DAY)
        key = (rule.scope, history_from, rule.bucket)
        if key not in read:  # volume and negative rules of a scope read the same series
            read[key] = _series(session, rule.scope, history_from, hi, rule.bucket)
        all_series = read[key]
        found = detect_many(list(all_series.values()), rule, lo, hi, first)
        for scope, hits in found.items():
            series = all_series[scope]
            for run in _merge(hits, step, MERGE_GAP):
                start, end = run[0].start, run[-1].start + step
                observed = sum(h.observed for h in run)
                expected = sum(h.expected for h in run)
                what = "inbound messages" if rule.kind == "volume" else "negative messages"
                peak = max(run, key=lambda h: h.z)
                reason = (
                    f"{rule.kind} spike on {series.scope}: {observed:.0f} {what} vs "
                    f"{expected:.1f} expected in {len(run)} anomalous {rule.bucket}"
                    f"{'s' if len(run) > 1 else ''}; peak {peak.detail} "
                    f"(rule {rule.name}: z ≥ {rule.threshold:g}, at least {rule.min_count})"
                )
                alerts.append(
                    Alert(
                        kind=rule.kind,
                        scope=series.scope,
                        start=start,
                        end=end,
                        observed=round(observed, 2),
                        expected=round(expected, 2),
                        reason=reason,
                        example_message_ids=_examples(session, series.scope, start, end, rule.kind),
                        z=round(max(h.z for h in run), 2),
                        rule=rule.name,
                        bucket=rule.bucket,
                    )
                )
    alerts.sort(key=lambda a: (a.start, a.kind, a.scope))
    return AlertsResult(since=lo, until=hi, alerts=_dedupe(alerts), rules=rules)


def _dedupe(alerts: list[Alert]) -> list[Alert]:
    """Two rules finding the same (kind, scope, start): keep the stronger."""
    best: dict[str, Alert] = {}
    for a in alerts:
        if a.fingerprint not in best or a.z > best[a.fingerprint].z:
            best[a.fingerprint] = a
    return [a for a in alerts if best[a.fingerprint] is a]


def alerts_tables(result: AlertsResult) -> list[CsvTable]:
    return [
        CsvTable(
            "alerts",
            [
                "kind",
                "scope",
                "start",
                "end",
                "observed",
                "expected",
                "z",
                "rule",
                "reason",
                "example_message_ids",
            ],
            [
                [
                    a.kind,
                    a.scope,
                    a.start,
                    a.end,
                    a.observed,
                    a.expected,
                    a.z,
                    a.rule,
                    a.reason,
                    a.example_message_ids,
                ]
                for a in result.alerts
            ],
        ),
        rules_table(result.rules),
    ]


def rules_table(rules: Sequence[RuleSpec]) -> CsvTable:
    fields = list(RuleSpec.model_fields)
    return CsvTable("rules", fields, [[getattr(r, f) for f in fields] for r in rules])
