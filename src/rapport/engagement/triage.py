"""Deciding one thread: the policy's decision, the SLA walk and the priority.

Pure functions over a `ThreadProfile` (`rapport.engagement.features`) and a
`Policy`; the service stores what they return.

SLA. Walking the thread in time order, a customer message addressed to us
starts a wait (unless one is running); our next message ends it. The first
wait is measured against the decision's *first response* target, later ones
against *next response*; an answer later than its target is a breach. A wait
still running at the end makes `sla_due_at` (its start + the target).

Priority (0..100) = 100 x the weighted mean of six factors, each 0..1
(weights in the policy, defaults in brackets):
- urgency [0.30]: the highest urgency of the unanswered customer messages;
- sla [0.25]: how much of the SLA window has gone (1 at the due time and after);
- decision [0.20]: escalate 1, respond_now 0.8, move_private 0.5, respond 0.4,
  listen_only 0;
- reach [0.10]: min(1, log10(1 + reach) / 5) (100,000 people → 1);
- health [0.10]: 1 - health/100: a weak relationship comes first (0.5 unknown);
- value [0.05]: 1 for an influencer, advocate or partner, 0.5 for a customer, else 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from rapport.engagement.features import VALUE_ROLES, ThreadProfile
from rapport.engagement.policy import DECISION_WEIGHT, Policy, Rule, SlaTarget, render_reason


@dataclass
class SlaResult:
    due_at: datetime | None = None
    kind: str | None = None
    waiting_since: datetime | None = None
    first_response_at: datetime | None = None
    breaches: int = 0
    #: (kind, waited seconds, target seconds) of each answered wait.
    answered: list[tuple[str, float, float]] = field(default_factory=list)


@dataclass
class Decision:
    rule: Rule
    decision: str
    reason: str
    evidence: dict[str, Any]
    sla: SlaResult
    priority: float
    factors: list[dict[str, Any]]
    team: str | None


def walk_sla(profile: ThreadProfile, target: SlaTarget | None) -> SlaResult:
    """Dues and breaches of one thread against ``target`` (None: no SLA)."""
    result = SlaResult()
    if target is None:
        return result
    waiting: datetime | None = None
    answered_before = False
    for at, ours, addressed in profile.timeline:
        if ours:
            if waiting is not None:
                kind = "next_response" if answered_before else "first_response"
                limit = target.next_response if answered_before else target.first_response
                waited = (at - waiting).total_seconds()
                result.answered.append((kind, waited, limit.total_seconds()))
                if waited > limit.total_seconds():
                    result.breaches += 1
                waiting = None
            if not answered_before:
                result.first_response_at = at
            answered_before = True
        elif addressed and waiting is None:
            waiting = at
    if waiting is not None:
        kind = "next_response" if answered_before else "first_response"
        limit = target.next_response if answered_before else target.first_response
        result.kind = kind
        result.due_at = waiting + limit
        result.waiting_since = waiting
    return result


def sla_pressure(sla: SlaResult, now: datetime) -> float:
    """Share of the SLA window gone by ``now`` (0..1; 1 once due)."""
    if sla.due_at is None or sla.waiting_since is None:
        return 0.0
    window = (sla.due_at - sla.waiting_since).total_seconds()
    if window <= 0:
        return 1.0
    return max(0.0, min(1.0, (now - sla.waiting_since).total_seconds() / window))


def _value(roles: list[str]) -> float:
    if VALUE_ROLES & set(roles):
        return 1.0
    return 0.5 if "customer" in roles else 0.0


def priority_factors(
    features: dict[str, Any], decision: str, pressure: float, weights: dict[str, float]
) -> list[dict[str, Any]]:
    """Each factor's value (0..1), weight and points, with what it came from."""
    reach = float(features.get("reach") or 0)
    health_known = bool(features.get("author_health_known"))
    health = float(features.get("author_health") or 50.0)
    roles = list(features.get("author_roles") or [])
    values = {
        "urgency": (float(features.get("urgency") or 0.0), f"urgency {features.get('urgency')}"),
        "sla": (pressure, f"{pressure:.0%} of the SLA window gone"),
        "decision": (DECISION_WEIGHT[decision], decision),
        "reach": (min(1.0, math.log10(1 + reach) / 5), f"reach {int(reach)}"),
        "health": (
            (1 - health / 100) if health_known else 0.5,
            f"health {health:.0f}/100" if health_known else "health unknown",
        ),
        "value": (_value(roles), "roles: " + (", ".join(roles) or "none")),
    }
    total = sum(weights.values()) or 1.0
    return [
        {
            "factor": name,
            "value": round(value, 3),
            "weight": weights.get(name, 0.0),
            "points": round(100 * weights.get(name, 0.0) * value / total, 2),
            "why": why,
        }
        for name, (value, why) in values.items()
    ]


def priority_of(factors: list[dict[str, Any]]) -> float:
    return round(sum(float(f["points"]) for f in factors), 2)


def with_pressure(factors: list[dict[str, Any]], pressure: float) -> list[dict[str, Any]]:
    """``factors`` with the SLA factor recomputed for a new pressure (rescoring)."""
    total = sum(f["weight"] for f in factors) or 1.0
    out = []
    for f in factors:
        if f["factor"] == "sla":
            f = {
                **f,
                "value": round(pressure, 3),
                "points": round(100 * f["weight"] * pressure / total, 2),
                "why": f"{pressure:.0%} of the SLA window gone",
            }
        out.append(f)
    return out


def explain_priority(factors: list[dict[str, Any]]) -> str:
    parts = [f"{f['factor']} {f['points']:.0f}" for f in factors if f["points"] >= 0.5]
    return " + ".join(parts) if parts else "no factor"


def decide_thread(
    profile: ThreadProfile, policy: Policy, now: datetime, *, team: str | None = None
) -> Decision:
    """The policy's decision on one thread, its SLA and its priority."""
    rule, looked_at = policy.decide(profile.features)
    routed = rule.team or team
    target = policy.sla_for(rule.decide, str(profile.features["channel"]), routed)
    sla = walk_sla(profile, target)
    pressure = sla_pressure(sla, now)
    factors = priority_factors(profile.features, rule.decide, pressure, policy.weights)
    evidence = {"features": looked_at, **profile.evidence}
    if target is not None:
        evidence["sla_minutes"] = {
            "first_response": target.first_response / timedelta(minutes=1),
            "next_response": target.next_response / timedelta(minutes=1),
        }
    return Decision(
        rule=rule,
        decision=rule.decide,
        reason=render_reason(rule.reason, profile.features),
        evidence=evidence,
        sla=sla,
        priority=priority_of(factors),
        factors=factors,
        team=routed,
    )
