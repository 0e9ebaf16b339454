"""The README's and the docs' pictures, taken from the real sandbox page in the system's Chromium:
a chat in progress, the card, its thread, App Home and /chatra stats.

    python docs/make_pictures.py        (needs the dev extras and `apt-get install chromium`;
                                         fonts-noto-color-emoji draws the emoji)
"""

import asyncio
import os
import shutil
import socket
import sys
from pathlib import Path

from playwright.async_api import async_playwright, expect

HERE = Path(__file__).resolve().parent
PICTURES = HERE / "pictures"
PORT = 3400


async def main() -> None:
    if not all(_free(port) for port in (PORT, PORT + 1, PORT + 2)):
        sys.exit(f"ports {PORT}-{PORT + 2} are taken")
    browser_path = os.environ.get("CHROMIUM") or shutil.which("chromium")
    if browser_path is None:
        sys.exit("no Chromium: apt-get install chromium")
    sandbox = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "sandbox", "--port", str(PORT),
        cwd=HERE.parent, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert sandbox.stdout is not None
    while not (await sandbox.stdout.readline()).startswith(b"Ctrl-C"):
        pass
    PICTURES.mkdir(exist_ok=True)
    try:
        async with async_playwright() as driver:
            browser = await driver.chromium.launch(executable_path=browser_path)
            page = await browser.new_page(viewport={"width": 1440, "height": 900})
            await page.goto(f"http://127.0.0.1:{PORT + 1}/")
            await a_chat(page)
            await browser.close()
    finally:
        sandbox.send_signal(2)
        await sandbox.wait()


async def a_chat(page) -> None:
    """Jane asks, Sam takes the chat and answers, Kim is asked about; pictures on the way."""
    await page.get_by_label("Message as visitor").fill("Hi! My order #1042 hasn't arrived yet.")
    await page.get_by_role("button", name="Send as visitor").click()
    card = page.get_by_role("article", name="Jane")
    await expect(card).to_be_visible()
    await page.get_by_label("Slash command").fill(
        "saved add shipped Hi {visitor}, it left today 🚚"
    )
    await page.get_by_role("button", name="Run").click()
    await card.get_by_role("button", name="I'll take it").click()
    await expect(card).to_contain_text("Taken by @Sam")
    await card.get_by_label("Reply in thread").fill("Hi Jane, I'm checking order *#1042* now.")
    await card.get_by_role("button", name="Send reply").click()
    await page.get_by_label("Message as visitor").fill("Thanks! It was due on Monday.")
    await page.get_by_role("button", name="Send as visitor").click()
    await card.get_by_label("Reply in thread").fill(";shipped")
    await card.get_by_role("button", name="Send reply").click()
    await expect(page.get_by_role("region", name="The website")).to_contain_text("it left today")
    await card.get_by_label("Reply in thread").fill("@Kim can you refund the shipping?")
    await card.get_by_role("button", name="Send reply").click()
    await expect(card.get_by_role("note", name="Only visible to you")).to_be_visible()
    await page.wait_for_timeout(500)
    await page.screenshot(path=PICTURES / "sandbox.png")
    await card.screenshot(path=PICTURES / "card.png")
    await page.get_by_label("Slash command").fill("stats today")
    await page.get_by_role("button", name="Run").click()
    told = page.locator("#told .ephemeral").last
    await expect(told).to_contain_text("Chats")
    await told.screenshot(path=PICTURES / "stats.png")
    await page.get_by_role("tab", name="App Home").click()
    await expect(page.locator("#home-view")).to_contain_text("Open chats")
    await page.wait_for_timeout(500)
    await page.locator(".pane.slack").screenshot(path=PICTURES / "app-home.png")


def _free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


if __name__ == "__main__":
    asyncio.run(main())
