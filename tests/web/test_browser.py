"""The UI in a real browser: Debian's headless Chromium driven by Playwright
(`make browser` installs it; no browser is ever downloaded). An agent logs
in, works the inbox with the keyboard, opens a thread and the customer,
hands out a preference link the customer then uses, and sees the dashboards'
charts drawn; an agent is kept out of admin pages, an admin is not.
Screenshots go to build/screenshots/ (kept by CI as artefacts)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright

from rapport.analysis.service import do_discover_topics, scopes_with_messages
from rapport.storage.engine import session_scope
from tests.conftest import BACKEND
from tests.web.conftest import Account

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
#: One folder per database run (the two runs go side by side).
SHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots" / BACKEND


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            "Debian's chromium is not installed: run `make browser` (apt-get install chromium)"
        )
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True)
        yield b
        b.close()


def new_page(browser: Browser, problems: list[str]) -> Page:
    page = browser.new_context(viewport={"width": 1366, "height": 820}).new_page()
    page.set_default_timeout(15_000)

    def on_console(msg: ConsoleMessage) -> None:
        if msg.type == "error":
            problems.append(f"console: {msg.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    return page


def log_in(page: Page, base: str, account: Account, path: str = "/inbox") -> None:
    page.goto(base + path)
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.fill("input[name=email]", account.email)
    page.fill("input[name=password]", account.password)
    page.click("form.stack button[type=submit]")
    expect(page).to_have_url(base + path)


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_agent_works_the_inbox_thread_person_and_dashboards(
    browser: Browser, live_server: str, conversations: Path, accounts: dict[str, Account]
) -> None:
    problems: list[str] = []
    page = new_page(browser, problems)
    base = live_server
    log_in(page, base, accounts["agent"])

    rows = page.locator("[data-inbox] [data-row]")
    expect(rows.first).to_be_visible()
    assert rows.count() == 50
    shot(page, "inbox")

    # j/k move the selection; Enter opens the selected thread.
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    expect(rows.nth(1)).to_have_class(re.compile(r"\bselected\b"))
    expect(page.locator("[data-inbox] tr.selected")).to_have_count(1)
    href = rows.nth(1).get_attribute("data-href")
    page.keyboard.press("Enter")
    expect(page).to_have_url(base + href)
    expect(page.locator(".message").first).to_be_visible()
    shot(page, "thread")

    # u goes back to the inbox; the filter (htmx) narrows it without a reload.
    page.keyboard.press("u")
    expect(page).to_have_url(base + "/inbox")
    page.select_option("#filter-channel", "twitter")
    expect(page).to_have_url(re.compile(r"/inbox\?channel=twitter"))
    expect(page.locator("#inbox-list")).to_contain_text("on twitter")

    # p opens the selected row's customer.
    rows = page.locator("[data-inbox] [data-row][data-person]")
    person_href = rows.first.get_attribute("data-person")
    page.keyboard.press("j")
    page.keyboard.press("p")
    expect(page).to_have_url(base + person_href)
    expect(page.locator("h1")).to_contain_text("person ")
    expect(page.locator("text=Timeline")).to_be_visible()

    # Hand the customer their preference link (htmx fragment).
    page.click("text=Preference link for this customer")
    link = page.locator("#preference-url")
    expect(link).to_be_visible()
    url = link.input_value()
    assert url.startswith(base + "/preferences/")
    shot(page, "person")

    # The dashboards draw real charts from the same figures the server computed.
    with session_scope(write=True) as session:  # the customers' jobs, as `rapport topics discover`
        scope, ids = max(scopes_with_messages(session).items(), key=lambda kv: len(kv[1]))
        do_discover_topics(session, scope, ids, seed=1, k=3)
    page.goto(base + "/dashboards")
    expect(page.locator("#chart-topics[data-rendered=true]")).to_have_count(1)
    topics = page.evaluate("() => Chart.getChart('chart-topics').data.labels")
    assert len(topics) == 3 and all(f"({scope})" in t for t in topics)
    expect(page.locator("#at-risk h2")).to_have_text("Relationships at risk")
    expect(page.locator("#chart-volume[data-rendered=true]")).to_have_count(1)
    expect(page.locator("#chart-talk[data-rendered=true]")).to_have_count(1)
    expect(page.locator("#chart-response[data-rendered=true]")).to_have_count(1)
    expect(page.locator("#sentiment-note")).not_to_be_empty()
    painted = page.evaluate(
        """() => {
          const c = document.getElementById('chart-volume');
          const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
          let n = 0; for (let i = 3; i < d.length; i += 4) { if (d[i] > 0) n++; }
          return n / (c.width * c.height);
        }"""
    )
    assert painted > 0.01, f"the volume chart is blank ({painted:.4f} painted)"
    drawn = page.evaluate(
        """() => Chart.getChart('chart-volume').data.datasets
                 .map(s => s.data.reduce((a, b) => a + b, 0)).reduce((a, b) => a + b, 0)"""
    )
    figures = page.locator("section:has(#chart-volume) table tbody td:not(:first-child)")
    assert drawn == sum(int(t) for t in figures.all_text_contents())
    assert drawn > 0
    shot(page, "dashboards")

    # An agent cannot reach admin data (the browser logs the expected 403).
    assert problems == []
    page.goto(base + "/admin/users")
    expect(page.locator("h1")).to_have_text("Not allowed")
    assert page.locator("summary", has_text="Admin").count() == 0
    assert len(problems) == 1 and "403" in problems[0]
    problems.clear()

    # The customer opens the link without logging in and refuses the channel.
    customer = new_page(browser, problems)
    customer.goto(url)
    expect(customer.locator("h1")).to_have_text("Your preferences")
    customer.click("form[action$='/consent'] button[value=no]")
    expect(customer.locator("[role=status]")).to_contain_text("consent choice is recorded")
    expect(customer.locator("table tr", has_text="twitter")).to_contain_text("no")
    shot(customer, "preferences")
    assert problems == []


def test_admin_manages_users_and_sees_the_audit_trail(
    browser: Browser, live_server: str, conversations: Path, accounts: dict[str, Account]
) -> None:
    problems: list[str] = []
    page = new_page(browser, problems)
    base = live_server
    log_in(page, base, accounts["admin"], "/admin/users")
    page.fill("section.card input[name=email]", "new.manager@example.com")
    page.select_option("section.card select[name=role]", "manager")
    page.fill("section.card input[name=password]", "a good long password")
    page.click("section.card button[type=submit]")
    expect(page.locator("table")).to_contain_text("new.manager@example.com")
    shot(page, "admin-users")
    page.goto(base + "/admin/audit")
    expect(page.locator("table")).to_contain_text("users.create")
    expect(page.locator("table")).to_contain_text(accounts["admin"].email)
    page.goto(base + "/admin/channels")
    expect(page.locator("table")).to_contain_text("twitter")
    # Add a live (webhook) channel from its form, then disable it.
    page.click("#add-webhook summary")
    form = page.locator("#add-webhook form")
    form.locator("input[name=name]").fill("partners")
    form.locator("input[name=opt_secret]").fill("a-long-shared-signing-secret")
    form.locator("button[type=submit]").click()
    row = page.locator("#channel-partners")
    expect(row).to_contain_text("webhook")
    expect(row.locator(".chip")).to_have_text("new")
    expect(row).to_contain_text("/api/v1/channels/partners/webhook")
    assert "a-long-shared-signing-secret" not in page.content()
    row.locator("button", has_text="Disable").click()
    expect(page.locator("#channel-partners .chip")).to_have_text("disabled")
    shot(page, "admin-channels")
    page.goto(base + "/docs")
    expect(page.locator(".swagger-ui .title")).to_contain_text("Rapport")
    page.goto(base + "/inbox")
    page.click("text=Log out")
    expect(page).to_have_url(base + "/login")
    assert problems == []


def test_agent_resolves_threads_with_the_keyboard_and_uses_the_workspace(
    browser: Browser, live_server: str, conversations: Path, accounts: dict[str, Account]
) -> None:
    from rapport.engagement.models import ThreadState
    from rapport.engagement.workspace import do_save_canned
    from rapport.storage.engine import session_scope

    with session_scope(write=True) as s:
        do_save_canned(s, "sorry", "Sorry about that, {{customer.name}}!", actor="test")
    problems: list[str] = []
    page = new_page(browser, problems)
    base = live_server
    log_in(page, base, accounts["agent"])
    rows = page.locator("[data-inbox] [data-row]")
    expect(rows.first).to_be_visible()
    open_tab = page.locator("[data-status-tab=open] .count")
    resolved_tab = page.locator("[data-status-tab=resolved] .count")
    open_before = int(open_tab.inner_text())
    assert resolved_tab.inner_text() == "0"

    # j moves, x selects: the first two threads; e resolves them in one go.
    page.keyboard.press("j")
    page.keyboard.press("x")
    page.keyboard.press("j")
    page.keyboard.press("x")
    expect(page.locator("[data-inbox] tr.checked")).to_have_count(2)
    chosen = [int(r.get_attribute("data-thread") or 0) for r in page.locator("tr.checked").all()]
    shot(page, "inbox-selected")
    page.keyboard.press("e")
    expect(page.locator("#bulk-status")).to_have_text("2 thread(s) resolved")
    expect(resolved_tab).to_have_text("2")
    expect(open_tab).to_have_text(str(open_before - 2))
    for tid in chosen:
        expect(page.locator(f"[data-inbox] [data-thread='{tid}']")).to_have_count(0)
    with session_scope() as s:
        assert {s.get(ThreadState, t).status for t in chosen} == {"resolved"}  # type: ignore[union-attr]
    # e on the current row alone, without a selection.
    page.keyboard.press("j")
    current = page.locator("[data-inbox] tr.selected").get_attribute("data-thread")
    page.keyboard.press("e")
    expect(resolved_tab).to_have_text("3")
    assert page.locator(f"[data-inbox] [data-thread='{current}']").count() == 0

    # Live: a new customer message shows up in the open inbox without a reload.
    import json as _json

    from rapport.conversations.service import do_ingest_files
    from tests.engagement.test_triage import thread_of

    fresh = conversations.parent / "live.jsonl"
    fresh.write_text(_json.dumps({
        "id": "live-1", "author": "115999", "created_at": "2017-11-01T23:59:00Z",
        "text": "@AmazonHelp URGENT!!! my account was hacked and I was charged twice, "
                "help me now please!!!",
    }) + "\n", encoding="utf-8")  # fmt: skip
    do_ingest_files([fresh], fmt="jsonl", channel="twitter")
    new_thread = thread_of("live-1")
    expect(page.locator(f"[data-inbox] [data-thread='{new_thread}']")).to_have_count(
        1, timeout=20_000
    )

    # The thread: "/" offers canned responses; a note is visibly internal; snooze.
    page.goto(base + f"/threads/{current}")
    box = page.locator("#reply-text")
    box.click()
    page.keyboard.type("/so")
    picker = page.locator("#canned-picker")
    expect(picker).to_be_visible()
    expect(picker.locator("li")).to_have_count(1)
    page.keyboard.press("Enter")
    expect(box).to_have_value("Sorry about that, {{customer.name}}!")
    page.fill("#note-text", "@manager have a look please")
    page.click("#add-note")
    expect(page.locator("#notice")).to_contain_text("notified @manager")
    expect(page.locator("[data-note]")).to_contain_text("internal note — never sent")
    page.click("#snooze-form button[type=submit]")
    expect(page.locator("#thread-status")).to_have_text("snoozed")
    shot(page, "thread-workspace")
    assert problems == []
