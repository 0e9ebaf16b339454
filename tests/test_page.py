"""The sandbox's page in a real browser (the system's Chromium, driven by Playwright): a whole
chat walked through only by what a person sees and clicks, and every button the bridge sends
doing something. Skipped where no Chromium is found, except in CI (REQUIRE_BROWSER=1); a failing
test leaves a screenshot in test-output/."""

import os
import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import ClassVar

import pytest

from tests.helpers import clean_env, running_sandbox

playwright = pytest.importorskip("playwright.async_api")
SHOTS = Path(__file__).resolve().parent.parent / "test-output"
QUICK = 5_000  # ms: what a person waits for, at most (an effect is due within 0.5 s)


def chromium() -> str | None:
    """The system's Chromium (Playwright's own download cannot work here)."""
    named = os.environ.get("CHROMIUM")
    found = [named] if named else []
    found += [shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")]
    return next((path for path in found if path and Path(path).exists()), None)


@pytest.fixture
async def page(request, tmp_path) -> AsyncIterator:
    browser_path = chromium()
    if browser_path is None:
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail("a browser is required (REQUIRE_BROWSER) and no Chromium is installed")
        pytest.skip("no Chromium here: apt-get install chromium")
    async with (
        running_sandbox(tmp_path, clean_env()) as (port, _),
        playwright.async_playwright() as driver,
    ):
        browser = await driver.chromium.launch(executable_path=browser_path)
        opened = await browser.new_page(viewport={"width": 1500, "height": 1000})
        with Timer("the page usable, after the sandbox said it is ready"):
            await opened.goto(f"http://127.0.0.1:{port + 1}/")
            await (
                opened.get_by_label("Acting as")
                .get_by_role("option", name="Sam")
                .wait_for(state="attached")
            )
        try:
            yield opened
        finally:
            if getattr(request.node, "rep_call", None) and request.node.rep_call.failed:
                SHOTS.mkdir(exist_ok=True)
                await opened.screenshot(path=SHOTS / f"{request.node.name}.png", full_page=True)
            await browser.close()


class Timer:
    """How long each act took to show on the page: reported, never asserted."""

    took: ClassVar[dict[str, float]] = {}

    def __init__(self, what: str) -> None:
        self.what = what

    def __enter__(self) -> "Timer":
        self.began = time.perf_counter()
        return self

    def __exit__(self, *_: object) -> None:
        self.took[self.what] = round((time.perf_counter() - self.began) * 1000)


async def test_a_whole_chat_through_the_page_as_a_person_sees_it(page):
    expect = playwright.expect
    website = page.get_by_role("region", name="The website")
    await page.get_by_label("Message as visitor").fill("Hello? My order #1042 is late")
    with Timer("visitor writes -> card in Slack"):
        await page.get_by_role("button", name="Send as visitor").click()
        card = page.get_by_role("article", name="Jane")
        await expect(card).to_contain_text("Hello? My order #1042 is late", timeout=QUICK)

    with Timer("I'll take it -> card taken"):
        await card.get_by_role("button", name="I'll take it").click()
        await expect(card).to_contain_text("Taken by @Sam", timeout=QUICK)

    await card.get_by_label("Reply in thread").fill("Hi Jane, checking now")
    with Timer("reply -> the visitor sees it"):
        await card.get_by_role("button", name="Send reply").click()
        await expect(website).to_contain_text("Hi Jane, checking now", timeout=QUICK)
    await expect(page.get_by_role("region", name="Membrane")).to_contain_text("send-agent-message")

    sams = card.get_by_role("group", name="Reply by Sam")
    await sams.get_by_role("button", name="Edit").click()
    await card.get_by_label("Edit reply").fill("Hi Jane, checking order #1042 now")
    with Timer("edit -> the visitor's copy changes"):
        await card.get_by_role("button", name="Save edit").click()
        await expect(website).to_contain_text("checking order #1042 now", timeout=QUICK)
    await expect(website).not_to_contain_text("Hi Jane, checking now")

    with Timer("delete -> gone on both sides"):
        await sams.get_by_role("button", name="Delete").click()
        await page.get_by_role("alertdialog").get_by_role("button", name="Delete").click()
        await expect(website).not_to_contain_text("checking order", timeout=QUICK)
        await expect(card).not_to_contain_text("checking order", timeout=QUICK)

    with Timer("Done -> card done"):
        await card.get_by_role("button", name="Done", exact=True).click()
        await expect(card.get_by_role("button", name="Reopen")).to_be_visible(timeout=QUICK)
    await page.get_by_label("Message as visitor").fill("Still there?")
    with Timer("the visitor writes again -> reopened"):
        await page.get_by_role("button", name="Send as visitor").click()
        await expect(card).to_contain_text("Reopened: the visitor wrote again", timeout=QUICK)
    await expect(card.get_by_role("button", name="Done", exact=True)).to_be_visible()

    await card.get_by_label("Reply in thread").fill("@Kim can you take this?")
    await card.get_by_role("button", name="Send reply").click()
    question = card.get_by_role("note", name="Only visible to you")
    await expect(question).to_contain_text("This mentions @Kim", timeout=QUICK)
    await page.get_by_label("Acting as").select_option(label="Kim")
    await expect(card.get_by_role("note", name="Only visible to you")).to_have_count(0)
    await page.get_by_label("Acting as").select_option(label="Sam")
    await question.get_by_role("button", name="Keep as a note").click()
    await expect(card).to_contain_text("@Kim can you take this?")
    await expect(website).not_to_contain_text("can you take this")
    print("\nshown on the page after the act (ms):", Timer.took)


async def test_every_button_the_bridge_sends_does_something_in_the_page(page):
    expect = playwright.expect
    await page.get_by_label("Message as visitor").fill("Hi, a question about pricing")
    await page.get_by_role("button", name="Send as visitor").click()
    card = page.get_by_role("article", name="Jane")
    await expect(card).to_be_visible(timeout=QUICK)
    tried: list[str] = []
    while True:
        labels = await card.locator(".actions .block-button").all_inner_texts()
        left = [label for label in labels if label not in tried]
        if not left:
            break
        label = left[0]
        tried.append(label)
        before = await quiet(page)  # the last click's effects all shown
        await card.get_by_role("button", name=label, exact=True).click()
        dialog = page.get_by_role("dialog")
        await something_shows(page, before)
        if await dialog.count():
            await fill_and_submit(dialog)
            await expect(dialog).to_have_count(0, timeout=QUICK)
    assert {"I'll take it", "Done", "Reopen", "Visitor details", "Edit visitor"} <= set(tried)
    assert {"Send pushed message", "Discuss internally"} <= set(tried)


async def quiet(page) -> str:
    """What the page shows once it stops changing (for half a second)."""
    shown, deadline = "", time.monotonic() + QUICK / 1000
    while time.monotonic() < deadline:
        now = await page.locator("body").inner_text()
        if now == shown:
            return await page.locator("main").inner_text()
        shown = now
        await page.wait_for_timeout(500)
    raise AssertionError("the page never stopped changing")


async def something_shows(page, before: str) -> None:
    """A modal opens, or what the page shows changes."""
    deadline = time.monotonic() + QUICK / 1000
    while time.monotonic() < deadline:
        if await page.get_by_role("dialog").count():
            return
        if await page.locator("main").inner_text() != before:
            return
        await page.wait_for_timeout(100)
    raise AssertionError("the click showed nothing")


async def fill_and_submit(dialog) -> None:
    """A modal as a person answers it: each empty box filled, then its submit pressed (or
    closed, when it asks nothing)."""
    for field in await dialog.locator("label.input").all():
        box = field.locator("textarea, input")
        if not await box.input_value():
            email = "Email" in await field.inner_text()
            await box.fill("jane@example.org" if email else "Your order has shipped")
    submit = dialog.locator("button[type=submit]")
    if await submit.count():
        await submit.click()
    else:
        await dialog.locator("button[data-cancel]").click()
