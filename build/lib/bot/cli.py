"""`chatra-bridge serve`: read settings, configure logging, run the server."""

import argparse
import asyncio
import contextlib
import json
import logging
import sqlite3
import sys
import time

from sqlite_utils import Database

from bot import __version__, server
from bot.config import DatabaseSettings, Settings, SettingsError, load_settings
from storage import Inbox, maintenance, open_database
from storage.database import write_problem
from storage.schema import SchemaTooNew


class RedactingFormatter(logging.Formatter):
    """Replaces every configured secret in a log line, whether from our code or a library."""

    def __init__(self, fmt: str, secrets: list[str]) -> None:
        super().__init__(fmt)
        self._secrets = [s for s in secrets if len(s) >= 4]

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(super().format(record))

    def redact(self, line: str) -> str:
        for secret in self._secrets:
            line = line.replace(secret, "[redacted]")
        return line


class JsonFormatter(RedactingFormatter):
    """One JSON object per line, with the chat id and Slack ts of what the line is about."""

    CONTEXT = ("chat", "slack_ts")

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **{key: getattr(record, key) for key in self.CONTEXT if hasattr(record, key)},
        }
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return self.redact(json.dumps(line, ensure_ascii=False))


def configure_logging(settings: Settings) -> None:
    handler = logging.StreamHandler()
    formatter = JsonFormatter if settings.log_format == "json" else RedactingFormatter
    text = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    handler.setFormatter(formatter(text, settings.secrets()))
    logging.Formatter.converter = time.gmtime
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


def serve() -> int:
    try:
        settings = load_settings()
    except SettingsError as error:
        print(error, file=sys.stderr)
        return 2
    configure_logging(settings)
    from bot.app import create_app  # after logging is set, so start-up lines are redacted too

    problem = database_problem(settings.database_path)
    if problem is not None:
        print(f"Cannot start: {problem}", file=sys.stderr)
        return 2
    try:
        sock = server.bind(settings.host, settings.port)
    except server.PortTaken as taken:
        print(f"Cannot start: {taken}: is another chatra-bridge running? Set PORT", file=sys.stderr)
        return 2
    files = server.raise_open_file_limit()
    server.quiet_noisy_loggers()
    logging.getLogger(__name__).info("up to %d open files", files)
    app = create_app(settings)
    asyncio.run(server.serve(app, sock, per_address=settings.max_connections_per_address))
    return 0


def database_problem(path: str) -> str | None:
    """Why the database cannot be used, in one sentence; None when it can."""
    try:
        open_database(path).close()
    except (sqlite3.Error, SchemaTooNew, OSError) as error:
        return f"the database {path} (DATABASE_PATH) cannot be opened: {error}"
    problem = write_problem(path)
    if problem is not None:
        return f"the database {path} (DATABASE_PATH) cannot be written: {problem}"
    return None


def database_care(args: argparse.Namespace) -> int:
    path = args.database or DatabaseSettings().database_path
    try:
        age = maintenance.parse_age(args.older_than) if args.action == "prune" else 0.0
        db = open_database(path, migrate=False)  # `db migrate` says what it changed
        with contextlib.closing(db.conn):
            print(_care(db, path, args, age))
    except (ValueError, SchemaTooNew, sqlite3.Error, OSError) as error:
        print(f"chatra-bridge db: {error}", file=sys.stderr)
        return 1
    return 0


def _care(db: Database, path: str, args: argparse.Namespace, age: float) -> str:
    if args.action == "migrate":
        before, after = maintenance.migrate(db)
        return f"{path}: " + (f"schema {before} -> {after}" if before != after else "up to date")
    if args.action == "stats":
        return json.dumps(maintenance.stats(db, path), indent=2)
    if args.action == "prune":
        deleted = maintenance.prune(db, age)
        if args.vacuum:
            db.conn.execute("VACUUM")
        return f"pruned older than {args.older_than}: {json.dumps(deleted)}"
    if args.action == "failed":
        return _failed_events(Inbox(db))
    if args.action == "retry":
        if not args.all and not args.ids:
            raise ValueError("name the events to retry (their ids) or give --all")
        count = Inbox(db).retry(None if args.all else args.ids)
        return (
            f"{count} failed event{'s' * (count != 1)} made pending again: the running bridge"
            " takes them up within 30 s, or at its next start"
        )
    size = maintenance.backup(db, args.destination)
    return f"{path} copied to {args.destination} ({size / 2**20:.1f} MB)"


def _failed_events(inbox: Inbox) -> str:
    failed = inbox.failed()
    if not failed:
        return "No failed events."
    lines = [
        f"{len(failed)} failed event{'s' * (len(failed) != 1)} (replay: db retry ID or --all):"
    ]
    for event in failed:
        when = time.strftime("%Y-%m-%d %H:%M", time.gmtime(event.received_at))
        lines.append(
            f"  {event.id}  {when}  {event.source}  chat {event.conversation}"
            f"  {event.attempts} tries  {event.error or 'no reason recorded'}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="chatra-bridge", description="Run Chatra live chat from Slack."
    )
    parser.add_argument("--version", action="version", version=f"chatra-bridge {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="run the bridge (settings from the environment or .env)")
    commands.add_parser("demo", help="see it work: a scripted chat against local sandboxes")
    checking = commands.add_parser("check", help="is this setup ready? says what is wrong")
    checking.add_argument("--json", action="store_true", help="machine-readable findings")
    database = commands.add_parser(
        "db", help="database care: migrate, stats, failed, retry, prune, backup"
    )
    database.add_argument("--database", help="the SQLite file (default: DATABASE_PATH)")
    care = database.add_subparsers(dest="action", required=True)
    care.add_parser("migrate", help="bring the schema up to date (serve does it too)")
    care.add_parser("stats", help="what is stored, as JSON")
    pruning = care.add_parser("prune", help="delete what is old and no longer needed")
    pruning.add_argument("--older-than", required=True, help="an age like 90d, 12h or 30m")
    pruning.add_argument("--vacuum", action="store_true", help="then give the space back")
    care.add_parser("failed", help="events that could not be carried out, and why")
    retrying = care.add_parser("retry", help="replay failed events (after an upgrade, say)")
    retrying.add_argument("ids", nargs="*", type=int, help="the ids `db failed` lists")
    retrying.add_argument("--all", action="store_true", help="every failed event")
    copying = care.add_parser("backup", help="an online copy, safe while the bridge runs")
    copying.add_argument("destination")
    args = parser.parse_args(argv)
    if args.command == "db":
        return database_care(args)
    if args.command == "serve":
        return serve()
    if args.command == "check":
        try:
            settings = load_settings()
        except SettingsError as error:
            print(error, file=sys.stderr)
            return 1
        from bot.check import check

        return check(settings, args.json)
    if args.command == "demo":
        from bot.demo import main as demo

        return demo()
    return 1
