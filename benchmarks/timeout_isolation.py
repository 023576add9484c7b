"""Measure how a query that meets the time limit affects everyone else, per engine.

    .venv/bin/python benchmarks/timeout_isolation.py [--timeout 2] [--rounds 3]

Over HTTP: starts ``aigraph serve --timeout T`` (2 query workers) on a free loopback port,
sends a cartesian product that never ends in time, and meanwhile sends a cheap ``ASK`` every
0.1 s. Prints, per engine: seconds until the expensive query got its 503, the cheap queries'
latencies while it ran (median and worst), and the CPU use of the query workers right after
(the killed worker must not keep burning CPU). In process: the same with an ``IsolatedEngine``
pool and a 1 s limit. The pass/fail tests check the behaviour (503, cheap answers 200 while the
expensive query runs, the worker replaced); the timings live here.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

import psutil
from rdflib import Dataset, Literal, URIRef

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import SELECT_JSON, Client, fmt, median, start_aigraph, table

EXPLOSIVE = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
EXPLOSIVE_POOL = "SELECT (COUNT(*) AS ?n) { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
CHEAP = "ASK { ?s ?p ?o }"


def during(expensive, cheap) -> tuple[float, list[float], object]:
    """Run ``expensive()`` in a thread and ``cheap()`` every 0.1 s until it ends.

    Return (seconds the expensive call took, latencies of the cheap calls, its outcome).
    """
    outcome: dict[str, object] = {}

    def run() -> None:
        started = time.perf_counter()
        try:
            outcome["value"] = expensive()
        except Exception as error:  # noqa: BLE001 - the outcome is reported, not raised
            outcome["value"] = error
        outcome["seconds"] = time.perf_counter() - started

    thread = threading.Thread(target=run)
    thread.start()
    latencies = []
    time.sleep(0.3)
    while thread.is_alive():
        started = time.perf_counter()
        cheap()
        latencies.append(time.perf_counter() - started)
        time.sleep(0.1)
    thread.join()
    return float(outcome["seconds"]), latencies, outcome["value"]  # type: ignore[arg-type]


def worker_cpu(pid: int) -> float:
    """Return the highest CPU % of any child of ``pid`` over half a second."""
    children = psutil.Process(pid).children(recursive=True)
    for child in children:
        child.cpu_percent(None)
    time.sleep(0.5)
    busy = []
    for child in children:
        try:
            busy.append(child.cpu_percent(None))
        except psutil.NoSuchProcess:
            busy.append(0.0)
    return max(busy, default=0.0)


def http_round(engine: str, timeout: float) -> list[str]:
    os.environ["AIGRAPH_EXECUTORS"] = "2"
    server = start_aigraph(None, "--timeout", str(timeout), "--engine", engine, "--no-validate")
    try:
        heavy, light = Client(server, timeout=120), Client(server, timeout=120)
        seconds, latencies, (status, _) = during(
            lambda: heavy.query(EXPLOSIVE, SELECT_JSON), lambda: light.query(CHEAP, SELECT_JSON)
        )
        cpu = worker_cpu(server.process.pid)
        return [
            f"HTTP, {engine}",
            f"{timeout:g}",
            str(status),
            fmt(seconds),
            str(len(latencies)),
            fmt(median(latencies) * 1000, 1),
            fmt(max(latencies, default=float("nan")) * 1000, 1),
            fmt(cpu, 0),
        ]
    finally:
        server.stop()


def pool_round(engine_name: str) -> list[str]:
    from aigraph.engine import IsolatedEngine, OxigraphEngine, QueryRequest, RdflibEngine

    data = Dataset(default_union=True)
    graph = data.graph(URIRef("http://example.org/big"))
    for i in range(3000):
        graph.add((URIRef(f"http://example.org/s{i}"), URIRef("http://example.org/p"), Literal(i)))
    engine_class = OxigraphEngine if engine_name == "oxigraph" else RdflibEngine
    engine = engine_class(data)
    with IsolatedEngine(lambda: engine, workers=2, timeout=30.0) as pool:
        seconds, latencies, error = during(
            lambda: pool.query(QueryRequest(EXPLOSIVE_POOL, timeout=1.0)),
            lambda: pool.query(QueryRequest(CHEAP)),
        )
        status = str(getattr(error, "status", type(error).__name__))
        cpu = worker_cpu(os.getpid())
    return [
        f"pool, {engine_name}",
        "1",
        status,
        fmt(seconds),
        str(len(latencies)),
        fmt(median(latencies) * 1000, 1),
        fmt(max(latencies, default=float("nan")) * 1000, 1),
        fmt(cpu, 0),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=2.0, help="the server's query_timeout")
    parser.add_argument("--rounds", type=int, default=1, help="repetitions per engine")
    args = parser.parse_args()
    rows = []
    for _ in range(args.rounds):
        for engine in ("oxigraph", "rdflib"):
            rows.append(http_round(engine, args.timeout))
            rows.append(pool_round(engine))
    print(
        table(
            [
                "where",
                "limit s",
                "status",
                "answered after s",
                "cheap queries",
                "cheap median ms",
                "cheap worst ms",
                "worker CPU % after",
            ],
            rows,
        )
    )


if __name__ == "__main__":
    main()
