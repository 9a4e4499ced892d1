"""Social to sales: customers with social engagement against the others
(revenue, purchase frequency), and revenue after a complaint we resolved
against one we did not.

Correlation, not cause: customers who talk to a brand on social media
differ from those who do not in many ways (they may simply be the bigger
buyers), and a complaint that gets resolved may be the easier one. Nothing
here says that answering made anyone buy.

- *customer*: a person with at least one won sale (relationships);
- *engaged*: one of our accounts replied to one of their messages
  (`relationships.queries.sales_report`); purchase frequency = orders per
  customer;
- *complaint*: the customer's first inbound message that the shared rules
  call a complaint (`network.resolution.complaint_cue`: intent complaint or
  sentiment ≤ −0.3);
- *resolved*: an account wrote in that thread after it and the asker's
  later messages say it helped (`network.resolution.judge_answer`:
  thanked, turned positive, followed up, or no further complaint);
  *unresolved*: they complained again, or nobody answered;
- revenue after: won sales in the `window_days` after the complaint; before:
  the same span before it (the same customers, for comparison).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from rapport.analysis.queries import analyses_for
from rapport.conversations.models import INBOUND, Account, Message
from rapport.network.resolution import ThreadMessage, complaint_cue, judge_answer
from rapport.relationships.queries import identities_of, sales_report, won_sales
from rapport.reports.csvexport import CsvTable
from rapport.storage.bulk import in_values

WINDOW_DAYS = 90
#: What the resolution rules read of a message.
_COLUMNS = (
    Message.id,
    Message.author_identity_id,
    Message.text,
    Message.created_at,
    Message.thread_id,
)
CAVEAT = (
    "Correlation, not cause: socially engaged customers and customers whose complaint was "
    "resolved may differ in other ways (bigger buyers talk more; easier complaints get "
    "resolved). These figures describe the data, they do not show that answering made anyone buy."
)


class Cohort(BaseModel):
    group: str
    currency: str
    customers: int
    orders: int
    revenue: float
    revenue_per_customer: float | None
    orders_per_customer: float | None


class ComplaintCohort(BaseModel):
    outcome: str
    currency: str
    customers: int
    revenue_after: float
    orders_after: int
    revenue_after_per_customer: float | None
    revenue_before: float
    revenue_before_per_customer: float | None


class ComplaintExample(BaseModel):
    person_id: int
    message_id: int
    outcome: str
    evidence: str


class SocialToSales(BaseModel):
    customers: int
    engaged_customers: int
    engagement: list[Cohort]
    complaints: list[ComplaintCohort]
    complaint_examples: list[ComplaintExample]
    window_days: int
    caveat: str = CAVEAT
    definitions: dict[str, str]


def _rate(num: float, den: int) -> float | None:
    return round(num / den, 2) if den else None


def compute_social_to_sales(
    session: Session, *, window_days: int = WINDOW_DAYS, examples: int = 10
) -> SocialToSales:
    base = sales_report(session)
    engagement = []
    for currency, groups in base["currencies"].items():
        for name in ("engaged", "other"):
            g = groups[name]
            engagement.append(
                Cohort(
                    group=name,
                    currency=currency,
                    customers=g["customers"],
                    orders=g["orders"],
                    revenue=g["revenue"],
                    revenue_per_customer=g["revenue_per_customer"],
                    orders_per_customer=_rate(g["orders"], g["customers"]),
                )
            )
    sales = won_sales(session)
    by_person: dict[int, list[Any]] = defaultdict(list)
    for s in sales:
        by_person[s.person_id].append(s)
    outcomes = _complaint_outcomes(session, sorted(by_person))
    window = timedelta(days=window_days)
    cells: dict[tuple[str, str], dict[str, Any]] = defaultdict(
        lambda: {"customers": set(), "after": 0.0, "orders": 0, "before": 0.0}
    )
    for pid, (outcome, at, _mid, _evidence) in outcomes.items():
        for s in by_person[pid]:
            cell = cells[(outcome, s.currency)]
            cell["customers"].add(pid)
            if at < s.occurred_at <= at + window:
                cell["after"] += s.amount
                cell["orders"] += 1
            elif at - window <= s.occurred_at <= at:
                cell["before"] += s.amount
    complaints = []
    for (outcome, currency), c in sorted(cells.items()):
        n = len(c["customers"])
        complaints.append(
            ComplaintCohort(
                outcome=outcome,
                currency=currency,
                customers=n,
                revenue_after=round(c["after"], 2),
                orders_after=c["orders"],
                revenue_after_per_customer=_rate(c["after"], n),
                revenue_before=round(c["before"], 2),
                revenue_before_per_customer=_rate(c["before"], n),
            )
        )
    sample = [
        ComplaintExample(person_id=pid, message_id=mid, outcome=outcome, evidence=evidence)
        for pid, (outcome, _at, mid, evidence) in sorted(outcomes.items())[:examples]
    ]
    return SocialToSales(
        customers=base["customers"],
        engaged_customers=base["engaged_customers"],
        engagement=engagement,
        complaints=complaints,
        complaint_examples=sample,
        window_days=window_days,
        definitions={
            **base["definitions"],
            "complaint": "first inbound message with intent complaint or sentiment ≤ −0.3",
            "resolved": "an account answered after it and the asker did not complain again",
            "unresolved": "the asker complained again after the answer",
            "unanswered": "no account wrote in the thread after the complaint",
            "revenue_after": f"won sales in the {window_days} days after the complaint",
        },
    )


def _complaint_outcomes(
    session: Session, person_ids: list[int]
) -> dict[int, tuple[str, datetime, int, str]]:
    """person → (resolved|unresolved|unanswered, complaint time, message id, evidence)."""
    if not person_ids:
        return {}
    owner: dict[int, int] = {}
    for pid, idents in identities_of(session, person_ids).items():
        for ident in idents:
            owner[ident.id] = pid
    if not owner:
        return {}
    msgs = session.execute(
        select(*_COLUMNS)
        .where(
            in_values(session, Message.author_identity_id, list(owner)),
            Message.direction == INBOUND,
        )
        .order_by(Message.created_at, Message.id)
    ).all()
    analysis = analyses_for(session, [int(m[0]) for m in msgs])
    first: dict[int, Any] = {}
    for mid, author, text, at, tid in msgs:
        pid = owner[int(author or 0)]
        if pid in first:
            continue
        if complaint_cue(text, analysis.get(int(mid))):
            first[pid] = (int(mid), author, text, at, int(tid))
    if not first:
        return {}
    accounts = set(session.execute(select(Account.identity_id)).scalars())
    threads: dict[int, list[ThreadMessage]] = defaultdict(list)
    tids = sorted({c[4] for c in first.values()})
    rows = session.execute(
        select(*_COLUMNS)
        .where(in_values(session, Message.thread_id, tids))
        .order_by(Message.created_at, Message.id)
    ).all()
    for mid, author, text, at, tid in rows:
        threads[int(tid)].append(ThreadMessage(int(mid), author, author in accounts, text, at))
    thread_analysis = analyses_for(session, [int(r[0]) for r in rows])
    out = {}
    for pid, (mid, _author, _text, at, tid) in first.items():
        thread = threads[tid]
        question = next(m for m in thread if m.id == mid)
        answer = next(
            (m for m in thread if m.is_account and (m.created_at, m.id) > (at, mid)), None
        )
        if answer is None:
            out[pid] = ("unanswered", at, mid, "no account wrote in the thread after it")
            continue
        verdict = judge_answer(thread, question, answer, thread_analysis)
        outcome = "resolved" if verdict.resolved else "unresolved"
        out[pid] = (outcome, at, mid, f"{verdict.outcome}: {verdict.evidence}")
    return out


def social_sales_tables(r: SocialToSales) -> list[CsvTable]:
    cf = list(Cohort.model_fields)
    kf = list(ComplaintCohort.model_fields)
    ef = list(ComplaintExample.model_fields)
    return [
        CsvTable("engagement", cf, [[getattr(c, f) for f in cf] for c in r.engagement]),
        CsvTable("complaints", kf, [[getattr(c, f) for f in kf] for c in r.complaints]),
        CsvTable(
            "complaint_examples", ef, [[getattr(c, f) for f in ef] for c in r.complaint_examples]
        ),
    ]
