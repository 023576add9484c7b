"""Soak a fresh `aigraph serve` with many concurrent clients sending cheap queries.

Starts `aigraph serve` on a free loopback port (bundled data, or ``--data FILE``), then runs
``--clients`` client processes, each on its own keep-alive connection, for ``--seconds``; each
sends one of the named queries or a lookup of a random resource. Reports requests, failures
(any non-200 answer or connection error; target 0), p50/p99 latency (target p99 < 1 s) and
throughput, then stops the server. Every loop is bounded by the deadline.

    python benchmarks/soak_endpoint.py                       # 16 clients, 20 s
    python benchmarks/soak_endpoint.py --clients 32 --seconds 60 --data /tmp/synth.trig
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    ROOT,
    SELECT_JSON,
    Client,
    fmt,
    percentile,
    start_aigraph,
    subjects_of,
    synth_file,
    table,
)


def lookup_iris(data: Path | None) -> list[str]:
    if data is not None:
        return subjects_of(data, 2000)
    return subjects_of(synth_file(1000), 200)  # IRIs not in the bundled data are cheap misses too


def workload(data: Path | None) -> list[str]:
    """Named queries, and lookups (5 per named query, so that most requests are lookups)."""
    named = [
        p.read_text(encoding="utf-8")
        for p in sorted((ROOT / "queries").glob("*.rq"))
        if p.stem != "provenance" or data is None
    ]
    lookups = [f"SELECT ?p ?o WHERE {{ <{iri}> ?p ?o }}" for iri in lookup_iris(data)]
    return named * 5 + lookups[: max(5 * len(named) * 5, 1)]


def client_loop(args: tuple[str, list[str], float, int]) -> tuple[list[float], int, list[str]]:
    endpoint, queries, seconds, seed = args
    rng, client = random.Random(seed), Client(endpoint, timeout=30)
    latencies: list[float] = []
    failures, errors = 0, []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.perf_counter()
        try:
            status, body = client.query(rng.choice(queries), SELECT_JSON)
        except OSError as exc:  # timeouts and refused connections count as failures
            status, body = -1, str(exc).encode()
            client.close()
            client = Client(endpoint, timeout=30)
        latencies.append(time.perf_counter() - started)
        if status != 200:
            failures += 1
            if len(errors) < 3:
                errors.append(f"{status}: {body[:200]!r}")
    client.close()
    return latencies, failures, errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--data", type=Path, help="serve this file instead of the bundled data")
    args = parser.parse_args()
    server = start_aigraph(args.data)
    try:
        queries = workload(args.data)
        with multiprocessing.get_context("fork").Pool(args.clients) as pool:
            started = time.perf_counter()
            results = pool.map(
                client_loop,
                [(server.endpoint, queries, args.seconds, i) for i in range(args.clients)],
            )
            elapsed = time.perf_counter() - started
        alive = server.process.poll() is None
    finally:
        server.stop()
    latencies = [x for lat, _, _ in results for x in lat]
    failures = sum(f for _, f, _ in results)
    p99 = percentile(latencies, 0.99)
    print(
        f"# soak: {args.clients} client processes x {args.seconds:.0f} s against aigraph serve "
        f"({args.data or 'bundled data'}); {len(queries)} queries in the mix"
    )
    print(
        table(
            ["requests", "failures", "p50 ms", "p99 ms", "max ms", "req/s", "server alive"],
            [
                [
                    str(len(latencies)),
                    str(failures),
                    fmt(percentile(latencies, 0.5) * 1000, 1),
                    fmt(p99 * 1000, 1),
                    fmt(max(latencies) * 1000, 1),
                    fmt(len(latencies) / elapsed, 1),
                    "yes" if alive else "NO",
                ]
            ],
        )
    )
    for error in {e for _, _, errs in results for e in errs}:
        print(f"failure: {error}")
    ok = failures == 0 and p99 < 1.0 and alive
    print(f"targets (0 failures, p99 < 1 s): {'met' if ok else 'MISSED'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
