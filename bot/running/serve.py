"""`chatra-bridge serve`: read settings, configure logging, run the server; a start that cannot
go on says why in one line and exits 2."""

import asyncio
import logging
import sys

from bot.clients.slack_start import StartRefused
from bot.config import SettingsError, load_settings
from bot.running import server
from bot.running.logs import configure_logging
from storage.database import DatabaseError, is_url
from storage.opening import database_problem
from storage.sqlite import serve_alone


def serve() -> int:
    try:
        settings = load_settings()
    except SettingsError as error:
        print(error, file=sys.stderr)
        return 2
    configure_logging(settings)
    from bot.running.app import create_app  # after logging: start-up lines are redacted too

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
    except StartRefused as refused:
        print(f"Cannot start: {refused}", file=sys.stderr)
        return 2
    if alone is not None:
        alone.close()
    return 0
