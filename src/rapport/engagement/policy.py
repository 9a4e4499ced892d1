"""The triage policy: a YAML document the team can read and change.

    name: default
    rules:                       # in order; the first rule that matches decides
      - id: peers_talking
        when: {addressed_to_us: false}
        decide: listen_only
        reason: Customers are talking among themselves ...
    default: {decide: respond, reason: ...}
    sla:                         # first/next response due per decision,
      respond_now: {first_response: 15m, next_response: 30m}
      channels: {email: {respond: {first_response: 1d, next_response: 1d}}}
      teams: {vip: {respond: {first_response: 30m, next_response: 1h}}}
    priority:
      weights: {urgency: 0.30, sla: 0.25, decision: 0.20, reach: 0.10, health: 0.10, value: 0.05}

A condition (`when`) is a mapping of feature names (`rapport.engagement.
features.FIELDS`) to tests, all of which must hold; `all:`, `any:` and
`not:` combine conditions. A test is a value (equality; for a list feature:
the list holds it), a list of values (one of them), or operators: `eq`,
`ne`, `gt`, `gte`, `lt`, `lte`, `in`, `not_in`, `contains` (a list feature
holds one of these), `matches` (a regular expression). A reason may name
features in braces: `{velocity_per_hour:.1f} replies an hour`.

`parse_policy` refuses a document it cannot use with the line and the
reason (`PolicyInvalid`); nothing here touches the database.
"""

from __future__ import annotations

import difflib
import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from importlib import resources
from typing import Any

import yaml

from rapport.engagement.errors import PolicyInvalid
from rapport.engagement.features import FIELDS, zero_features
from rapport.engagement.models import DECISIONS

DEFAULT_POLICY_FILE = "default_policy.yaml"
#: How much each decision weighs in the priority (0..1).
DECISION_WEIGHT = {
    "escalate": 1.0,
    "respond_now": 0.8,
    "move_private": 0.5,
    "respond": 0.4,
    "listen_only": 0.0,
}
DEFAULT_WEIGHTS = {
    "urgency": 0.30,
    "sla": 0.25,
    "decision": 0.20,
    "reach": 0.10,
    "health": 0.10,
    "value": 0.05,
}
DEFAULT_SLA = {
    "respond_now": (timedelta(minutes=15), timedelta(minutes=30)),
    "escalate": (timedelta(minutes=15), timedelta(minutes=30)),
    "move_private": (timedelta(hours=1), timedelta(hours=4)),
    "respond": (timedelta(hours=4), timedelta(hours=8)),
}
OPERATORS = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in", "contains", "matches")
_DURATION = re.compile(
    r"^\s*(?:(\d+(?:\.\d+)?)\s*d)?\s*(?:(\d+(?:\.\d+)?)\s*h)?\s*"
    r"(?:(\d+(?:\.\d+)?)\s*m)?\s*(?:(\d+(?:\.\d+)?)\s*s)?\s*$"
)
_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,99}$")


# ------------------------------------------------------------------ reading YAML


@dataclass
class _Doc:
    """A YAML value with the line it starts on (1-based) for error messages."""

    value: Any
    line: int


def _to_doc(node: yaml.Node) -> _Doc:
    line = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[str, _Doc] = {}
        keys: dict[str, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise PolicyInvalid("keys must be words", line=key_node.start_mark.line + 1)
            key = str(key_node.value)
            if key in keys:
                raise PolicyInvalid(
                    f"{key!r} is given twice (first on line {keys[key]})",
                    line=key_node.start_mark.line + 1,
                )
            keys[key] = key_node.start_mark.line + 1
            out[key] = _to_doc(value_node)
        return _Doc(out, line)
    if isinstance(node, yaml.SequenceNode):
        return _Doc([_to_doc(n) for n in node.value], line)
    return _Doc(yaml.SafeLoader("").construct_object(node, deep=True), line)


def _plain(doc: _Doc) -> Any:
    if isinstance(doc.value, dict):
        return {k: _plain(v) for k, v in doc.value.items()}
    if isinstance(doc.value, list):
        return [_plain(v) for v in doc.value]
    return doc.value


def _mapping(doc: _Doc, what: str) -> dict[str, _Doc]:
    if not isinstance(doc.value, dict):
        raise PolicyInvalid(f"{what} must be a mapping (key: value lines)", line=doc.line)
    return doc.value


def _only(doc: dict[str, _Doc], allowed: tuple[str, ...], what: str, line: int) -> None:
    for key, value in doc.items():
        if key not in allowed:
            raise PolicyInvalid(
                f"unknown key {key!r} in {what} (allowed: {', '.join(allowed)})",
                line=value.line if value.line else line,
            )


def parse_duration(value: Any, line: int, what: str) -> timedelta:
    """`15m`, `4h`, `1d`, `1h30m`, `90s`, or a number of minutes."""
    if isinstance(value, bool):
        raise PolicyInvalid(f"{what}: {value!r} is not a duration (e.g. 15m, 4h, 1d)", line=line)
    if isinstance(value, int | float):
        minutes = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match or not any(match.groups()):
            raise PolicyInvalid(
                f"{what}: {value!r} is not a duration (e.g. 15m, 4h, 1d, 1h30m)", line=line
            )
        d, h, m, s = (float(g) if g else 0.0 for g in match.groups())
        minutes = d * 1440 + h * 60 + m + s / 60
    if minutes <= 0:
        raise PolicyInvalid(f"{what}: a duration must be more than zero", line=line)
    return timedelta(minutes=minutes)


# ------------------------------------------------------------------ conditions

Test = Callable[[Mapping[str, Any]], bool]


@dataclass(frozen=True)
class Condition:
    """A compiled `when`: a test over features, and the features it reads."""

    test: Test
    fields: tuple[str, ...]


def _compare(kind: str, op: str, expected: Any, line: int, name: str) -> Callable[[Any], bool]:
    def need_number(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise PolicyInvalid(f"{name}: {op} needs a number, got {value!r}", line=line)
        return float(value)

    if op in ("gt", "gte", "lt", "lte"):
        if kind != "number":
            raise PolicyInvalid(f"{name} is {kind}: {op} only compares numbers", line=line)
        limit = need_number(expected)
        return {
            "gt": lambda v: v > limit,
            "gte": lambda v: v >= limit,
            "lt": lambda v: v < limit,
            "lte": lambda v: v <= limit,
        }[op]
    if op in ("in", "not_in"):
        if not isinstance(expected, list):
            raise PolicyInvalid(f"{name}: {op} needs a list of values", line=line)
        for item in expected:
            _check_value(kind, item, line, name, element=True)
        options = list(expected)
        if kind == "list":
            hit: Callable[[Any], bool] = lambda v: any(x in options for x in v)  # noqa: E731
        else:
            hit = lambda v: v in options  # noqa: E731
        return hit if op == "in" else (lambda v: not hit(v))
    if op == "contains":
        if kind != "list":
            raise PolicyInvalid(f"{name} is {kind}: contains only tests lists", line=line)
        wanted = expected if isinstance(expected, list) else [expected]
        return lambda v: any(x in v for x in wanted)
    if op == "matches":
        if kind not in ("text", "list"):
            raise PolicyInvalid(f"{name} is {kind}: matches only tests text", line=line)
        try:
            pattern = re.compile(str(expected), re.IGNORECASE)
        except re.error as exc:
            raise PolicyInvalid(f"{name}: bad regular expression: {exc}", line=line) from None
        if kind == "list":
            return lambda v: any(pattern.search(str(x)) for x in v)
        return lambda v: bool(pattern.search(str(v)))
    # eq / ne
    _check_value(kind, expected, line, name, element=kind == "list")
    if kind == "list":
        same: Callable[[Any], bool] = lambda v: expected in v  # noqa: E731
    elif kind == "number":
        same = lambda v: float(v) == float(expected)  # noqa: E731
    else:
        same = lambda v: v == expected  # noqa: E731
    return same if op == "eq" else (lambda v: not same(v))


def _check_value(kind: str, value: Any, line: int, name: str, *, element: bool = False) -> None:
    if kind == "bool" and not isinstance(value, bool):
        raise PolicyInvalid(f"{name} is true or false, not {value!r}", line=line)
    if kind == "number" and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise PolicyInvalid(f"{name} is a number, not {value!r}", line=line)
    if (kind == "text" or element) and not isinstance(value, str | int | float):
        raise PolicyInvalid(f"{name}: {value!r} is not a word or number", line=line)


def _field_test(name: str, doc: _Doc) -> Test:
    spec = FIELDS.get(name)
    if spec is None:
        close = difflib.get_close_matches(name, list(FIELDS), n=3, cutoff=0.6)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise PolicyInvalid(
            f"unknown feature {name!r}{hint}; `rapport policy show --fields` lists them",
            line=doc.line,
        )
    checks: list[Callable[[Any], bool]] = []
    if isinstance(doc.value, dict):
        for op, arg in doc.value.items():
            if op not in OPERATORS:
                raise PolicyInvalid(
                    f"{name}: unknown test {op!r} (tests: {', '.join(OPERATORS)})", line=arg.line
                )
            checks.append(_compare(spec.kind, op, _plain(arg), arg.line, name))
        if not checks:
            raise PolicyInvalid(f"{name}: no test given", line=doc.line)
    elif isinstance(doc.value, list):
        checks.append(_compare(spec.kind, "in", _plain(doc), doc.line, name))
    else:
        checks.append(_compare(spec.kind, "eq", doc.value, doc.line, name))
    return lambda features: all(check(features[name]) for check in checks)


def _combine(parts: list[Condition], *, every: bool) -> Test:
    if every:
        return lambda f: all(p.test(f) for p in parts)
    return lambda f: any(p.test(f) for p in parts)


def _negate(inner: Condition) -> Test:
    return lambda f: not inner.test(f)


def _condition(doc: _Doc, what: str) -> Condition:
    if doc.value is None:
        return Condition(lambda _f: True, ())
    mapping = _mapping(doc, what)
    tests: list[Test] = []
    fields: list[str] = []
    for key, value in mapping.items():
        if key in ("all", "any"):
            if not isinstance(value.value, list) or not value.value:
                raise PolicyInvalid(f"{key}: needs a list of conditions", line=value.line)
            parts = [_condition(v, f"{key} item") for v in value.value]
            for part in parts:
                fields.extend(part.fields)
            tests.append(_combine(parts, every=key == "all"))
        elif key == "not":
            inner = _condition(value, "not")
            fields.extend(inner.fields)
            tests.append(_negate(inner))
        else:
            tests.append(_field_test(key, value))
            fields.append(key)
    unique = tuple(dict.fromkeys(fields))
    return Condition(lambda f: all(t(f) for t in tests), unique)


# ------------------------------------------------------------------ the policy


@dataclass(frozen=True)
class Rule:
    id: str
    when: Condition
    decide: str
    reason: str
    line: int
    #: Route matching threads to this team (by name), if given.
    team: str | None = None


@dataclass(frozen=True)
class SlaTarget:
    first_response: timedelta
    next_response: timedelta


@dataclass
class Policy:
    name: str
    rules: list[Rule]
    default: Rule
    #: decision → target; channel/team → decision → target.
    sla: dict[str, SlaTarget]
    sla_channels: dict[str, dict[str, SlaTarget]] = field(default_factory=dict)
    sla_teams: dict[str, dict[str, SlaTarget]] = field(default_factory=dict)
    weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    source: str = ""

    def sla_for(self, decision: str, channel: str, team: str | None) -> SlaTarget | None:
        """The SLA of a thread (team, then channel, then decision); None: nothing is due."""
        if decision == "listen_only":
            return None
        if team and decision in self.sla_teams.get(team, {}):
            return self.sla_teams[team][decision]
        if decision in self.sla_channels.get(channel, {}):
            return self.sla_channels[channel][decision]
        return self.sla.get(decision)

    def decide(self, features: Mapping[str, Any]) -> tuple[Rule, dict[str, Any]]:
        """The first rule that matches, and the features it looked at."""
        for rule in self.rules:
            if rule.when.test(features):
                return rule, {f: features[f] for f in rule.when.fields}
        return self.default, {}

    def describe(self) -> dict[str, Any]:
        def target(t: SlaTarget) -> dict[str, float]:
            return {
                "first_response_minutes": t.first_response.total_seconds() / 60,
                "next_response_minutes": t.next_response.total_seconds() / 60,
            }

        return {
            "name": self.name,
            "rules": [
                {
                    "id": r.id,
                    "decide": r.decide,
                    "reason": r.reason,
                    "line": r.line,
                    "tests": list(r.when.fields),
                    "team": r.team,
                }
                for r in self.rules
            ],
            "default": {"decide": self.default.decide, "reason": self.default.reason},
            "sla": {d: target(t) for d, t in self.sla.items()},
            "sla_channels": {
                c: {d: target(t) for d, t in m.items()} for c, m in self.sla_channels.items()
            },
            "sla_teams": {
                c: {d: target(t) for d, t in m.items()} for c, m in self.sla_teams.items()
            },
            "priority_weights": dict(self.weights),
        }


def render_reason(template: str, features: Mapping[str, Any]) -> str:
    """The rule's reason with its `{feature}` placeholders filled in."""
    shown = {
        k: (", ".join(map(str, v)) or "none") if isinstance(v, list) else v
        for k, v in features.items()
    }
    try:
        return " ".join(template.format_map(_Safe(shown)).split())
    except (ValueError, KeyError, IndexError, TypeError):
        return template


class _Safe(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _check_reason(template: str, line: int) -> None:
    try:
        names = [name for _, name, _, _ in string.Formatter().parse(template) if name]
    except ValueError as exc:
        raise PolicyInvalid(f"reason: bad placeholder: {exc}", line=line) from None
    for name in names:
        root = name.split(".")[0].split("[")[0]
        if root not in FIELDS:
            raise PolicyInvalid(f"reason: unknown feature {{{root}}} in the reason", line=line)
    try:
        template.format_map(zero_features())
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise PolicyInvalid(f"reason: {exc}", line=line) from None


def _rule(doc: _Doc, index: int, seen: dict[str, int]) -> Rule:
    what = f"rule {index}"
    body = _mapping(doc, what)
    _only(body, ("id", "when", "decide", "reason", "team"), what, doc.line)
    for key in ("id", "decide", "reason"):
        if key not in body:
            raise PolicyInvalid(f"{what} has no {key!r}", line=doc.line)
    rule_id = body["id"].value
    if not isinstance(rule_id, str) or not _ID.match(rule_id):
        raise PolicyInvalid(
            f"{what}: id {rule_id!r} must start with a letter (letters, digits, _ . -)",
            line=body["id"].line,
        )
    if rule_id in seen:
        raise PolicyInvalid(
            f"rule id {rule_id!r} is used twice (first on line {seen[rule_id]})",
            line=body["id"].line,
        )
    seen[rule_id] = body["id"].line
    decision = body["decide"].value
    if decision not in DECISIONS:
        raise PolicyInvalid(
            f"rule {rule_id}: decide {decision!r} is not a decision ({', '.join(DECISIONS)})",
            line=body["decide"].line,
        )
    reason = body["reason"].value
    if not isinstance(reason, str) or not reason.strip():
        raise PolicyInvalid(
            f"rule {rule_id}: the reason must be a sentence", line=body["reason"].line
        )
    _check_reason(reason, body["reason"].line)
    team = body.get("team")
    if team is not None and (not isinstance(team.value, str) or not team.value.strip()):
        raise PolicyInvalid(f"rule {rule_id}: team must be a team name", line=team.line)
    when = _condition(body.get("when", _Doc(None, doc.line)), f"rule {rule_id} when")
    return Rule(
        id=rule_id,
        when=when,
        decide=decision,
        reason=reason.strip(),
        line=doc.line,
        team=team.value.strip() if team is not None else None,
    )


def _targets(doc: _Doc, what: str) -> dict[str, SlaTarget]:
    out: dict[str, SlaTarget] = {}
    for decision, value in _mapping(doc, what).items():
        if decision not in DECISIONS or decision == "listen_only":
            raise PolicyInvalid(
                f"{what}: {decision!r} is not a decision with an SLA "
                f"({', '.join(d for d in DECISIONS if d != 'listen_only')})",
                line=value.line,
            )
        out[decision] = _target(value, f"{what}.{decision}")
    return out


def _target(doc: _Doc, what: str) -> SlaTarget:
    body = _mapping(doc, what)
    _only(body, ("first_response", "next_response"), what, doc.line)
    missing = [k for k in ("first_response", "next_response") if k not in body]
    if missing:
        raise PolicyInvalid(f"{what}: missing {', '.join(missing)}", line=doc.line)
    return SlaTarget(
        parse_duration(body["first_response"].value, body["first_response"].line, what),
        parse_duration(body["next_response"].value, body["next_response"].line, what),
    )


def parse_policy(text: str, *, source: str | None = None) -> Policy:
    """The policy in ``text``; `PolicyInvalid` (with the line) when it cannot be used."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise PolicyInvalid(
            f"not valid YAML: {exc.problem or exc.context}",
            line=mark.line + 1 if mark else None,
            source=source,
        ) from None
    except yaml.YAMLError as exc:
        raise PolicyInvalid(f"not valid YAML: {exc}", source=source) from None
    if node is None:
        raise PolicyInvalid("the policy is empty", line=1, source=source)
    try:
        return _compile(_to_doc(node), text)
    except PolicyInvalid as exc:
        if source:
            raise PolicyInvalid(exc.reason, line=exc.line, source=source) from None
        raise
    except yaml.MarkedYAMLError as exc:  # a tag or value YAML cannot build safely
        mark = exc.problem_mark or exc.context_mark
        raise PolicyInvalid(
            f"not usable YAML: {exc.problem or exc.context}",
            line=mark.line + 1 if mark else None,
            source=source,
        ) from None
    except (yaml.YAMLError, RecursionError, TypeError, ValueError) as exc:
        raise PolicyInvalid(f"not usable YAML: {exc}", source=source) from None


def _compile(doc: _Doc, text: str) -> Policy:
    top = _mapping(doc, "the policy")
    _only(top, ("name", "rules", "default", "sla", "priority"), "the policy", doc.line)
    name = top.get("name", _Doc("policy", 1)).value
    if not isinstance(name, str) or not name.strip():
        raise PolicyInvalid("name must be a word or sentence", line=top["name"].line)
    rules_doc = top.get("rules")
    if rules_doc is None or not isinstance(rules_doc.value, list) or not rules_doc.value:
        raise PolicyInvalid(
            "rules: a list of rules is needed (- id: ..., when: ..., decide: ..., reason: ...)",
            line=rules_doc.line if rules_doc else doc.line,
        )
    seen: dict[str, int] = {}
    rules = [_rule(r, i, seen) for i, r in enumerate(rules_doc.value, 1)]
    default_doc = top.get("default")
    if default_doc is None:
        raise PolicyInvalid(
            "default: {decide: ..., reason: ...} is needed for threads no rule matches",
            line=doc.line,
        )
    default_body = _mapping(default_doc, "default")
    _only(default_body, ("decide", "reason", "team"), "default", default_doc.line)
    default_doc.value = {"id": _Doc("default", default_doc.line), **default_body}
    default = _rule(default_doc, 0, dict(seen))
    sla = {d: SlaTarget(*t) for d, t in DEFAULT_SLA.items()}
    channels: dict[str, dict[str, SlaTarget]] = {}
    teams: dict[str, dict[str, SlaTarget]] = {}
    if "sla" in top:
        body = _mapping(top["sla"], "sla")
        for key, value in body.items():
            if key == "channels":
                channels = {
                    c: _targets(v, f"sla.channels.{c}") for c, v in _mapping(value, key).items()
                }
            elif key == "teams":
                teams = {t: _targets(v, f"sla.teams.{t}") for t, v in _mapping(value, key).items()}
            elif key in DECISIONS and key != "listen_only":
                sla[key] = _target(value, f"sla.{key}")
            else:
                raise PolicyInvalid(
                    f"sla: unknown key {key!r} (a decision, channels or teams)", line=value.line
                )
    weights = dict(DEFAULT_WEIGHTS)
    if "priority" in top:
        body = _mapping(top["priority"], "priority")
        _only(body, ("weights",), "priority", top["priority"].line)
        if "weights" in body:
            for key, value in _mapping(body["weights"], "priority.weights").items():
                if key not in DEFAULT_WEIGHTS:
                    raise PolicyInvalid(
                        f"priority.weights: unknown factor {key!r} ({', '.join(DEFAULT_WEIGHTS)})",
                        line=value.line,
                    )
                number = value.value
                if isinstance(number, bool) or not isinstance(number, int | float) or number < 0:
                    raise PolicyInvalid(
                        f"priority.weights.{key}: a number >= 0, not {number!r}", line=value.line
                    )
                weights[key] = float(number)
            if sum(weights.values()) <= 0:
                raise PolicyInvalid(
                    "priority.weights: at least one weight must be > 0", line=body["weights"].line
                )
    return Policy(
        name=name.strip(),
        rules=rules,
        default=default,
        sla=sla,
        sla_channels=channels,
        sla_teams=teams,
        weights=weights,
        source=text,
    )


def default_policy_text() -> str:
    """The policy shipped with Rapport (package data)."""
    return resources.files("rapport.engagement").joinpath(DEFAULT_POLICY_FILE).read_text("utf-8")
