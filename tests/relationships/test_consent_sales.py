"""Consent and preferences (what the reply path must refuse), sales linked
to the right person, bad sales rows quarantined, and the sales report."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rapport.relationships import queries
from rapport.reports.summary import compute_report
from rapport.storage.engine import session_scope
from tests.conftest import Database


def _pid(cli: Any, ref: str) -> int:
    return int(cli("people", "find", ref, "--json").json()["id"])


def test_consent_is_checked_per_channel_with_reasons(demo_db: Database, cli: Any) -> None:
    pid = _pid(cli, "twitter:115712")
    with session_scope() as session:
        public = queries.consent_decision(session, pid, "twitter")
        assert public.allowed and "public replies are allowed" in public.reason
        assert queries.consent_decision(session, pid, "twitter", private=True).allowed
        sms = queries.consent_decision(session, pid, "sms", private=True)
        assert not sms.allowed and "never wrote to us there" in sms.reason
        assert queries.consent_decision(session, None, "twitter").allowed
    out = cli("consent", "set", str(pid), "--channel", "twitter", "--deny", "--json")
    assert out.exit_code == 0, out.stderr
    assert out.json()["channels"][0] == {
        **out.json()["channels"][0],
        "channel": "twitter",
        "allowed": False,
    }
    cli("consent", "set", str(pid), "--channel", "sms", "--allow")
    with session_scope() as session:
        refused = queries.consent_decision(session, pid, "twitter")
        assert not refused.allowed and "denied consent on twitter" in refused.reason
        assert queries.consent_decision(session, pid, "sms", private=True).allowed
    cli("consent", "set", str(pid), "--channel", "*", "--deny")
    with session_scope() as session:
        assert not queries.consent_decision(session, pid, "mastodon").allowed
        assert queries.consent_decision(session, pid, "sms", private=True).allowed  # specific wins
    events = cli("audit", "--action", "consent.set", "--json").json()["events"]
    assert [e["details"]["channel"] for e in events] == ["*", "sms", "twitter"]
    assert events[-1]["details"] == {"channel": "twitter", "allowed": False, "previous": None}
    shown = cli("consent", "show", "twitter:115712", "--json").json()
    assert {(d["channel"], d["private"]): d["allowed"] for d in shown["decisions"]} == {
        ("sms", False): True,
        ("sms", True): True,
        ("twitter", False): False,
        ("twitter", True): False,
    }
    assert cli("consent", "set", str(pid), "--channel", "twitter").exit_code == 1
    assert cli("consent", "show", "424242").exit_code == 1


def test_quiet_hours_language_and_preferred_channel(demo_db: Database, cli: Any) -> None:
    pid = _pid(cli, "twitter:115712")
    out = cli(
        "consent",
        "set",
        str(pid),
        "--quiet-hours",
        "22:00-07:00",
        "--timezone",
        "Europe/Paris",
        "--language",
        "fr",
        "--preferred-channel",
        "email",
        "--json",
    )
    assert out.exit_code == 0, out.stderr
    assert out.json()["preferences"] == {
        "preferred_channel": "email",
        "quiet_hours": "22:00-07:00",
        "timezone": "Europe/Paris",
        "language": "fr",
    }
    night = datetime(2024, 1, 10, 22, 30, tzinfo=UTC)  # 23:30 in Paris
    day = datetime(2024, 1, 10, 12, 0, tzinfo=UTC)
    with session_scope() as session:
        quiet = queries.consent_decision(session, pid, "twitter", private=True, at=night)
        assert not quiet.allowed and "quiet hours 22:00-07:00" in quiet.reason
        assert quiet.retry_after == datetime(2024, 1, 11, 6, 0, tzinfo=UTC)
        assert quiet.language == "fr" and quiet.preferred_channel == "email"
        assert "they prefer email" in quiet.reason
        assert queries.consent_decision(session, pid, "twitter", private=True, at=day).allowed
        assert queries.consent_decision(session, pid, "twitter", at=night).allowed  # public
    bad = cli("consent", "set", str(pid), "--quiet-hours", "late")
    assert bad.exit_code == 1 and "HH:MM-HH:MM" in bad.stderr
    assert cli("consent", "set", str(pid), "--timezone", "Mars/Base").exit_code == 1


SALES = """identity,amount,currency,date,product,stage
twitter:115712,49.99,USD,2017-11-15,Phone case,won
jane.roe@example.org,120.00,USD,2017-10-01,Phone plan,won
+1 555 010 7788,10,USD,2017-12-01,Charger,
twitter:115713,300,USD,2017-11-20,Laptop,won
twitter:115713,75,USD,2017-12-01,Upgrade,negotiation
twitter:999999999,5,USD,2017-11-01,Nothing,won
twitter:115714,abc,USD,2017-11-01,Bad amount,won
twitter:115714,12,US,2017-11-01,Bad currency,won
twitter:115714,12,USD,2017-11-01T10:00:00,Naive time,won
twitter:sprintcare,5,USD,2017-11-01,Account,won
twitter:115714,1,USD
"""


def test_sales_link_to_the_right_person_and_bad_rows_are_quarantined(
    demo_db: Database, cli: Any, tmp_path: Path
) -> None:
    jane = _pid(cli, "twitter:115712")
    other = _pid(cli, "twitter:115713")
    cli(
        "people",
        "contact",
        "twitter:115712",
        "--email",
        "jane.roe@example.org",
        "--phone",
        "+15550107788",
    )
    path = tmp_path / "sales.csv"
    path.write_text(SALES, encoding="utf-8")
    first = cli("sales", "import", str(path), "--json")
    assert first.exit_code == 0, first.stderr
    assert first.json() == {
        "read": 11,
        "matched": 5,
        "duplicates": 0,
        "quarantined": 6,
        "people": 2,
    }
    assert cli("sales", "import", str(path), "--json").json() == {
        "read": 11,
        "matched": 0,
        "duplicates": 5,
        "quarantined": 6,
        "people": 0,
    }
    jane_sales = cli("people", "show", str(jane), "--json").json()["sales"]
    assert sorted((s["product"], s["amount"], s["stage"]) for s in jane_sales) == [
        ("Charger", 10.0, "won"),
        ("Phone case", 49.99, "won"),
        ("Phone plan", 120.0, "won"),
    ]
    assert {s["identity"] for s in jane_sales} == {"twitter:115712"}
    other_sales = cli("people", "show", str(other), "--json").json()["sales"]
    assert sorted(s["product"] for s in other_sales) == ["Laptop", "Upgrade"]
    rows = cli("quarantine", "list", "--source", str(path), "--json").json()["items"]
    reasons = {r["line"]: (r["field"], r["reason"]) for r in rows}
    assert reasons[7] == ("identity", "identity twitter:999999999 matches no stored identity")
    assert reasons[8][0] == "amount" and reasons[9][0] == "currency"
    assert reasons[10][0] == "date" and "no UTC offset" in reasons[10][1]
    assert reasons[11] == ("identity", "identity twitter:sprintcare is one of our own accounts")
    assert reasons[12][1] == "expected 6 fields, found 3"
    assert len(rows) == 6 and all(r["raw"] for r in rows)
    timeline = cli("people", "show", str(jane), "--timeline-limit", "0", "--json").json()[
        "timeline"
    ]
    first_sale = next(e["summary"] for e in timeline if e["kind"] == "sale")
    assert first_sale.startswith("Phone plan: 120.00 USD")


def test_a_sales_file_without_its_columns_is_refused_whole(
    demo_db: Database, cli: Any, tmp_path: Path
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("who,amount,currency,date,product\ntwitter:115712,1,USD,2017-11-01,X\n")
    out = cli("sales", "import", str(path), "--json")
    assert out.exit_code == 1 and "missing column(s) identity" in out.stderr
    assert cli("quarantine", "list", "--json").json()["total"] == 0
    missing = cli("sales", "import", str(tmp_path / "nope.csv"))
    assert missing.exit_code == 1 and "no such file" in missing.stderr


def test_report_sales_compares_engaged_and_other_customers(
    demo_db: Database, cli: Any, tmp_path: Path
) -> None:
    # 115712 was answered by sprintcare (engaged); 115714 never was (other).
    path = tmp_path / "sales.csv"
    path.write_text(
        "identity,amount,currency,date,product\n"
        "twitter:115712,100,USD,2017-10-01,Plan\n"  # before first contact (2017-10-31)
        "twitter:115712,50,USD,2017-11-15,Case\n"  # after
        "twitter:115714,30,USD,2017-11-15,Cable\n"
        "twitter:115714,999,EUR,2017-11-15,Laptop\n"
    )
    assert cli("sales", "import", str(path), "--json").json()["matched"] == 4
    plain = cli("report", "--json")
    with session_scope() as session:
        contract = compute_report(session).model_dump(mode="json")
    assert plain.json() == contract and set(plain.json()) == {
        "messages",
        "threads",
        "inbound",
        "outbound",
        "brands",
    }
    out = cli("report", "--sales", "--json")
    assert out.exit_code == 0, out.stderr
    doc = out.json()
    assert {k: v for k, v in doc.items() if k != "sales"} == contract
    usd = doc["sales"]["currencies"]["USD"]
    assert usd["engaged"] == {
        "customers": 1,
        "orders": 2,
        "revenue": 150.0,
        "revenue_per_customer": 150.0,
    }
    assert usd["other"] == {
        "customers": 1,
        "orders": 1,
        "revenue": 30.0,
        "revenue_per_customer": 30.0,
    }
    assert usd["before_first_contact"]["revenue"] == 100.0
    assert usd["after_first_contact"]["revenue"] == 50.0
    assert usd["engaged_vs_other_ratio"] == 5.0
    assert doc["sales"]["currencies"]["EUR"]["other"]["revenue"] == 999.0
    assert doc["sales"]["customers"] == 2 and doc["sales"]["engaged_customers"] == 1
    text = cli("report", "--sales")
    assert text.exit_code == 0 and "socially engaged" in text.stdout
