"""The insights over HTTP on the airline slice: the API answers what the CLI
prints (JSON and CSV), writes are role-checked and bad input refused; the
dashboards' insight panels draw in a real browser."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import expect, sync_playwright

from rapport.web.app import create_app
from tests.web.conftest import Account, make_accounts, password_hash, serving  # noqa: F401
from tests.web.test_browser import CHROMIUM, FLAGS, SHOTS, log_in


@pytest.fixture
def web(airline, password_hash: str) -> Iterator[tuple[TestClient, dict[str, Account]]]:  # noqa: F811
    accounts = make_accounts(password_hash)
    with TestClient(create_app(), follow_redirects=False) as client:
        yield client, accounts


def test_the_api_answers_what_the_cli_prints_in_json_and_csv(web, cli) -> None:
    client, accounts = web
    h = accounts["analyst"].headers
    api = client.get("/api/v1/insights/trends?by=day", headers=h)
    assert api.status_code == 200
    assert api.json()["buckets"] == cli("insights", "trends", "--json").json()["buckets"]
    got = client.get("/api/v1/insights/trends?by=day&format=csv", headers=h)
    assert got.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(got.text)))
    assert sum(int(r["messages"]) for r in rows) == api.json()["total_messages"]
    topics = client.get("/api/v1/insights/trends?format=csv&table=topics", headers=h)
    assert topics.text.startswith("start,rank,topic,messages,negative")
    assert client.get("/api/v1/insights/trends?format=csv&table=nope", headers=h).status_code == 422
    alerts = client.get("/api/v1/insights/alerts", headers=h).json()["alerts"]
    assert any(a["scope"] == "brand:americanair" for a in alerts)
    for path in (
        "/api/v1/insights/share-of-voice",
        "/api/v1/insights/response",
        "/api/v1/insights/perception-gap",
        "/api/v1/insights/social-sales",
        "/api/v1/listening/queries",
        "/api/v1/listening/queries/united",
        "/api/v1/alerts/rules",
    ):
        assert client.get(path, headers=h).status_code == 200, path
        csv_answer = client.get(path + "?format=csv", headers=h)
        assert csv_answer.status_code == 200 and "\n" in csv_answer.text, path
    assert client.get("/api/v1/insights/trends?since=2030-01-01", headers=h).json()["buckets"] == []
    assert client.get("/api/v1/insights/trends").status_code == 401


def test_writes_are_role_checked_and_bad_input_refused(web) -> None:
    client, accounts = web
    analyst, agent, manager = (accounts[r].headers for r in ("analyst", "agent", "manager"))
    body = {"name": "bags", "query": '"lost bag" OR "lost luggage"'}
    assert client.post("/api/v1/listening/queries", json=body, headers=agent).status_code == 403
    bad = client.post(
        "/api/v1/listening/queries", json={"name": "x", "query": "bag AND (lost"}, headers=analyst
    )
    assert bad.status_code == 422 and "unclosed '(' at 9" in bad.json()["detail"]
    made = client.post("/api/v1/listening/queries", json=body, headers=analyst)
    assert made.status_code == 201 and made.json()["matches"] > 0
    run = client.get("/api/v1/listening/queries/bags", headers=agent).json()
    assert run["matches"] == made.json()["matches"]
    assert client.delete("/api/v1/listening/queries/bags", headers=analyst).status_code == 204
    assert client.get("/api/v1/listening/queries/bags", headers=agent).status_code == 404
    rule = {"kind": "volume", "scope": "brand:united", "threshold": 4}
    assert client.put("/api/v1/alerts/rules/u", json=rule, headers=agent).status_code == 403
    assert client.put("/api/v1/alerts/rules/u", json=rule, headers=analyst).status_code == 200
    rule["scope"] = "galaxy"
    assert client.put("/api/v1/alerts/rules/u", json=rule, headers=analyst).status_code == 422
    belief = {"ranking": ["community_chatter", "purchase"]}
    assert client.put("/api/v1/insights/belief", json=belief, headers=analyst).status_code == 403
    set_ = client.put("/api/v1/insights/belief", json=belief, headers=manager)
    assert set_.status_code == 200 and set_.json()["shares"]["community_chatter"] == pytest.approx(
        2 / 3, abs=1e-3
    )
    bad_belief = client.put("/api/v1/insights/belief", json={"ranking": ["vibes"]}, headers=manager)
    assert bad_belief.status_code == 422


def test_the_dashboards_draw_the_insight_panels(airline, password_hash: str) -> None:  # noqa: F811
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is not installed: run `make browser`")
    accounts = make_accounts(password_hash)
    problems: list[str] = []
    with serving() as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True)
        page = browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
        page.set_default_timeout(20_000)
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        log_in(page, base, accounts["analyst"], "/dashboards")
        for chart in ("trend", "sov", "perception"):
            chart_drawn = page.locator(f"#chart-insights-{chart}[data-rendered=true]")
            expect(chart_drawn).to_have_count(1, timeout=30_000)
        expect(page.locator("#panel-alerts tbody tr").first).to_contain_text(
            "volume", timeout=30_000
        )
        expect(page.locator("#panel-sov")).to_contain_text("united (ours)")
        drawn = page.evaluate(
            """() => Chart.getChart('chart-insights-trend').data.datasets
                 .filter(s => s.stack === 'mix')
                 .map(s => s.data.reduce((a, b) => a + b, 0)).reduce((a, b) => a + b, 0)"""
        )
        total = int(page.locator("#panel-trend p.muted").inner_text().split()[0])
        assert drawn == total > 0
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "dashboards-insights.png"), full_page=True)
        browser.close()
    assert problems == []
