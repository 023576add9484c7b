"""Soak a fresh `aigraph serve` for minutes: cheap queries, timed-out expensive ones, memory.

Starts its own `aigraph serve --timeout 2` on a free loopback port, then for ``--minutes``
runs ``--clients`` client processes, each on its own keep-alive connection, sending a mix of
the named queries (``/queries/<name>``) and lookups of random resources (``DESCRIBE`` and
``SELECT ?p ?o``), while one more client sends an expensive query every ``--expensive-every``
seconds that the server must cut off with 503 ``query-timeout``. The RSS of the server's
process tree (server and query workers) is sampled every second.

Prints a table per minute (requests, cheap-query errors, p50/p99 latency, timeouts, RSS), the
memory growth from the end of the warm-up to the end (target < 10 %) and the cheap-query error
count (target 0); writes the raw numbers to ``benchmarks/results/`` and a plot of latency and
memory to ``docs/soak.png``. Every loop is bounded by the deadline; the server is stopped by
its pid.

    python benchmarks/soak.py --minutes 10 --clients 16
    python benchmarks/soak.py --minutes 1 --clients 4 --plot /tmp/soak.png
"""

from __future__ import annotations

import argparse
import collections
import http.client
import json
import multiprocessing
import os
import random
import re
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

import psutil

ROOT = Path(__file__).resolve().parent.parent
AIGRAPH = Path(sys.executable).parent / "aigraph"
RESULTS = ROOT / "benchmarks" / "results"
ID_PREFIX = "https://w3id.org/aigraph/id/"
EXPENSIVE = "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l } ORDER BY RAND()"
IRIS = f'SELECT DISTINCT ?s WHERE {{ ?s ?p ?o FILTER(STRSTARTS(STR(?s), "{ID_PREFIX}")) }}'


class Server:
    """An `aigraph serve` process; its output is drained continuously (last lines kept)."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [str(AIGRAPH), "serve", "--host", "127.0.0.1", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=dict(os.environ, PYTHONUNBUFFERED="1"),
        )
        self.tail: collections.deque[str] = collections.deque(maxlen=2000)
        self.problems: list[str] = []  # tracebacks and ERROR lines, whenever they appear
        self.url = ""
        self._started = threading.Event()
        threading.Thread(target=self._drain, daemon=True).start()
        if not self._started.wait(120) or not self.url:
            self.stop()
            raise SystemExit("aigraph serve did not start:\n" + "".join(self.tail))

    def _drain(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.tail.append(line)
            documented = "query-timeout" in line or "query-too-large" in line  # 503 limits
            alarming = (
                "Traceback" in line or "ERROR" in line or re.search(r'"status": 5(?!03)', line)
            )
            if alarming and not documented and len(self.problems) < 200:
                self.problems.append(line.rstrip())
            if not self.url:
                found = re.search(r"(http://127\.0\.0\.1:\d+)/", line)
                if found:
                    self.url = found.group(1)
                    self._started.set()
        self._started.set()

    def stop(self) -> int | None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        return self.process.returncode


def request(conn: http.client.HTTPConnection, path: str, headers=None) -> tuple[int, bytes]:
    conn.request("GET", path, headers=headers or {})
    response = conn.getresponse()
    return response.status, response.read()


def fetch_json(url: str, path: str) -> dict:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        status, body = request(conn, path, {"Accept": "application/json"})
        if status != 200:
            raise SystemExit(f"GET {path}: {status} {body[:300]!r}")
        return json.loads(body)
    finally:
        conn.close()


def cheap_path(rng: random.Random, names: list[str], iris: list[str]) -> tuple[str, str]:
    """Return (kind, path) of one cheap request: a named query or a lookup."""
    roll = rng.random()
    if roll < 0.4:
        name = rng.choice(names)
        fmt = rng.choice(["json", "csv", "xml", "tsv"])
        return "named", f"/queries/{quote(name)}?format={fmt}"
    iri = rng.choice(iris)
    if roll < 0.7:
        query = f"SELECT ?p ?o WHERE {{ <{iri}> ?p ?o }}"
        return "select", "/sparql?" + urlencode({"query": query, "format": "json"})
    return "describe", "/sparql?" + urlencode({"query": f"DESCRIBE <{iri}>", "format": "nt"})


def cheap_client(url: str, seed: int, deadline: float, names, iris, out) -> None:
    """Send cheap requests until ``deadline``; put [(t, kind, status, seconds)] on ``out``."""
    rng = random.Random(seed)
    parts = urlsplit(url)
    records = []
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    while time.time() < deadline:
        kind, path = cheap_path(rng, names, iris)
        started = time.time()
        try:
            status, _ = request(conn, path)
        except (OSError, http.client.HTTPException) as exc:
            status = f"{type(exc).__name__}"
            conn.close()
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        records.append((started, kind, status, time.time() - started))
    conn.close()
    out.put(("cheap", records))


def expensive_client(url: str, every: float, deadline: float, out) -> None:
    """Send the expensive query every ``every`` seconds; put its outcomes on ``out``."""
    parts = urlsplit(url)
    records = []
    body = EXPENSIVE.encode()
    next_at = time.time() + every
    while time.time() + every < deadline:
        time.sleep(max(0.0, next_at - time.time()))
        next_at += every
        started = time.time()
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        try:
            conn.request(
                "POST", "/sparql", body=body, headers={"Content-Type": "application/sparql-query"}
            )
            response = conn.getresponse()
            payload = response.read()
            try:
                kind = json.loads(payload).get("error", "")
            except ValueError:
                kind = ""
            status = response.status
        except (OSError, http.client.HTTPException) as exc:
            status, kind = type(exc).__name__, ""
        finally:
            conn.close()
        records.append((started, status, kind, time.time() - started))
    out.put(("expensive", records))


@dataclass
class Samples:
    """RSS of the server process tree, once a second."""

    times: list[float] = field(default_factory=list)
    tree_mb: list[float] = field(default_factory=list)
    main_mb: list[float] = field(default_factory=list)
    workers: list[int] = field(default_factory=list)


def sample_memory(pid: int, deadline: float, samples: Samples) -> None:
    process = psutil.Process(pid)
    while time.time() < deadline:
        started = time.time()
        try:
            main = process.memory_info().rss
            children = process.children(recursive=True)
            rss = main
            for child in children:
                try:
                    rss += child.memory_info().rss
                except psutil.NoSuchProcess:  # a worker replaced after a timeout
                    pass
        except psutil.NoSuchProcess:
            return
        samples.times.append(started)
        samples.tree_mb.append(rss / 2**20)
        samples.main_mb.append(main / 2**20)
        samples.workers.append(len(children))
        time.sleep(max(0.0, 1.0 - (time.time() - started)))


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def window_median(times, values, start: float, end: float) -> float:
    # The median ignores the short spikes of a worker running an expensive query.
    chosen = [v for t, v in zip(times, values, strict=True) if start <= t < end]
    return statistics.median(chosen) if chosen else float("nan")


def minute_table(t0, minutes, cheap, expensive, samples) -> list[dict]:
    rows = []
    for minute in range(minutes):
        lo, hi = t0 + 60 * minute, t0 + 60 * (minute + 1)
        batch = [r for r in cheap if lo <= r[0] < hi]
        ok = [r[3] for r in batch if r[2] == 200]
        rss = [m for t, m in zip(samples.times, samples.tree_mb, strict=True) if lo <= t < hi]
        rows.append(
            {
                "minute": minute + 1,
                "requests": len(batch),
                "errors": sum(1 for r in batch if r[2] != 200),
                "p50_ms": percentile(ok, 0.50) * 1000,
                "p99_ms": percentile(ok, 0.99) * 1000,
                "timeouts": sum(1 for r in expensive if lo <= r[0] < hi and r[1] == 503),
                "expensive": sum(1 for r in expensive if lo <= r[0] < hi),
                "rss_mb": rss[-1] if rss else float("nan"),
            }
        )
    return rows


def print_table(rows: list[dict]) -> str:
    header = "| minute | requests | errors | p50 ms | p99 ms | timeouts | RSS MB (end) |"
    lines = [header, "|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(
            f"| {r['minute']} | {r['requests']} | {r['errors']} | {r['p50_ms']:.1f} | "
            f"{r['p99_ms']:.1f} | {r['timeouts']}/{r['expensive']} | {r['rss_mb']:.1f} |"
        )
    return "\n".join(lines)


def plot(path: Path, t0, cheap, expensive, samples, warmup: float, window: float = 10.0) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    end = max([r[0] for r in cheap] + samples.times + [t0])
    starts = [t0 + window * i for i in range(int((end - t0) // window) + 1)]
    buckets: dict[int, list[float]] = collections.defaultdict(list)
    for started, _, status, seconds in cheap:
        if status == 200:
            buckets[int((started - t0) // window)].append(seconds * 1000)
    xs = [(s - t0) / 60 for s in starts if buckets.get(int((s - t0) // window))]
    p50 = [
        percentile(buckets[int((s - t0) // window)], 0.5)
        for s in starts
        if buckets.get(int((s - t0) // window))
    ]
    p99 = [
        percentile(buckets[int((s - t0) // window)], 0.99)
        for s in starts
        if buckets.get(int((s - t0) // window))
    ]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 6.5), sharex=True)
    top.plot(xs, p50, label="p50", color="tab:blue")
    top.plot(xs, p99, label="p99", color="tab:red")
    for started, status, _, _ in expensive:
        if status == 503:
            top.axvline((started - t0) / 60, color="0.6", lw=0.5, alpha=0.5, zorder=0)
    top.set_yscale("log")
    top.set_ylabel(f"cheap-query latency, ms\n(per {window:g} s window)")
    top.set_title("aigraph soak: latency (grey lines: expensive queries cut off with 503)")
    top.legend(loc="upper right")
    top.grid(True, which="both", alpha=0.3)
    mx = [(t - t0) / 60 for t in samples.times]
    bottom.plot(mx, samples.tree_mb, label="server + workers", color="tab:green", lw=0.6, alpha=0.6)
    smooth = [
        statistics.median(samples.tree_mb[max(0, i - 15) : i + 15])
        for i in range(len(samples.tree_mb))
    ]
    bottom.plot(mx, smooth, label="server + workers, 30 s median", color="darkgreen", lw=2)
    bottom.plot(mx, samples.main_mb, label="server process", color="tab:olive")
    bottom.axvspan(0, warmup / 60, color="0.9", label="warm-up")
    bottom.set_ylim(bottom=0)
    bottom.set_ylabel("RSS, MB")
    bottom.set_xlabel("minutes")
    bottom.legend(loc="upper right", fontsize="small", framealpha=0.9)
    bottom.grid(True, alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--timeout", type=float, default=2.0, help="server --timeout (s)")
    parser.add_argument("--expensive-every", type=float, default=5.0, help="seconds")
    parser.add_argument("--warmup", type=float, default=60.0, help="seconds before baseline")
    parser.add_argument("--plot", type=Path, default=ROOT / "docs" / "soak.png")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    duration = args.minutes * 60
    warmup = min(args.warmup, duration / 5)
    server = Server("--timeout", str(args.timeout))
    try:
        print(
            f"server {server.url} (pid {server.process.pid}); {args.clients} clients for "
            f"{args.minutes:g} min; expensive query every {args.expensive_every:g} s",
            flush=True,
        )
        names = [q["name"] for q in fetch_json(server.url, "/queries")["queries"]]
        bindings = fetch_json(server.url, "/sparql?" + urlencode({"query": IRIS}))
        iris = [b["s"]["value"] for b in bindings["results"]["bindings"]]
        print(f"{len(names)} named queries, {len(iris)} IRIs under {ID_PREFIX}", flush=True)

        t0 = time.time()
        deadline = t0 + duration
        samples = Samples()
        sampler = threading.Thread(
            target=sample_memory, args=(server.process.pid, deadline, samples), daemon=True
        )
        sampler.start()
        ctx = multiprocessing.get_context("fork")
        out = ctx.Queue()
        procs = [
            ctx.Process(
                target=cheap_client,
                args=(server.url, args.seed * 1000 + i, deadline, names, iris, out),
                daemon=True,
            )
            for i in range(args.clients)
        ]
        procs.append(
            ctx.Process(
                target=expensive_client,
                args=(server.url, args.expensive_every, deadline, out),
                daemon=True,
            )
        )
        for proc in procs:
            proc.start()
        collected = []
        for _ in procs:  # each client puts exactly one list, after its deadline
            collected.append(out.get(timeout=duration + 120))
        for proc in procs:
            proc.join(30)
        sampler.join(5)
        cheap = [r for role, batch in collected if role == "cheap" for r in batch]
        expensive = [r for role, batch in collected if role == "expensive" for r in batch]
        stats = fetch_json(server.url, "/stats")
        health = fetch_json(server.url, "/healthz")
    finally:
        exit_code = server.stop()

    minutes = max(1, round(duration / 60))
    rows = minute_table(t0, minutes, cheap, expensive, samples)
    span = min(30.0, warmup)
    rss_start = window_median(samples.times, samples.tree_mb, t0 + warmup, t0 + warmup + span)
    rss_end = window_median(samples.times, samples.tree_mb, deadline - span, deadline + 1)
    growth = (rss_end - rss_start) / rss_start * 100
    main_start = window_median(samples.times, samples.main_mb, t0 + warmup, t0 + warmup + span)
    main_end = window_median(samples.times, samples.main_mb, deadline - span, deadline + 1)
    main_growth = (main_end - main_start) / main_start * 100
    errors = collections.Counter(r[2] for r in cheap if r[2] != 200)
    outcomes = collections.Counter(f"{r[1]} {r[2]}".strip() for r in expensive)
    ok = [r[3] for r in cheap if r[2] == 200]
    table = print_table(rows)
    summary = {
        "requests": len(cheap),
        "cheap_errors": sum(errors.values()),
        "cheap_error_kinds": {str(k): v for k, v in errors.items()},
        "p50_ms": percentile(ok, 0.5) * 1000,
        "p99_ms": percentile(ok, 0.99) * 1000,
        "max_ms": max(ok, default=0) * 1000,
        "throughput_rps": len(cheap) / duration,
        "expensive_sent": len(expensive),
        "expensive_outcomes": dict(outcomes),
        "expensive_max_s": max((r[3] for r in expensive), default=0.0),
        "timeouts": sum(1 for r in expensive if r[1] == 503 and r[2] == "query-timeout"),
        "rss_after_warmup_mb": rss_start,
        "rss_end_mb": rss_end,
        "rss_growth_pct": growth,
        "rss_max_mb": max(samples.tree_mb, default=0.0),
        "server_rss_after_warmup_mb": main_start,
        "server_rss_end_mb": main_end,
        "server_rss_growth_pct": main_growth,
        "server_stats": stats,
        "server_healthz": health,
        "server_exit_code": exit_code,
        "server_problem_lines": server.problems[:20],
    }
    print()
    print(table)
    print()
    print(
        f"cheap requests: {len(cheap)} ({summary['throughput_rps']:.1f}/s), errors: "
        f"{summary['cheap_errors']} {dict(errors) or ''} (target 0)"
    )
    print(
        f"cheap latency overall: p50 {summary['p50_ms']:.1f} ms, p99 {summary['p99_ms']:.1f} ms,"
        f" max {summary['max_ms']:.1f} ms"
    )
    print(
        f"expensive queries: {len(expensive)} sent, outcomes {dict(outcomes)}, "
        f"slowest answer {summary['expensive_max_s']:.2f} s"
    )
    print(
        f"RSS (server + workers, median of {span:g} s): {rss_start:.1f} MB after {warmup:g} s "
        f"warm-up, {rss_end:.1f} MB at the end, growth {growth:+.1f} % (target < 10 %); "
        f"max sample {summary['rss_max_mb']:.1f} MB (a worker inside an expensive query)"
    )
    print(
        f"RSS (server process alone): {main_start:.1f} MB -> {main_end:.1f} MB, "
        f"growth {main_growth:+.1f} %"
    )
    print(
        f"server: /stats timeouts {stats.get('timeouts')}, worker restarts "
        f"{stats.get('engine_stats', {}).get('restarts')}, exit code {exit_code}, "
        f"{len(server.problems)} error/traceback log lines"
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"soak-{stamp}.json").write_text(
        json.dumps(
            {
                "args": {k: str(v) for k, v in vars(args).items()},
                "summary": summary,
                "minutes": rows,
                "memory": {
                    "t": [t - t0 for t in samples.times],
                    "tree_mb": samples.tree_mb,
                    "main_mb": samples.main_mb,
                    "workers": samples.workers,
                },
            },
            indent=1,
            default=str,
        )
    )
    (RESULTS / f"soak-{stamp}.md").write_text(table + "\n")
    plot(args.plot, t0, cheap, expensive, samples, warmup)
    print(f"wrote {RESULTS}/soak-{stamp}.json and {args.plot}")
    healthy = summary["cheap_errors"] == 0 and growth < 10 and summary["timeouts"] > 0
    healthy = healthy and not server.problems
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
