"""`chatra-bridge serve`: read settings, configure logging, run the server."""

import argparse
import asyncio
import json
import logging
import sys
import time
from urllib.parse import quote, quote_plus

from bot import __version__, db_cli, report_cli, server
from bot.config import Settings, SettingsError, load_settings
from storage.database import DatabaseError, is_url
from storage.opening import database_problem
from storage.sqlite import serve_alone


class RedactingFormatter(logging.Formatter):
    """Replaces every configured secret in a log line, whether from our code or a library, also
    as JSON-escaped or percent-encoded; and writes a message's line breaks as \\n, so that nothing
    a stranger sends can forge a line of its own."""

    def __init__(self, fmt: str, secrets: list[str]) -> None:
        super().__init__(fmt)
        forms = set()
        for secret in (s for s in secrets if len(s) >= 4):
            forms |= {secret, json.dumps(secret)[1:-1], quote(secret, safe=""), quote_plus(secret)}
        self._forms = sorted(forms, key=len, reverse=True)  # the longest form first

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = one_line(record.message)
        return super().formatMessage(record)

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(super().format(record))

    def redact(self, line: str) -> str:
        for form in self._forms:
            line = line.replace(form, "[redacted]")
        return line


def one_line(text: str) -> str:
    return text.replace("\r", "\\r").replace("\n", "\\n")


class JsonFormatter(RedactingFormatter):
    """One JSON object per line, with the chat id and Slack ts of what the line is about;
    secrets are redacted before the line is escaped, and after."""

    CONTEXT = ("chat", "slack_ts", "user", "action")

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": self.redact(record.getMessage()),
            **{key: getattr(record, key) for key in self.CONTEXT if hasattr(record, key)},
        }
        if record.exc_info:
            line["error"] = self.redact(self.formatException(record.exc_info))
        return self.redact(json.dumps(line, ensure_ascii=False))


def configure_logging(settings: Settings) -> None:
    handler = logging.StreamHandler()
    formatter = JsonFormatter if settings.log_format == "json" else RedactingFormatter
    text = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    handler.setFormatter(formatter(text, settings.secrets()))
    logging.Formatter.converter = time.gmtime
    logging.captureWarnings(True)  # Python's warnings as log records: JSON too, when asked
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

    problem = database_problem(settings.database())
    if problem is not None:
        print(f"Cannot start: the database {settings.database_named()} {problem}", file=sys.stderr)
        return 2
    try:
        alone = None if is_url(settings.database()) else serve_alone(settings.database())
    except DatabaseError as error:
        print(f"Cannot start: {error}: one bridge per SQLite file", file=sys.stderr)
        return 2
    try:
        sock = server.bind(settings.host, settings.port)
    except server.CannotListen as cannot:
        print(f"Cannot start: {cannot}: {cannot.advice}", file=sys.stderr)
        return 2
    files = server.raise_open_file_limit()
    server.quiet_noisy_loggers()
    logging.getLogger(__name__).info("up to %d open files", files)
    app = create_app(settings)
    try:
        asyncio.run(server.serve(app, sock, per_address=settings.max_connections_per_address))
    except server.StartRefused as refused:
        print(f"Cannot start: {refused}", file=sys.stderr)
        return 2
    if alone is not None:
        alone.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="chatra-bridge", description="Run Chatra live chat from Slack."
    )
    parser.add_argument("--version", action="version", version=f"chatra-bridge {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="run the bridge (settings from the environment or .env)")
    commands.add_parser("demo", help="see it work: a scripted chat against local sandboxes")
    playing = commands.add_parser(
        "sandbox", help="the real server against local sandboxes: a page to try it in a browser"
    )
    playing.add_argument("--port", type=int, default=3000, help="where the bridge listens")
    playing.add_argument("--open", action="store_true", help="open the page in a browser")
    checking = commands.add_parser("check", help="is this setup ready? says what is wrong")
    checking.add_argument("--json", action="store_true", help="machine-readable findings")
    db_cli.add_parser(commands)
    report_cli.add_parser(commands)
    args = parser.parse_args(argv)
    if args.command == "db":
        return db_cli.run(args)
    if args.command == "report":
        return report_cli.run(args)
    if args.command == "serve":
        return serve()
    if args.command == "check":
        from bot.check import check, settings_refused

        try:
            settings = load_settings()
        except SettingsError as error:
            return settings_refused(error, args.json)
        return check(settings, args.json)
    if args.command == "sandbox":
        logging.basicConfig(level=logging.WARNING)
        from bot.sandbox_command import main as sandbox

        return sandbox(args.port, open_page=args.open)
    if args.command == "demo":
        from bot.demo import main as demo

        return demo()
    return 1
