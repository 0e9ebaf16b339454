"""The last days at a glance, for App Home: chats per day (bars) and the median first response
per day (dots joined by a line). A PNG served under PUBLIC_URL; without it, bars drawn in text."""

import io
from typing import Any

from bot.core.stats.summary import percentile
from bot.core.stats.texts import duration
from storage import ChatFigures

Day = tuple[str, list[ChatFigures]]  # a label ("04 Dec") and the chats opened that day
WIDTH, HEIGHT, MARGIN = 720, 260, 36
BAR, LINE, INK, PAPER = (74, 21, 75), (46, 182, 125), (60, 60, 60), (255, 255, 255)


def day_figures(days: list[Day]) -> list[tuple[str, int, float | None]]:
    """Each day: its label, its chats, its first-response p50 (seconds)."""
    return [
        (
            label,
            len(chats),
            percentile([c.first_response for c in chats if c.first_response is not None], 0.5),
        )
        for label, chats in days
    ]


def png(days: list[Day]) -> bytes:
    """Bars of chats per day (left scale), the first-response p50 as a line (right scale)."""
    from PIL import Image, ImageDraw  # imported when first drawn: the bridge starts faster

    figures = day_figures(days)
    image = Image.new("RGB", (WIDTH, HEIGHT), PAPER)
    draw = ImageDraw.Draw(image)
    most_chats = max((chats for _, chats, _ in figures), default=0) or 1
    slowest = max((p50 for _, _, p50 in figures if p50 is not None), default=0) or 1
    floor, top = HEIGHT - MARGIN, MARGIN
    step = (WIDTH - 2 * MARGIN) / max(len(figures), 1)
    points = []
    for n, (label, chats, p50) in enumerate(figures):
        left = MARGIN + n * step
        height = (floor - top) * chats / most_chats
        draw.rectangle([left + 4, floor - height, left + step - 4, floor], fill=BAR)
        draw.text((left + 4, floor + 6), label, fill=INK)
        if chats:
            draw.text((left + 6, floor - height - 12), str(chats), fill=INK)
        if p50 is not None:
            points.append((left + step / 2, floor - (floor - top) * p50 / slowest))
    if len(points) > 1:
        draw.line(points, fill=LINE, width=3)
    for x, y in points:
        draw.ellipse([x - 4, y - 4, x + 4, y + 4], fill=LINE)
    draw.text((MARGIN, 8), f"chats per day (bars, max {most_chats})", fill=BAR)
    draw.text((WIDTH // 2, 8), f"first response p50 (line, max {duration(slowest)})", fill=LINE)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def text_bars(days: list[Day]) -> str:
    """The same as lines of text: a bar of blocks per day, its count and its p50."""
    figures = day_figures(days)
    most = max((chats for _, chats, _ in figures), default=0) or 1
    lines = [
        f"`{label}` {'█' * round(12 * chats / most) or '·'} {chats}"
        + (f" · p50 {duration(p50)}" if p50 is not None else "")
        for label, chats, p50 in figures
    ]
    return "\n".join(lines)


def chart_blocks(days: list[Day], image_url: str | None) -> list[dict[str, Any]]:
    """App Home's blocks for the chart: the image when it has an address, else text bars."""
    title = f"*The last {len(days)} days*: chats per day and first-response p50"
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": title}}]
    if image_url:
        summary = ", ".join(f"{label}: {chats}" for label, chats, _ in day_figures(days))
        blocks.append(
            {
                "type": "image",
                "image_url": image_url,
                "alt_text": f"chats per day: {summary}"[:2000],
            }
        )
    else:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text_bars(days)}})
    return blocks
