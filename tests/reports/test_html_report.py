"""`rapport report --html`: one self-contained file whose charts draw in a
real browser (Debian's Chromium, offline) from the same figures as the CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from tests.web.test_browser import CHROMIUM, FLAGS, SHOTS


def test_the_html_report_is_self_contained_and_its_charts_draw(
    airline, cli, tmp_path: Path
) -> None:
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is not installed: run `make browser`")
    out = tmp_path / "report.html"
    result = cli("report", "--html", str(out), "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json()["messages"] > 4000  # the contract report still prints
    html = out.read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]+src=", html) and not re.search(r"<link[^>]+href=", html)
    assert not re.search(r"""(?:src|href)=["']?(?:https?:)?//""", html)
    assert "Chart.js v4" in html or "chart.js" in html.lower()  # inlined, not fetched
    data = json.loads(re.search(r'id="insights-data">(.*?)</script>', html, re.S).group(1))  # type: ignore[union-attr]
    trends = cli("insights", "trends", "--json").json()
    assert data["trend"]["messages"] == [b["messages"] for b in trends["buckets"]]
    assert sum(data["trend"]["alerts"]) > 0
    assert "brand:americanair" in html and "Correlation, not cause" in html

    problems: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True)
        context = browser.new_context(viewport={"width": 1366, "height": 900}, offline=True)
        page = context.new_page()
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on(
            "request", lambda r: problems.append(r.url) if not r.url.startswith("file:") else None
        )
        page.goto(out.as_uri())
        for chart in ("trend", "sov", "perception"):
            page.wait_for_selector(f"#chart-insights-{chart}[data-rendered=true]", timeout=15_000)
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "html-report.png"), full_page=True)
        browser.close()
    assert problems == []
