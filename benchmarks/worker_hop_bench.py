"""The per-query cost of the hop to a query worker, in-process: this tree against an older one.

For each query it times the engine called directly (the server's check, the query, the answer
written) and the same through ``IsolatedEngine.answer`` (a pool of one sandboxed worker: the
request goes down the worker's pipe, the written answer comes back); the hop is the difference.
Each tree runs in its own child process (``PYTHONPATH`` = its ``src``), the trees alternating
round by round so that both see the same machine load; the table shows medians over rounds.

    python benchmarks/worker_hop_bench.py [--old f78edb3~1] [--triples 1000] [--rounds 7]
    python benchmarks/worker_hop_bench.py --retry
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import PYTHON, ROOT, fmt, old_tree, subjects_of, synth_file, table

CALLS = 2000  # per query, per round
BLOCK = 50  # calls timed together


def queries(path: Path) -> dict[str, str]:
    subject = subjects_of(path, 1)[0]
    return {
        "ASK {}": "ASK {}",
        "lookup": f"SELECT ?p ?o WHERE {{ <{subject}> ?p ?o }}",
        "COUNT": "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }",
    }


def child(path: Path, texts: dict[str, str]) -> dict[str, dict[str, float]]:
    """Time each query directly and through a one-worker pool; return microseconds per call."""
    from rdflib import Dataset

    from aigraph import formats
    from aigraph.engine import IsolatedEngine, OxigraphEngine, QueryRequest, stream

    data = Dataset(default_union=True)
    data.parse(path, format="trig")
    engine = OxigraphEngine(data)
    offer = formats.find_offer("json", formats.RESULTS)
    assert offer is not None
    timings: dict[str, dict[str, float]] = {}
    with IsolatedEngine(lambda: engine, workers=1, check=engine.check) as pool:

        def direct(text: str) -> object:
            request = QueryRequest(text, checked=engine.check(text))
            return stream.written(engine.query(request), offer, 0)

        def isolated(text: str) -> object:
            return pool.answer(QueryRequest(text), offer)

        [pid] = pool.worker_pids()
        worker = psutil.Process(pid)

        def cpu() -> float:  # this process and the worker
            times = worker.cpu_times()
            return time.process_time() + times.user + times.system

        for name, text in texts.items():
            samples: dict[str, list[float]] = {"direct": [], "isolated": []}
            used = {"direct": 0.0, "isolated": 0.0}
            for call in (direct, isolated):  # warm up
                for _ in range(BLOCK):
                    call(text)
            for _ in range(CALLS // BLOCK):  # the two ways alternate, block by block
                for way, call in (("direct", direct), ("isolated", isolated)):
                    before = cpu()
                    start = time.perf_counter()
                    for _ in range(BLOCK):
                        call(text)
                    samples[way].append((time.perf_counter() - start) / BLOCK * 1e6)
                    used[way] += cpu() - before
            timings[name] = {way: statistics.median(times) for way, times in samples.items()}
            # CPU over all blocks: a worker's CPU time is counted in clock ticks (10 ms).
            timings[name]["direct_cpu"] = used["direct"] / CALLS * 1e6
            timings[name]["cpu"] = used["isolated"] / CALLS * 1e6
    return timings


def retry_cost(rounds: int = 15) -> dict[str, float]:
    """Return the median milliseconds of what a retried query pays before it runs again.

    A worker that dies with a query in hand is killed and reaped, a fresh one is forked, and
    the query goes to it once it is ready (sandboxed, engine built): timed here on an idle
    worker, this tree only.
    """
    from rdflib import Dataset

    from aigraph.engine import IsolatedEngine, OxigraphEngine

    engine = OxigraphEngine(Dataset(default_union=True))
    replace, ready = [], []
    with IsolatedEngine(lambda: engine, workers=1) as pool:
        for _ in range(rounds):
            worker = pool._idle.get()  # noqa: SLF001 - times the pool's own replacement
            start = time.perf_counter()
            fresh = pool._replace(worker, crashed=True, keep=True)
            replace.append(time.perf_counter() - start)
            assert fresh is not None
            start = time.perf_counter()
            fresh.call(("info",), time.monotonic() + 30)
            ready.append(time.perf_counter() - start)
            pool._idle.put(fresh)  # noqa: SLF001
    return {
        "kill, reap, fork": statistics.median(replace) * 1e3,
        "fresh worker ready and answering": statistics.median(ready) * 1e3,
    }


def run_child(tree: Path, path: Path) -> dict[str, dict[str, float]]:
    env = dict(os.environ, PYTHONPATH=str(tree / "src"))
    done = subprocess.run(
        [PYTHON, str(Path(__file__).resolve()), "--child", str(path)],
        env=env,
        cwd=tree,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, dict[str, float]] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", default="f78edb3~1", help="the older revision to compare with")
    parser.add_argument("--triples", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--retry", action="store_true", help="time a retry's fresh worker")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, queries(args.child))))
        return
    if args.retry:
        for step, ms in retry_cost().items():
            print(f"retry: {step}: {ms:.1f} ms (median of 15)")
        return
    path = synth_file(args.triples)
    runs: dict[str, list[dict[str, dict[str, float]]]] = {"old": [], "new": []}
    with old_tree(args.old) as old:
        for _ in range(args.rounds):
            runs["old"].append(run_child(old, path))
            runs["new"].append(run_child(ROOT, path))

    def med(tree: str, name: str, way: str) -> float:
        return statistics.median(run[name][way] for run in runs[tree])

    def hop(tree: str, name: str, way: str, base: str) -> float:
        return statistics.median(run[name][way] - run[name][base] for run in runs[tree])

    rows = []
    for name in queries(path):
        old_hop, new_hop = (
            hop("old", name, "isolated", "direct"),
            hop("new", name, "isolated", "direct"),
        )
        old_cpu, new_cpu = (
            hop("old", name, "cpu", "direct_cpu"),
            hop("new", name, "cpu", "direct_cpu"),
        )
        rows.append(
            [
                name,
                fmt(med("new", name, "direct"), 0),
                fmt(med("old", name, "isolated"), 0),
                fmt(med("new", name, "isolated"), 0),
                fmt(old_hop, 0),
                fmt(new_hop, 0),
                fmt(old_cpu, 0),
                fmt(new_cpu, 0),
                fmt(new_cpu / old_cpu if old_cpu > 0 else None),
            ]
        )
    print(
        f"{args.triples} triples, {args.rounds} interleaved rounds of {CALLS} calls, "
        f"old = {args.old}; microseconds per query (medians). Wall: the caller waits; "
        "CPU: server and worker processes together, robust to the machine's load"
    )
    headers = ["query", "direct", "pool, old", "pool, new", "hop, old", "hop, new"]
    headers += ["hop CPU, old", "hop CPU, new", "CPU new/old"]
    print(table(headers, rows))


if __name__ == "__main__":
    main()
