"""Drive the desk like an agent would: open it, filter, claim, answer with a template, see it arrive."""

from __future__ import annotations

import re
from typing import Any

import pytest
from deskbrowser import SCREENSHOTS, VIEWPORTS, Desk
from playwright.sync_api import Page, expect

from desk.incidents import current_incident
from desk.templates import count_for, list_templates, render

pytestmark = pytest.mark.e2e
TIMEOUT = 20_000


def open_page(
    browser: Any, desk: Desk, agent: str, path: str = "", size: str = "laptop"
) -> tuple[Page, list[str]]:
    width, height = VIEWPORTS[size]
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(f"{desk.url}/{path}?agent={agent}")
    settle(page)
    expect(page.get_by_text(f"Working as {agent}")).to_be_visible()
    return page, dialogs


def settle(page: Page) -> None:
    """Wait until Streamlit has finished the current run (the status widget disappears)."""
    page.wait_for_selector('[data-testid="stApp"]')
    page.wait_for_timeout(300)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=TIMEOUT
    )
    assert page.locator('[data-testid="stException"]').count() == 0, page.locator(
        '[data-testid="stException"]'
    ).first.inner_text()


def shoot(page: Page, name: str) -> None:
    for size, (width, height) in VIEWPORTS.items():
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(400)
        settle(page)
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{size}-{width}x{height}.png"), full_page=True)
    page.set_viewport_size({"width": 1366, "height": 768})


def card(page: Page, text: str) -> Any:
    return page.locator('[class*="st-key-desk-card-"]').filter(has_text=text).first


def test_filter_claim_answer_with_template_reaches_x(browser: Any, desk: Desk) -> None:
    page, dialogs = open_page(browser, desk, "Ana")
    expect(page.get_by_role("heading", name="Queue")).to_be_visible()
    shoot(page, "queue")
    # Hostile names and texts are shown as text, invisible characters revealed, nothing executed.
    expect(page.get_by_text("⟨U+202E⟩evil<img src=x onerror=alert(1)>").first).to_be_visible()
    expect(
        page.get_by_text("[click me](javascript:alert(1)) <script>alert(2)</script>", exact=False)
    ).to_be_visible()
    assert page.locator('a[href^="javascript"]').count() == 0
    search = page.get_by_label("Search text")
    search.fill("phones dead")
    search.press("Enter")
    settle(page)
    expect(page.get_by_text(re.compile(r"^1 mentions"))).to_be_visible()
    expect(page.get_by_text("WHY are my phones dead again?? fix it", exact=False)).to_be_visible()
    card(page, "phones dead").get_by_role("button", name="Open").click()
    settle(page)
    expect(page.get_by_role("heading", name="Conversation")).to_be_visible()
    expect(page.get_by_text("You are replying", exact=False)).to_be_visible()
    template = list_templates(desk.engine)[0]  # whichever canned reply the demo ships first
    incident = current_incident(desk.engine)
    assert incident is not None
    expected = render(
        template.body,
        {
            "first_name": "Ana",
            "handle": "@angry_ana",
            "incident_title": incident.title,
            "status_url": incident.status_url,
            "eta": incident.eta,
        },
    ).text
    page.get_by_label("Canned reply").click()
    page.get_by_role("option", name=template.name).click()
    settle(page)
    draft = page.get_by_label("Your reply")
    expect(draft).to_have_value(expected)
    used = count_for("x", expected).used
    expect(page.get_by_text(re.compile(rf"^{used} / 280 characters"))).to_be_visible()
    shoot(page, "conversation")
    page.get_by_role("button", name="Send reply").click()
    settle(page)
    expect(page.get_by_text("Reply sent.")).to_be_visible()
    expect(page.get_by_text("Answered by Ana", exact=False)).to_be_visible()
    posted = [
        p
        for p in desk.nets.x.posted
        if p.get("in_reply_to_tweet_id") == desk.mentions["x_angry"]
        or p.get("in_reply_to") == desk.mentions["x_angry"]
    ]
    assert len(posted) == 1, desk.nets.x.posted
    assert posted[0]["text"] == expected
    assert dialogs == []
    page.context.close()


def test_two_agents_cannot_answer_the_same_mention(browser: Any, desk: Desk) -> None:
    ana, _ = open_page(browser, desk, "Ana")
    ben, _ = open_page(browser, desk, "Ben")
    for page in (ana, ben):
        page.get_by_label("Search text").fill("no dial tone")
        page.get_by_label("Search text").press("Enter")
        settle(page)
    card(ana, "outage number 3").get_by_role("button", name="Open").click()
    settle(ana)
    expect(ana.get_by_text("You are replying", exact=False)).to_be_visible()
    ben.reload()
    settle(ben)
    ben.get_by_label("Search text").fill("outage number 3")
    ben.get_by_label("Search text").press("Enter")
    settle(ben)
    expect(card(ben, "outage number 3").get_by_text("Ana is replying")).to_be_visible()
    card(ben, "outage number 3").get_by_role("button", name="View").click()
    settle(ben)
    expect(ben.get_by_text("Ana is replying to this mention; you cannot send to it.").first).to_be_visible()
    assert ben.get_by_role("button", name="Send reply").count() == 0
    before = len(desk.nets.x.posted)
    ana.get_by_label("Your reply").fill("Hi, we're on it — sorry for the trouble.")
    ana.get_by_role("button", name="Send reply").click()
    settle(ana)
    expect(ana.get_by_text("Reply sent.")).to_be_visible()
    ben.reload()
    settle(ben)
    expect(ben.get_by_text("Answered by Ana", exact=False)).to_be_visible()
    assert ben.get_by_role("button", name="Send reply").count() == 0
    assert len(desk.nets.x.posted) == before + 1
    ana.context.close()
    ben.context.close()


def test_keyboard_failed_send_keeps_draft_then_sends_to_facebook(browser: Any, desk: Desk) -> None:
    page, _ = open_page(browser, desk, "Ben")
    page.get_by_label("Search text").fill("office phones")
    page.get_by_label("Search text").press("Enter")
    settle(page)
    card(page, "office phones").get_by_role("button", name="Open").click()
    settle(page)
    desk.nets.graph.faults.inject("permission", path="/v*/*/comments", times=1)
    draft = page.get_by_label("Your reply")
    draft.click()
    draft.type("Hi Fiona")
    draft.press("Control+Enter")  # applies the text so far: count and preview update
    settle(page)
    expect(page.get_by_text(re.compile(r"^8 / 8000 characters"))).to_be_visible()
    draft.click()
    draft.press("End")
    draft.type(", sorry about this. Engineers are fixing DNS now.")  # not applied yet
    page.keyboard.press("Tab")  # to the Send button; leaving the box applies the text
    settle(page)
    # as a person would: the count shows the whole text before they press Enter
    expect(page.get_by_text(re.compile(r"^57 / 8000 characters"))).to_be_visible()
    expect(page.get_by_role("button", name="Send reply")).to_be_focused()
    page.keyboard.press("Enter")
    settle(page)
    expect(page.get_by_text("Not sent", exact=False).first).to_be_visible()
    expect(page.get_by_label("Your reply")).to_have_value(
        "Hi Fiona, sorry about this. Engineers are fixing DNS now."
    )
    assert desk.nets.graph.posted == []
    page.get_by_label("Your reply").focus()
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    settle(page)
    expect(page.get_by_text("Reply sent.")).to_be_visible()
    assert [p["message"] for p in desk.nets.graph.posted] == [
        "Hi Fiona, sorry about this. Engineers are fixing DNS now."
    ]
    page.keyboard.press("Alt+n")  # next mention, by keyboard: the search still narrows the view
    settle(page)
    expect(page.get_by_text("Nothing left to pick up in this view.")).to_be_visible()
    page.get_by_role("link", name="Queue").click()
    settle(page)
    page.get_by_label("Search text").fill("")
    page.get_by_label("Search text").press("Enter")
    settle(page)
    page.keyboard.press("Alt+n")
    settle(page)
    expect(page.get_by_role("heading", name="Conversation")).to_be_visible()
    expect(page.get_by_text("You are replying", exact=False)).to_be_visible()
    page.context.close()


def test_analytics_and_settings_render(browser: Any, desk: Desk) -> None:
    page, _ = open_page(browser, desk, "Lee", path="analytics")
    expect(page.get_by_role("heading", name="Analytics")).to_be_visible()
    expect(page.get_by_text("First response, median")).to_be_visible()
    shoot(page, "analytics")
    page.goto(f"{desk.url}/settings?agent=Lee")
    settle(page)
    expect(page.get_by_role("heading", name="Settings")).to_be_visible()
    shoot(page, "settings")
    page.context.close()


def test_new_mentions_appear_without_reload_and_drafts_survive_refresh(browser: Any, desk: Desk) -> None:
    from desk.ingest import pull_all

    page, _ = open_page(browser, desk, "Ana")
    desk.nets.x.add_user("9500", "late_lou", "Lou Late", followers_count=3)
    desk.nets.x.add_tweet(f"@{desk.nets.x.desk_username} brand new complaint about voicemail", "9500")
    pull_all(desk.engine, desk.connectors, settings=desk.settings, sleep=lambda _s: None)
    # No reload: the queue's fragment refreshes itself every 10 s.
    expect(page.get_by_text("brand new complaint about voicemail", exact=False)).to_be_visible(timeout=25_000)
    card(page, "brand new complaint").get_by_role("button", name="Open").click()
    settle(page)
    draft = page.get_by_label("Your reply")
    draft.click()
    draft.type("Typing slowly, not applied yet")
    stamp = page.get_by_text(re.compile(r"^Thread updated")).inner_text()
    page.wait_for_timeout(17_000)  # the thread fragment refreshes every 15 s meanwhile
    assert page.get_by_text(re.compile(r"^Thread updated")).inner_text() != stamp  # it did refresh
    expect(draft).to_have_value("Typing slowly, not applied yet")
    expect(draft).to_be_focused()
    assert page.locator('[data-testid="stException"]').count() == 0
    page.context.close()
