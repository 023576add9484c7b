"""How long a normal query waits while a crowd holds connections: this tree against an earlier one.

For each server (this tree, and the tree of commit ``--old``, checked out with ``git worktree``
into a temporary folder and run with the same Python) and each crowd — none, 1000 idle
connections, 200 clients sending their headers a byte a second, 200 clients sending their body
a byte a second — after a warm-up it times ``--rounds`` normal queries (``ASK``, a fresh connection each), each
given up after ``--cap`` seconds, and prints the medians side by side with their ratio.

Everything runs on 127.0.0.1. The servers run with default settings except
``max_client_connections``, lifted so that the whole crowd may come from 127.0.0.1.

    python benchmarks/front_door_bench.py [--rounds 9] [--cap 10] [--old 6dcb4e5]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import resource
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from common import HOST, ROOT, Server, fmt, median, old_tree, start_tree, table

QUERY = "/sparql?query=ASK%7B%3Fs%20%3Fp%20%3Fo%7D"
SLOW_HEADER = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
SLOW_BODY = (
    b"POST /sparql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/sparql-query"
    b"\r\nContent-Length: 100000\r\n\r\nASK {"
)
CROWDS = [
    ("none", 0, None),
    ("1000 idle", 1000, b""),
    ("200 slow-header", 200, SLOW_HEADER),
    ("200 slow-body", 200, SLOW_BODY),
]
#: Queries run before timing starts (the first answers of a fresh server are slower).
WARM_UP = 20


def start(name: str, source: Path) -> Server:
    """Start the server of ``source``; the whole crowd comes from 127.0.0.1, so lift its cap."""
    return start_tree(name, source, AIGRAPH_MAX_CLIENT_CONNECTIONS="5000")


def timed_query(server: Server, cap: float) -> float | None:
    """Return the seconds one normal query took on a fresh connection, or None past ``cap``."""
    started = time.perf_counter()
    conn = http.client.HTTPConnection(HOST, server.port, timeout=cap)
    try:
        conn.request("GET", QUERY, headers={"Accept": "application/sparql-results+json"})
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            return None
    except OSError:
        return None
    finally:
        conn.close()
    elapsed = time.perf_counter() - started
    return elapsed if elapsed <= cap else None


@contextlib.contextmanager
def crowd(server: Server, count: int, prefix: bytes | None) -> Iterator[None]:
    """Hold ``count`` connections sending ``prefix`` and then a byte a second (none if empty)."""
    sockets: list[socket.socket] = []
    stop = threading.Event()
    dripper = None
    try:
        for _ in range(count):
            sock = socket.create_connection((HOST, server.port), timeout=5)
            sock.setblocking(False)
            sockets.append(sock)
            if prefix:
                with contextlib.suppress(OSError):
                    sock.send(prefix)
        if prefix:

            def drip() -> None:
                while not stop.wait(1.0):
                    for sock in sockets:
                        with contextlib.suppress(OSError):
                            sock.send(b"a")

            dripper = threading.Thread(target=drip, daemon=True)
            dripper.start()
        time.sleep(1.5 if count else 0)
        yield
    finally:
        stop.set()
        if dripper is not None:
            dripper.join(5)
        for sock in sockets:
            sock.close()


def measure(server: Server, rounds: int, cap: float) -> dict[str, tuple[float | None, int]]:
    """Return ``{crowd: (median seconds or None, queries answered)}``."""
    results = {}
    for _ in range(WARM_UP):
        timed_query(server, cap)
    for name, count, prefix in CROWDS:
        with crowd(server, count, prefix):
            times = [timed_query(server, cap) for _ in range(rounds)]
        answered = [t for t in times if t is not None]
        # The median counts queries given up as slower than every answer.
        late = len(times) - len(answered)
        ordered = sorted(answered) + [float("inf")] * late
        middle = median(ordered) if ordered else float("inf")
        results[name] = (None if middle == float("inf") else middle, len(answered))
        print(f"  {server.name:9} {name:16} answered {len(answered)}/{rounds}", flush=True)
        settle(server, cap)
    return results


def settle(server: Server, cap: float) -> None:
    """Wait (bounded) until the server answers again after a crowd has left."""
    deadline = time.monotonic() + 3 * cap
    while time.monotonic() < deadline and timed_query(server, cap) is None:
        time.sleep(0.5)


def cell(result: tuple[float | None, int], rounds: int, cap: float) -> str:
    seconds, answered = result
    shown = f"> {cap:g} s" if seconds is None else f"{seconds * 1000:.1f} ms"
    return f"{shown} ({answered}/{rounds})"


def ratio(old: tuple[float | None, int], new: tuple[float | None, int], cap: float) -> str:
    if new[0] is None:
        return "n/a"
    if old[0] is None:
        return f"> {cap / new[0]:.0f}×"
    return f"{old[0] / new[0]:.2f}×"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=9, help="queries timed per crowd")
    parser.add_argument(
        "--cap", type=float, default=10.0, help="seconds before a query is given up"
    )
    parser.add_argument("--old", default="6dcb4e5", help="the commit to compare against")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < 4096:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(4096, hard), hard))

    measured = {}
    with old_tree(args.old) as tree:
        for name, source in (("this tree", ROOT), (f"{args.old}", tree)):
            server = start(name, source)
            try:
                measured[name] = measure(server, args.rounds, args.cap)
            finally:
                server.stop()
    new, old = measured["this tree"], measured[args.old]
    rows = [
        [
            crowd_name,
            cell(new[crowd_name], args.rounds, args.cap),
            cell(old[crowd_name], args.rounds, args.cap),
            ratio(old[crowd_name], new[crowd_name], args.cap),
        ]
        for crowd_name, _, _ in CROWDS
    ]
    print()
    print(
        f"Median latency of a normal query (ASK, fresh connection; answered/asked; given up "
        f"after {fmt(args.cap, 0)} s)"
    )
    print(table(["crowd", "this tree", f"{args.old} (before)", "before ÷ now"], rows))


if __name__ == "__main__":
    main()
