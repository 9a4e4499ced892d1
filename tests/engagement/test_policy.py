"""The triage policy: readable YAML, versioned, refused with line and reason
when it cannot be used (the policy in force stays), dry-run with `policy test`."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from rapport.engagement.errors import PolicyInvalid
from rapport.engagement.features import FIELDS, zero_features
from rapport.engagement.models import ThreadState
from rapport.engagement.policy import default_policy_text, parse_policy, render_reason
from rapport.storage.engine import session_scope

BAD = [
    ("rules: [\n", 2, "not valid YAML"),
    (
        "rules:\n  - id: a\n    when: {urgncy: {gte: 0.5}}\n    decide: respond\n    reason: x\n"
        "default: {decide: respond, reason: y}\n",
        3,
        "unknown feature 'urgncy' (did you mean urgency?)",
    ),
    (
        "rules:\n  - id: a\n    decide: reply\n    reason: x\n"
        "default: {decide: respond, reason: y}\n",
        3,
        "decide 'reply' is not a decision",
    ),
    (
        "rules:\n  - id: a\n    when:\n      urgency: {gte: high}\n    decide: respond\n"
        "    reason: x\ndefault: {decide: respond, reason: y}\n",
        4,
        "urgency: gte needs a number, got 'high'",
    ),
    (
        "rules:\n  - id: a\n    decide: respond\n    reason: 'waiting {minutes}'\n"
        "default: {decide: respond, reason: y}\n",
        4,
        "unknown feature {minutes} in the reason",
    ),
    (
        "rules:\n  - id: a\n    decide: respond\n    reason: x\n  - id: a\n    decide: respond\n"
        "    reason: z\ndefault: {decide: respond, reason: y}\n",
        5,
        "rule id 'a' is used twice (first on line 2)",
    ),
    (
        "rules:\n  - id: a\n    decide: respond\n    reason: x\n"
        "default: {decide: respond, reason: y}\n"
        "sla:\n  respond: {first_response: soon, next_response: 1h}\n",
        7,
        "'soon' is not a duration",
    ),
    ("rules:\n  - id: a\n    decide: respond\n    reason: x\n", 1, "default: {decide"),
]


@pytest.mark.parametrize(("text", "line", "reason"), BAD)
def test_invalid_policy_is_refused_with_line_and_reason(text: str, line: int, reason: str) -> None:
    with pytest.raises(PolicyInvalid) as refused:
        parse_policy(text, source="p.yaml")
    assert refused.value.line == line, str(refused.value)
    assert reason in str(refused.value)
    assert str(refused.value).startswith(f"p.yaml:{line}: ")


def test_default_policy_encodes_the_guidance() -> None:
    policy = parse_policy(default_policy_text())
    first = {r.id: r for r in policy.rules}
    assert first["peers_talking"].decide == "listen_only"
    assert first["viral_complaint"].decide == "escalate"
    assert first["influencer_complaint"].decide == "escalate"
    assert first["needs_private_details"].decide == "move_private"
    assert first["urgent_addressed"].decide == "respond_now"
    # The first matching rule decides: a peer thread is listened to even when it complains.
    features = {**zero_features(), "addressed_to_us": False, "complaint": True, "reach": 10**6}
    rule, looked_at = policy.decide(features)
    assert (rule.id, looked_at) == ("peers_talking", {"addressed_to_us": False})
    viral = {**features, "addressed_to_us": True, "velocity_per_hour": 12.0, "reach": 80}
    rule, _ = policy.decide(viral)
    assert rule.decide == "escalate"
    assert render_reason(rule.reason, viral).startswith(
        "A complaint gaining reach fast (12.0 replies and reshares an hour, reach 80)"
    )
    private = {**zero_features(), "addressed_to_us": True, "private_details": True,
               "private_details_evidence": ["order", "payment"]}  # fmt: skip
    rule, _ = policy.decide(private)
    assert rule.decide == "move_private"
    assert "(order, payment)" in render_reason(rule.reason, private)
    urgent = {**zero_features(), "addressed_to_us": True, "awaiting_reply": True,
              "intent": "question", "urgency": 0.6}  # fmt: skip
    assert policy.decide(urgent)[0].decide == "respond_now"
    assert policy.decide({**urgent, "urgency": 0.1})[0].id == "awaiting_answer"
    assert policy.sla_for("listen_only", "twitter", None) is None
    assert policy.sla_for("respond", "email", None).first_response.total_seconds() == 86400  # type: ignore[union-attr]


def test_every_feature_is_documented() -> None:
    assert all(
        spec.help and spec.kind in ("bool", "number", "text", "list") for spec in FIELDS.values()
    )


ALL_ESCALATE = """
name: escalate complaints
rules:
  - id: all_complaints
    when:
      complaint: true
    decide: escalate
    reason: Every complaint goes to the escalation team (urgency {urgency:.2f}).
default:
  decide: respond
  reason: Everything else is answered in turn.
"""


def test_policy_set_versions_retriages_and_refuses_bad_files(demo_db, cli, tmp_path: Path) -> None:
    shown = cli("policy", "show", "--json").json()
    assert shown["version"] == 0 and shown["created_by"].startswith("rapport")
    assert "peers_talking" in shown["source"]
    assert sum(shown["decisions"].values()) > 1000

    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  - id: x\n    decide: maybe\n    reason: r\n", encoding="utf-8")
    refused = cli("policy", "set", str(bad))
    assert refused.exit_code == 1
    assert f"{bad}:3:" in refused.stderr and "'maybe' is not a decision" in refused.stderr
    assert cli("policy", "show", "--json").json()["version"] == 0

    good = tmp_path / "good.yaml"
    good.write_text(ALL_ESCALATE, encoding="utf-8")
    with session_scope() as s:
        before = Counter(s.execute(select(ThreadState.decision)).scalars())
    tried = cli("policy", "test", str(good), "--json", "--limit", "5").json()
    assert tried["changed"] > 0 and len(tried["changes"]) == 5
    assert tried["before"] == dict(before)
    assert tried["after"]["escalate"] > 0 and set(tried["after"]) <= {"escalate", "respond"}
    change = tried["changes"][0]
    assert change["after_rule"] in ("all_complaints", "default") and change["reason"]
    with session_scope() as s:  # a dry run writes nothing
        assert Counter(s.execute(select(ThreadState.decision)).scalars()) == before

    done = cli("policy", "set", str(good), "--json")
    assert done.exit_code == 0, done.stderr
    assert done.json()["version"] == 1 and done.json()["retriaged"]["threads"] == sum(
        before.values()
    )
    with session_scope() as s:
        assert (
            s.execute(
                select(func.count()).select_from(ThreadState).where(ThreadState.policy_version != 1)
            ).scalar_one()
            == 0
        )
        after = Counter(s.execute(select(ThreadState.decision)).scalars())
    assert after == Counter(tried["after"])
    shown = cli("policy", "show", "--json").json()
    assert shown["version"] == 1 and [v["version"] for v in shown["versions"]] == [1]
    assert shown["compiled"]["rules"][0]["id"] == "all_complaints"
    assert (
        cli("policy", "show", "--fields", "--json").json()["fields"]["urgency"]["type"] == "number"
    )
