"""The `chatra-bridge` command: serve it, check it, operate its database and reports, try it."""

import argparse
import logging

from bot import __version__
from bot.config import SettingsError, load_settings
from bot.operating import db, report


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
    db.add_parser(commands)
    report.add_parser(commands)
    args = parser.parse_args(argv)
    if args.command == "db":
        return db.run(args)
    if args.command == "report":
        return report.run(args)
    if args.command == "serve":
        from bot.running.serve import serve  # Slack's client and the server: for serve alone

        return serve()
    if args.command == "check":
        from bot.operating.check import check, settings_refused

        try:
            settings = load_settings()
        except SettingsError as error:
            return settings_refused(error, args.json)
        return check(settings, args.json)
    if args.command == "sandbox":
        logging.basicConfig(level=logging.WARNING)
        from bot.trying.sandbox import main as sandbox

        return sandbox(args.port, open_page=args.open)
    if args.command == "demo":
        from bot.trying.demo import main as demo

        return demo()
    return 1
