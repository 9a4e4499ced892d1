"""The one place insights read the engagement domain (triage, SLAs, teams,
assignments), which is built separately: until `rapport.engagement.queries`
is installed with the functions named here, `engagement_view` returns None
and response metrics carry no SLA, team or agent breakdown.

Names used (engagement branch, `src/rapport/engagement/queries.py`):
- `sla_summary(session)` → {"breaches", "overdue", "by_channel": {name:
  {"threads", "breaches", "overdue"}}, "by_decision": {...}};
- `team_of_threads(session, thread_ids)` → {thread id: team name};
- `assignee_of_threads(session, thread_ids)` → {thread id: agent username}
  (optional: without it there is no per-agent breakdown);
- `rapport.reports.talk_listen.talk_listen(session, flt)`: the talk/listen
  governance report (channels, accounts, teams, flags), shown beside the
  per-account ratios computed here.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session


@dataclass
class EngagementView:
    sla: dict[str, Any]
    team_of: dict[int, str] = field(default_factory=dict)
    agent_of: dict[int, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)


def engagement_view(session: Session, thread_ids: Sequence[int]) -> EngagementView | None:
    """SLA figures and who owns each thread, from engagement; None when that
    domain is not installed."""
    try:
        queries = importlib.import_module("rapport.engagement.queries")
    except ImportError:
        return None
    sla_summary = getattr(queries, "sla_summary", None)
    if sla_summary is None:
        return None
    view = EngagementView(sla=dict(sla_summary(session)))
    ids = list(thread_ids)
    for name, target in (("team_of_threads", "team_of"), ("assignee_of_threads", "agent_of")):
        fn = getattr(queries, name, None)
        if fn is None:
            view.missing.append(name)
            continue
        setattr(view, target, {int(k): str(v) for k, v in fn(session, ids).items()})
    return view


def talk_listen_governance(session: Session, flt: Any) -> dict[str, Any] | None:
    """Engagement's talk/listen governance report (`rapport.reports.talk_listen`,
    per channel, account and team with its flags) for ``flt``, when that
    module is installed; None before."""
    try:
        module = importlib.import_module("rapport.reports.talk_listen")
    except ImportError:
        return None
    fn = getattr(module, "talk_listen", None)
    if fn is None:
        return None
    result = fn(session, flt)
    dumped: dict[str, Any] = result.model_dump(mode="json")
    return dumped
