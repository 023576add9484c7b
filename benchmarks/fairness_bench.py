"""One client's load against everyone else: this tree against an earlier one.

Two scenarios, each on a fresh server, for this tree and for the tree of commit ``--old``
(checked out with ``git worktree`` into a temporary folder, run with the same Python):

- **slow queries**: 8 CPU-bound queries at once from 127.0.0.2 (time limit 6 s); while they
  run, ``ASK {}`` and ``/healthz`` from 127.0.0.9 in turn, each timed and given up after
  ``--cap`` seconds. Prints the slowest and median probe and what the 8 slow queries got.
- **huge answers**: four answers at once from four addresses, with ``max_result_bytes`` at
  120 MB: two of 103 MB (JSON), one of 410 MB of text and one of 26 MB of control characters
  that escape to 154 MB of JSON. Prints the server process's RSS (not its workers') at start
  and at its peak, what each download got, and ``ASK {}`` latencies meanwhile (127.0.0.9).

Everything runs on loopback addresses (127.0.0.x).

    python benchmarks/fairness_bench.py [--cap 10] [--old 6370a12]
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import threading
import time
from collections import Counter
from pathlib import Path

import psutil
from common import HOST, ROOT, Server, old_tree, start_tree, table

SLOW = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
MB = 1_000_000


def wide_query(rows_pow10: int, doublings: int, seed: str = "0123456789") -> str:
    """Return a short query whose answer is 10**rows_pow10 rows of len(seed) * 2**doublings."""
    values = " ".join(str(i) for i in range(10))
    rows = "".join(f"VALUES ?v{k} {{ {values} }} " for k in range(rows_pow10))
    binds = "".join(f"BIND(CONCAT(?a{i}, ?a{i}) AS ?a{i + 1}) " for i in range(doublings))
    return f'SELECT ?a{doublings} WHERE {{ {rows}BIND("{seed}" AS ?a0) {binds}}}'


HUGE = [
    ("127.0.0.2", wide_query(4, 10)),
    ("127.0.0.3", wide_query(4, 10)),
    ("127.0.0.4", wide_query(4, 12)),
    ("127.0.0.5", wide_query(4, 8, "\\u0001" * 10)),
]


def call(
    server: Server, source: str, path: str, query: str | None, cap: float, keep: bool = False
) -> tuple[int, str, int, float]:
    """Return (status, error kind, body bytes, seconds) of one request; status 0 past ``cap``."""
    started = time.perf_counter()
    conn = http.client.HTTPConnection(HOST, server.port, timeout=cap, source_address=(source, 0))
    try:
        if query is None:
            conn.request("GET", path)
        else:
            conn.request(
                "POST",
                path,
                query.encode(),
                {
                    "Content-Type": "application/sparql-query",
                    "Accept": "application/sparql-results+json",
                },
            )
        response = conn.getresponse()
        size, error = 0, ""
        while piece := response.read(1 << 20):
            size += len(piece)
            if response.status != 200:
                error = json.loads(piece).get("error", "")
        return response.status, error, size, time.perf_counter() - started
    except OSError:
        return 0, "no answer", 0, time.perf_counter() - started
    finally:
        conn.close()


def in_background(jobs: list[tuple]) -> tuple[list[threading.Thread], list]:
    results: list = []
    threads = [threading.Thread(target=lambda job=job: results.append(call(*job))) for job in jobs]
    for thread in threads:
        thread.start()
    return threads, results


def latency(results: list) -> str:
    """Return the slowest and the median of probes (status, error, size, seconds) as text."""
    if not results:
        return "n/a"
    times = [seconds if status == 200 else float("inf") for status, _, _, seconds in results]
    answered = sum(t != float("inf") for t in times)

    def shown(seconds: float) -> str:
        return "no 200" if seconds == float("inf") else f"{seconds * 1000:.0f} ms"

    return (
        f"slowest {shown(max(times))}, median {shown(statistics.median(times))} "
        f"({answered}/{len(times)} answered 200)"
    )


def outcome(results: list) -> str:
    counts = Counter(
        f"{status} {error}".strip() if status else "no answer" for status, error, _, _ in results
    )
    return ", ".join(f"{n}× {what}" for what, n in sorted(counts.items()))


def slow_queries(name: str, source: Path, cap: float) -> dict[str, str]:
    server = start_tree(name, source, "--timeout", "6")
    try:
        threads, results = in_background([(server, "127.0.0.2", "/sparql", SLOW, 60)] * 8)
        time.sleep(0.5)
        probes: dict[str, list] = {"/sparql": [], "/healthz": []}

        def probe(path: str, query: str | None) -> None:
            while any(thread.is_alive() for thread in threads):  # while the slow ones run
                probes[path].append(call(server, "127.0.0.9", path, query, cap))
                time.sleep(0.1)

        probers = [
            threading.Thread(target=probe, args=("/sparql", "ASK {}")),
            threading.Thread(target=probe, args=("/healthz", None)),
        ]
        for thread in probers:
            thread.start()
        for thread in [*threads, *probers]:
            thread.join()
        return {
            "ASK {} from another address": latency(probes["/sparql"]),
            "/healthz": latency(probes["/healthz"]),
            "the 8 slow queries got": outcome(results),
        }
    finally:
        server.stop()


def huge_answers(name: str, source: Path, cap: float) -> dict[str, str]:
    server = start_tree(
        name,
        source,
        "--timeout",
        "90",
        AIGRAPH_MAX_RESULT_BYTES=str(120 * MB),
        AIGRAPH_EXECUTORS="6",
    )
    try:
        process = psutil.Process(server.process.pid)
        baseline = peak = process.memory_info().rss
        threads, results = in_background(
            [(server, address, "/sparql", query, 300) for address, query in HUGE]
        )
        asks = []
        while any(thread.is_alive() for thread in threads):
            peak = max(peak, process.memory_info().rss)
            asks.append(call(server, "127.0.0.9", "/sparql", "ASK {}", cap))
            peak = max(peak, process.memory_info().rss)
        sent = sorted(size // MB for status, _, size, _ in results if status == 200)
        return {
            "server RSS at start": f"{baseline / MB:.0f} MB",
            "server RSS at peak": f"{peak / MB:.0f} MB",
            "server RSS growth": f"{(peak - baseline) / MB:.0f} MB",
            "the 4 downloads got": outcome(results) + f" (sent: {sent} MB)",
            "ASK {} meanwhile": latency(asks),
        }
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--cap", type=float, default=10.0, help="seconds before a probe is given up"
    )
    parser.add_argument("--old", default="6370a12", help="the commit to compare against")
    args = parser.parse_args()
    rows = []
    with old_tree(args.old) as tree:
        for scenario in (slow_queries, huge_answers):
            now = scenario("this tree", ROOT, args.cap)
            before = scenario(args.old, tree, args.cap)
            rows += [
                [scenario.__name__.replace("_", " "), key, now[key], before[key]] for key in now
            ]
    print()
    print(table(["scenario", "measure", "this tree", f"{args.old} (before)"], rows))


if __name__ == "__main__":
    main()
