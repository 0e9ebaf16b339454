"""A database across a network, on one machine: a TCP proxy on 127.0.0.1 that holds every chunk
of bytes `one_way` seconds in each direction before passing it on, in order.

Loopback answers in tens of microseconds; a managed database in the same zone is about a
millisecond away, and every statement pays that. asyncio's timers round up to a millisecond, so
the proxy uses threads and `time.sleep`, which hold sub-millisecond delays.

    with DelayProxy("127.0.0.1", 5432, one_way=0.0004) as port:   # ~0.8 ms round trip
        ...connect to 127.0.0.1:port...
"""

import contextlib
import queue
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from types import TracebackType

CHUNK = 64 * 1024


class DelayProxy:
    def __init__(self, host: str, port: int, *, one_way: float) -> None:
        self._target = (host, port)
        self._one_way = one_way
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._open: list[socket.socket] = []
        self._stopping = threading.Event()

    def __enter__(self) -> int:
        threading.Thread(target=self._accept, name="delay-proxy", daemon=True).start()
        return self.port

    def __exit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        self._stopping.set()
        self._listener.close()
        for conn in self._open:
            with contextlib.suppress(OSError):
                conn.close()

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self._target)
            for conn in (client, server):
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._open += [client, server]
            self._pipe(client, server)
            self._pipe(server, client)

    def _pipe(self, source: socket.socket, target: socket.socket) -> None:
        """One direction: a reader stamps each chunk, a writer sends it `one_way` later."""
        held: queue.SimpleQueue[tuple[float, bytes]] = queue.SimpleQueue()

        def read() -> None:
            while True:
                try:
                    data = source.recv(CHUNK)
                except OSError:
                    data = b""
                held.put((time.perf_counter() + self._one_way, data))
                if not data:
                    return

        def write() -> None:
            while True:
                due, data = held.get()
                pause = due - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
                if not data:
                    with contextlib.suppress(OSError):
                        target.shutdown(socket.SHUT_WR)
                    return
                try:
                    target.sendall(data)
                except OSError:
                    return

        threading.Thread(target=read, daemon=True).start()
        threading.Thread(target=write, daemon=True).start()


def round_trip(one_way: float, samples: int = 200) -> float:
    """The median round trip, in seconds, through a proxy holding `one_way`: what a statement
    pays on top of the database's own time (sleeps overshoot a little)."""
    echo = socket.create_server(("127.0.0.1", 0))

    def answer() -> None:
        conn, _ = echo.accept()
        with conn:
            while data := conn.recv(CHUNK):
                conn.sendall(data)

    threading.Thread(target=answer, daemon=True).start()
    times = []
    proxy = DelayProxy("127.0.0.1", echo.getsockname()[1], one_way=one_way)
    with proxy as port, socket.create_connection(("127.0.0.1", port)) as conn:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for _ in range(samples):
            began = time.perf_counter()
            conn.sendall(b"x")
            conn.recv(1)
            times.append(time.perf_counter() - began)
    echo.close()
    return sorted(times)[len(times) // 2]


@contextlib.contextmanager
def proxy_process(host: str, port: int, *, one_way: float) -> Iterator[int]:
    """The proxy in a process of its own (its threads must not share the bench's interpreter
    lock): the port to connect to."""
    child = subprocess.Popen(
        [sys.executable, "-m", "bench.distance", host, str(port), str(one_way)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        yield int(child.stdout.readline())
    finally:
        child.terminate()
        child.wait(10)


def main() -> None:
    host, port, one_way = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    with DelayProxy(host, port, one_way=one_way) as listening:
        print(listening, flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
