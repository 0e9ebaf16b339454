"""`chatra-bridge report --since 30d [--csv]`: each chat's figures, for a spreadsheet."""

import argparse
import csv
import io
import os
import sys
import time
import unicodedata
from datetime import UTC, datetime
from pathlib import Path

from dotenv import dotenv_values

from bot.core.rules.schedule import BusinessHours
from bot.core.stats.summary import in_business_hours
from bot.operating.db import DATABASE_HELP, existing_database
from storage import ChatFigures, DatabaseError, Store, maintenance, open_database
from storage.schema import SchemaTooNew

COLUMNS = [
    "opened (UTC)",
    "channel",
    "thread_ts",
    "queue",
    "client_id",
    "first_response_s",
    "first_response_business_s",
    "first_responder",
    "longest_wait_s",
    "visitor_messages",
    "agent_messages",
    "ended",
    "ended (UTC)",
    "to_end_s",
    "rating",
]


def add_parser(commands: argparse._SubParsersAction) -> None:
    reporting = commands.add_parser("report", help="each chat's figures: first response, waits")
    reporting.add_argument("--since", default="30d", help="an age like 30d, 7d or 12h")
    reporting.add_argument("--csv", action="store_true", help="comma-separated, for a spreadsheet")
    reporting.add_argument("--database", help=DATABASE_HELP)


def run(args: argparse.Namespace) -> int:
    try:
        where = existing_database(args.database)
        since, hours = time.time() - maintenance.parse_age(args.since), business_hours()
        db = open_database(where, migrate=False, create=False)
        try:
            chats = Store.over(db).figures.opened_between.now(since, time.time() + 1)
        finally:
            db.close()
    except (ValueError, SchemaTooNew, DatabaseError, OSError) as error:
        print(f"chatra-bridge report: {error}", file=sys.stderr)
        return 1
    rows = [[as_text(cell) for cell in row(chat, hours)] for chat in chats]
    print(as_csv(rows) if args.csv else as_table(rows), end="")
    return 0


def business_hours() -> BusinessHours | None:
    """BUSINESS_HOURS as the bridge reads it: from the environment, else `.env`."""
    from_file = dotenv_values(".env") if Path(".env").exists() else {}
    settings = {**from_file, **os.environ}
    spec = settings.get("BUSINESS_HOURS")
    return BusinessHours.parse(spec, settings.get("BUSINESS_TIMEZONE") or "UTC") if spec else None


def row(chat: ChatFigures, hours: BusinessHours | None) -> list[str]:
    business = in_business_hours(chat, hours) if hours else None
    return [
        _when(chat.opened_at),
        chat.channel,
        chat.thread_ts,
        chat.queue or "",
        chat.client_id,
        _seconds(chat.first_response),
        _seconds(business),
        chat.first_responder or "",
        _seconds(chat.longest_wait),
        str(chat.visitor_messages),
        str(chat.agent_messages),
        chat.ended_how or "",
        _when(chat.ended_at),
        _seconds(chat.to_end),
        chat.rating or "",
    ]


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet reads as a formula


def as_text(cell: str) -> str:
    """A cell as inert text, whatever set it (a visitor controls their client id): one a
    spreadsheet would take for a formula starts with `'`, and control characters (a terminal's
    escapes among them) are dropped."""
    printable = "".join(ch for ch in cell if unicodedata.category(ch) != "Cc")
    return "'" + printable if cell.startswith(FORMULA_STARTS) else printable


def as_csv(rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    return out.getvalue()


def as_table(rows: list[list[str]]) -> str:
    if not rows:
        return "No chats in this period.\n"
    table = [COLUMNS, *rows]
    widths = [max(len(line[n]) for line in table) for n in range(len(COLUMNS))]
    lines = ["  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)) for line in table]
    return "".join(line.rstrip() + "\n" for line in lines)


def _when(moment: float | None) -> str:
    if moment is None:
        return ""
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.0f}"
