"""Serving the app: the port bound before "ready" is said, and the server guarded against what
would exhaust it (idle or slow connections, one address holding too many, log floods)."""

import asyncio
import contextlib
import errno
import logging
import resource
import signal
import socket
import time
from collections import Counter
from typing import Any

from aiohttp import web

log = logging.getLogger("bot.running.server")
IDLE_TIMEOUT = 15.0  # seconds a connection may take to send its headers, or sit idle between
QUIET_INTERVAL = 10.0  # seconds: a repeated error is logged once per interval, with a count


class CannotListen(Exception):
    """The address to listen on is in use, not this machine's, or not ours to take."""

    def __init__(self, host: str, port: int, error: OSError) -> None:
        super().__init__(f"cannot listen on {host}:{port}: {error.strerror}")
        if error.errno == errno.EADDRINUSE:
            self.advice = "is another chatra-bridge running? Set PORT"
        elif error.errno == errno.EACCES:
            self.advice = "a port under 1024 needs privileges: set PORT"
        else:  # not an address of this machine, or no address at all
            self.advice = "set HOST to an address of this machine (0.0.0.0: all of them)"


def raise_open_file_limit() -> int:
    """Allow as many open files as the system lets us: every connection is one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, or CannotListen in one sentence."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(1024)
    except OSError as error:
        sock.close()
        raise CannotListen(host, port, error) from None
    sock.setblocking(False)
    return sock


class ConnectionGuard:
    """Hands each connection to aiohttp unless its address already holds `per_address` of them
    (0: no cap). The first refusal is logged at once, the rest counted and told once per
    interval."""

    def __init__(self, make_protocol: Any, per_address: int) -> None:
        self._make_protocol = make_protocol
        self._per_address = per_address
        self.open: Counter[str] = Counter()
        self._refused: Counter[str] | None = None  # counting since the first refusal told

    def protocol(self) -> asyncio.Protocol:
        return _Guarded(self._make_protocol(), self)

    def admit(self, address: str) -> bool:
        if not self._per_address or self.open[address] < self._per_address:
            self.open[address] += 1
            return True
        if self._refused is None:
            log.warning("refused a connection from %s: over %d at once", address, self._per_address)
            self._refused = Counter()
            asyncio.get_running_loop().call_later(QUIET_INTERVAL, self._tell)
        else:
            self._refused[address] += 1
        return False

    def leave(self, address: str) -> None:
        self.open[address] -= 1
        if self.open[address] <= 0:
            del self.open[address]

    def _tell(self) -> None:
        refused, self._refused = self._refused or Counter(), None
        for address, count in refused.most_common(5):
            log.warning(
                "refused %d more connections from %s in the last %gs",
                count,
                address,
                QUIET_INTERVAL,
            )


class _Guarded(asyncio.Protocol):
    """aiohttp's protocol for one connection, behind the guard."""

    def __init__(self, inner: asyncio.Protocol, guard: ConnectionGuard) -> None:
        self._inner, self._guard = inner, guard
        self._address: str | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        peer = transport.get_extra_info("peername")
        address = str(peer[0]) if peer else "unknown"
        if not self._guard.admit(address):
            transport.abort()
            return
        self._address = address
        self._inner.connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._address is not None:
            self._guard.leave(self._address)
            self._inner.connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received()

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()


class Quieter(logging.Filter):
    """Lets the first record of each kind through per interval; the next one let through says how
    many like it were left out. For loggers a stranger can make speak (aiohttp, asyncio)."""

    def __init__(self, interval: float = QUIET_INTERVAL) -> None:
        super().__init__()
        self._interval = interval
        self._last: dict[tuple[str, str], float] = {}
        self._left_out: Counter[tuple[str, str]] = Counter()

    def filter(self, record: logging.LogRecord) -> bool:
        kind = (record.name, str(record.msg))
        now = time.monotonic()
        if now - self._last.get(kind, -self._interval) < self._interval:
            self._left_out[kind] += 1
            return False
        self._last[kind] = now
        left_out = self._left_out.pop(kind, 0)
        if left_out:
            record.msg = f"{record.msg} ({left_out} more like this left out of the log)"
        return True


def quiet_noisy_loggers() -> None:
    quieter = Quieter()
    strangers = ("handlers.slack_http", "handlers.chatra_webhook")  # whoever knocks, once per 10 s
    for name in ("asyncio", "aiohttp.server", "aiohttp.web", "aiohttp.access", *strangers):
        logging.getLogger(name).addFilter(quieter)
    # Their retries are ours to tell, once per outage: slack_sdk logs each one (every second
    # while Slack is down), the pool of PostgreSQL connections each reconnection.
    logging.getLogger("slack_sdk").setLevel(logging.WARNING)
    logging.getLogger("psycopg.pool").setLevel(logging.ERROR)


def _quiet_loop_errors(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """asyncio's own errors (an accept that fails for want of file descriptors, say), one line
    each, by kind, so that the Quieter can count them instead of the log filling up."""
    error = context.get("exception")
    kind = type(error).__name__ if error is not None else "no exception"
    logging.getLogger("asyncio").error(f"{context.get('message', 'asyncio error')}: {kind}")


async def serve(
    app: web.Application,
    sock: socket.socket,
    *,
    per_address: int,
    stop: asyncio.Event | None = None,
) -> None:
    """Run `app` on the bound `sock` until SIGTERM or SIGINT (or `stop` is set)."""
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(_quiet_loop_errors)
    if stop is None:  # from the first moment: a stop while starting is a clean stop too
        stop = asyncio.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
    runner = web.AppRunner(
        app, access_log=None, keepalive_timeout=IDLE_TIMEOUT, handle_signals=False
    )
    setup, stopped = asyncio.ensure_future(runner.setup()), asyncio.ensure_future(stop.wait())
    await asyncio.wait([setup, stopped], return_when=asyncio.FIRST_COMPLETED)
    if not setup.done():
        setup.cancel()
        log.info("stopping before it was ready")
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await setup
        await runner.cleanup()
        log.info("stopped")
        return
    stopped.cancel()
    setup.result()  # StartRefused and the like: to the caller
    guard = ConnectionGuard(runner.server, per_address)
    server = await loop.create_server(guard.protocol, sock=sock)
    host, port = sock.getsockname()[:2]
    log.info("ready on http://%s:%d", host, port)
    try:
        await stop.wait()
        log.info("stopping: finishing what is under way")
    finally:
        server.close()
        await runner.cleanup()
        log.info("stopped")
