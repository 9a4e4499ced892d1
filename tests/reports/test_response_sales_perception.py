"""Response metrics on the TWCS demo against an independent computation from
the CSV; the perception gap's rules and the manager's belief; social to
sales on the synthetic sales linked to demo customers."""

from __future__ import annotations

import csv
import re
import statistics
from collections import defaultdict
from datetime import datetime
from typing import Any

import networkx as nx
import pytest

from rapport.demo import demo_path
from rapport.reports.errors import InsightsError
from rapport.reports.perception import REASONS, borda, classify, parse_ranking
from tests.reports.conftest import DEMO_SALES


def independent_response() -> dict[str, Any]:
    """Coverage and first response per brand, straight from the CSV."""
    with demo_path().open(encoding="utf-8", newline="") as fh:
        rows = {r["tweet_id"]: r for r in csv.DictReader(fh)}
    graph = nx.Graph()
    graph.add_nodes_from(rows)
    for tid, r in rows.items():
        for other in [r["in_response_to_tweet_id"], *r["response_tweet_id"].split(",")]:
            if other in rows and other != tid:
                graph.add_edge(tid, other)
    thread = {t: i for i, comp in enumerate(nx.connected_components(graph)) for t in comp}
    when = {
        t: datetime.strptime(r["created_at"], "%a %b %d %H:%M:%S %z %Y") for t, r in rows.items()
    }
    brands = {r["author_id"] for r in rows.values() if r["inbound"] == "False"}
    brand_times: dict[tuple[int, str], list[datetime]] = defaultdict(list)
    for t, r in rows.items():
        if r["inbound"] == "False":
            brand_times[(thread[t], r["author_id"])].append(when[t])
    out: dict[str, Any] = {}
    for brand in brands:
        mention = re.compile(r"(?<![\w@])@" + re.escape(brand) + r"(?!\w)", re.IGNORECASE)
        asks = []
        for t, r in rows.items():
            if r["inbound"] != "True":
                continue
            parent = rows.get(r["in_response_to_tweet_id"])
            if (
                parent and parent["inbound"] == "False" and parent["author_id"] == brand
            ) or mention.search(r["text"]):
                asks.append(t)
        answered = [t for t in asks if any(x > when[t] for x in brand_times[(thread[t], brand)])]
        first: dict[int, datetime] = {}
        for t in asks:
            first[thread[t]] = min(first.get(thread[t], when[t]), when[t])
        delays = []
        for th, asked in first.items():
            later = sorted(x for x in brand_times[(th, brand)] if x > asked)
            if later:
                delays.append((later[0] - asked).total_seconds())
        if asks:
            out[brand] = {
                "addressed": len(asks),
                "answered": len(answered),
                "median": statistics.median(delays) if delays else None,
            }
    return out


def test_coverage_and_first_response_match_the_csv(demo, cli) -> None:
    result = cli("insights", "response", "--json")
    assert result.exit_code == 0, result.stderr
    doc = result.json()
    rows = {(r["group"], r["key"]): r for r in doc["rows"]}
    expected = independent_response()
    for brand, want in expected.items():
        got = rows[("account", brand)]
        assert (got["addressed"], got["answered"]) == (want["addressed"], want["answered"]), brand
        assert got["first_response_median_seconds"] == want["median"], brand
    overall = rows[("overall", "all")]
    assert overall["addressed"] == sum(w["addressed"] for w in expected.values())
    assert overall["coverage"] == pytest.approx(
        overall["answered"] / overall["addressed"], abs=1e-4
    )
    assert rows[("channel", "twitter")]["addressed"] == overall["addressed"]
    talk = {t["account"]: t for t in doc["talk_listen"]}
    assert talk["AmazonHelp"]["target"] == 0.25 and talk["AmazonHelp"]["status"] == "talks too much"
    assert doc["talk_listen_governance"]["target_outbound_share"] == doc["talk_target"] == 0.25
    empty = cli("insights", "response", "--since", "2030-01-01", "--json").json()
    assert empty["rows"] == [] and empty["talk_listen"] == []


def test_sla_breaches_per_account_team_and_agent_come_from_triage(demo, cli) -> None:
    """Each row's SLA breaches are the stored breaches of its addressed threads
    (listen_only threads have none); a thread given to an agent of a team
    shows in that agent's and team's rows."""
    from sqlalchemy import select

    from rapport.engagement.models import ThreadState
    from rapport.reports.summary import ReportFilter, addressed_messages
    from rapport.storage.engine import session_scope
    from rapport.users.schemas import UserCreate
    from rapport.users.service import do_create_user

    with session_scope(write=True) as session:
        for name, role in (("ana", "agent"), ("max", "manager")):
            do_create_user(
                session, UserCreate(email=f"{name}@example.com", role=role, name=name), actor="t"
            )
        addressed = addressed_messages(ReportFilter(), None).subquery()
        asked = set(session.execute(select(addressed.c.tid)).scalars())
        states = {
            s.thread_id: s
            for s in session.execute(select(ThreadState)).scalars()
            if s.thread_id in asked and s.decision != "listen_only"
        }
        late = sorted(t for t, s in states.items() if s.sla_breaches)
    assert late, "the demo has late answers: the test can fail"
    assert cli("teams", "add", "care", "--as", "max").exit_code == 0
    assert cli("teams", "join", "ana", "care", "--as", "max").exit_code == 0
    assert cli("assign", str(late[0]), "--to", "ana", "--as", "max").exit_code == 0

    doc = cli("insights", "response", "--json").json()
    rows = {(r["group"], r["key"]): r for r in doc["rows"]}
    assert rows[("overall", "all")]["sla_breaches"] == sum(s.sla_breaches for s in states.values())
    assert rows[("overall", "all")]["sla_breaches"] <= doc["sla"]["breaches"]
    agent, team = rows[("agent", "ana")], rows[("team", "care")]
    assert agent["threads"] >= 1 and agent["sla_breaches"] == states[late[0]].sla_breaches
    assert team["sla_breaches"] == agent["sla_breaches"]
    assert "listen_only" in doc["engagement"] and "sla_breaches" in doc["definitions"]


def test_each_message_gets_one_reason_and_the_rule_that_gave_it() -> None:
    c = classify("@united my flight was cancelled and I am stuck, help", "complaint")
    assert c.reason == "support_problem"
    assert c.rule.startswith(
        "support_problem: cues 'cancelled', 'help', 'stuck' + intent complaint"
    )
    assert (
        classify("any promo code for flights to Denver? $99 fares?", "question").reason
        == "discount_price"
    )
    assert classify("I just booked tickets for my whole family", "chatter").reason == "purchase"
    assert classify("Is there wifi on the 7am flight?", "question").reason == "product_information"
    assert classify("You should bring back the free snacks, great idea", "feedback").reason in (
        "feedback_ideas",
    )
    assert classify("love you guys, thanks!", "praise").reason == "community_chatter"
    assert classify("ok", None).reason == "unclassified"
    # A tie goes to the more concrete motive (discount before chatter).
    assert classify("free", "chatter").reason == "discount_price"


def test_the_believed_ranking_becomes_borda_shares() -> None:
    shares = borda(["community_chatter", "product_information", "discount_price"])
    assert shares["community_chatter"] == pytest.approx(0.5)
    assert shares["discount_price"] == pytest.approx(1 / 6, abs=1e-4)
    assert shares["purchase"] == 0
    with pytest.raises(InsightsError, match="unknown reason"):
        parse_ranking("community,discount_price")
    with pytest.raises(InsightsError, match="twice"):
        parse_ranking("purchase,purchase")


def test_the_perception_gap_sets_measured_reasons_against_the_belief(demo, cli) -> None:
    before = cli("insights", "perception-gap", "--json").json()
    assert before["believed"] is None and "belief set" in before["note"]
    assert before["classified"] + before["unclassified"] == before["messages"] > 2000
    assert abs(sum(before["actual"].values()) - 1) < 1e-3
    ranking = ",".join(
        [
            "community_chatter",
            "product_information",
            "feedback_ideas",
            "support_problem",
            "purchase",
            "discount_price",
        ]
    )
    assert cli("insights", "belief", "set", ranking).exit_code == 0
    doc = cli("insights", "perception-gap", "--json").json()
    assert doc["believed"]["ranking"] == ranking.split(",")
    for row in doc["gap"]:
        assert row["gap"] == pytest.approx(row["actual_share"] - row["believed_share"], abs=1e-4)
    for reason in REASONS:
        for e in doc["examples"][reason]:
            assert e["rule"].startswith(reason + ":")
    assert cli("insights", "belief", "set", "nonsense").exit_code == 1


def test_only_managers_record_the_belief(demo, cli) -> None:
    from rapport.storage.engine import session_scope
    from rapport.users.schemas import UserCreate
    from rapport.users.service import do_create_user

    with session_scope(write=True) as session:
        do_create_user(session, UserCreate(email="an@example.com", role="analyst"), actor="test")
        do_create_user(session, UserCreate(email="mgr@example.com", role="manager"), actor="test")
    refused = cli("insights", "belief", "set", "purchase", "--as", "an@example.com")
    assert refused.exit_code == 1 and "insights.belief needs the role" in refused.stderr
    assert cli("insights", "belief", "set", "purchase", "--as", "mgr@example.com").exit_code == 0
    shown = cli("insights", "belief", "show", "--json").json()["belief"]
    assert shown["updated_by"] == "mgr@example.com"


def test_social_to_sales_splits_revenue_by_engagement_and_complaint_outcome(demo, cli) -> None:
    result = cli("insights", "social-sales", "--json")
    assert result.exit_code == 0, result.stderr
    doc = result.json()
    with DEMO_SALES.open(encoding="utf-8", newline="") as fh:
        won = [r for r in csv.DictReader(fh) if r["stage"] == "won"]
    per_currency: dict[str, float] = defaultdict(float)
    for r in won:
        per_currency[r["currency"]] += float(r["amount"])
    got: dict[str, float] = defaultdict(float)
    orders = 0
    for c in doc["engagement"]:
        got[c["currency"]] += c["revenue"]
        orders += c["orders"]
        if c["customers"]:
            assert c["orders_per_customer"] == pytest.approx(c["orders"] / c["customers"], abs=0.01)
    assert orders == len(won)
    for currency, total in per_currency.items():
        assert got[currency] == pytest.approx(total, abs=0.05)
    outcomes = {c["outcome"] for c in doc["complaints"]}
    assert outcomes >= {"resolved", "unresolved", "unanswered"}
    assert (
        sum(c["customers"] for c in doc["complaints"] if c["currency"] == "USD") <= doc["customers"]
    )
    assert "Correlation, not cause" in doc["caveat"]
    for e in doc["complaint_examples"]:
        assert e["outcome"] in outcomes and e["evidence"]
