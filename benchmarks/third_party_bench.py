"""Start-up time and memory of aigraph serving the largest third-party project: Brick.

The project is built as the tests build it (``tests/third_party``: ``Brick.ttl`` of the
installed ``brickschema`` package, about 60 000 triples for 1.4), then served three ways, one
after the other: in memory without validation at start, in memory validated against Brick's own
shapes at start (``--validate``, slow: give ``--with-validation``), and from a store made by
``aigraph load --store``. For each: seconds until the server answers a SPARQL ASK, the CPU
seconds the server spent by then (steadier than wall time on a shared machine), and the peak
memory of the server and its query workers while it starts and answers a first landing page
(which builds the dumps) and the page of ``brick:Equipment``. Memory is the sum over the
process tree of RSS (workers are forked, so shared pages count more than once) and of PSS (each
shared page split between its sharers), sampled every 50 ms.

With ``--old COMMIT`` that commit's tree and HEAD's (git worktrees) are served the same ways in
the same run, each mode old then new, for a side-by-side table.

    python benchmarks/third_party_bench.py [--version 1.4] [--with-validation] [--old COMMIT]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote

import psutil
from common import HOST, PYTHON, ROOT, fmt, old_tree, run_measured, table

sys.path.insert(0, str(ROOT / "tests"))
from third_party import BRICK_EQUIPMENT, brick_project

MB = 1024 * 1024
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"


class Peaks:
    """Sample the summed RSS and PSS of a process tree, and its CPU seconds."""

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)
        self.rss = self.pss = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def tree(self) -> list[psutil.Process]:
        with contextlib.suppress(psutil.Error):
            return [self.root, *self.root.children(recursive=True)]
        return []

    def cpu(self) -> float:
        total = 0.0
        for proc in self.tree():
            with contextlib.suppress(psutil.Error):
                times = proc.cpu_times()
                total += times.user + times.system
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            rss = pss = 0
            for proc in self.tree():
                with contextlib.suppress(psutil.Error):
                    info = proc.memory_full_info()
                    rss, pss = rss + info.rss, pss + info.pss
            self.rss, self.pss = max(self.rss, rss), max(self.pss, pss)
            self._stop.wait(0.05)

    def __enter__(self) -> Peaks:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _get(url: str, accept: str = "text/html") -> tuple[float, bytes]:
    started = time.perf_counter()
    request = urllib.request.Request(url, headers={"Accept": accept})
    with urllib.request.urlopen(request, timeout=1800) as response:  # loopback only
        body = response.read()
    return time.perf_counter() - started, body


def measure(name: str, *args: str, tree: Path = ROOT) -> tuple[list[str], int]:
    """Serve ``tree``'s aigraph with ``args``, sampled from the spawn on; return the table row
    and the triples."""
    started = time.perf_counter()
    env = dict(os.environ, PYTHONPATH=str(tree / "src"))
    process = subprocess.Popen(
        [PYTHON, "-m", "aigraph", "serve", "--host", HOST, "--port", "0", *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=tree,
    )  # fmt: skip
    try:
        with Peaks(process.pid) as peaks:
            base = _wait_listening(process)
            ask = f"{base}/sparql?query={quote('ASK {}')}"
            while True:
                with contextlib.suppress(OSError):
                    _get(ask, "application/sparql-results+json")
                    break
                time.sleep(0.2)
            startup, cpu = time.perf_counter() - started, peaks.cpu()
            body = _get(f"{base}/sparql?query={quote(COUNT)}", "application/sparql-results+json")[1]
            triples = int(json.loads(body)["results"]["bindings"][0]["n"]["value"])
            landing = _get(f"{base}/")[0]
            page = _get(f"{base}/resource?iri={quote(BRICK_EQUIPMENT, safe='')}")[0]
            time.sleep(0.2)
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    row = [name, fmt(startup, 1), fmt(cpu, 1), fmt(landing, 1), fmt(page, 2),
           fmt(peaks.rss / MB, 0), fmt(peaks.pss / MB, 0)]  # fmt: skip
    print(" | ".join(row), flush=True)  # kept if a later mode fails
    return row, triples


def _wait_listening(process: subprocess.Popen) -> str:
    """Return the base URL the server prints once it listens; keep draining its log after."""
    assert process.stdout is not None
    for line in process.stdout:
        found = re.search(r"SPARQL endpoint: (http://127\.0\.0\.1:\d+)/sparql", line)
        if found:
            threading.Thread(target=process.stdout.read, daemon=True).start()
            return found.group(1)
    raise RuntimeError(f"aigraph serve exited with {process.wait()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", default="1.4", help="Brick release folder (1.3, 1.4, 1.5)")
    parser.add_argument("--with-validation", action="store_true", help="also validate at start")
    parser.add_argument("--old", metavar="COMMIT", help="serve this commit's tree too")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="aigraph-brick-")))
        trees = {"": ROOT}
        if args.old:
            # Both committed trees: half-done edits in the work tree stay out of the comparison.
            trees = {
                f"old {args.old[:10]}, ": stack.enter_context(old_tree(args.old)),
                "new (HEAD), ": stack.enter_context(old_tree("HEAD")),
            }
        built = brick_project(folder / "brick", args.version)
        rows = []
        for tag, tree in trees.items():
            row, triples = measure(f"{tag}memory, --no-validate", str(built.root), "--no-validate",
                                   tree=tree)  # fmt: skip
            rows.append(row)
        if args.with_validation:
            for tag, tree in trees.items():
                rows.append(measure(f"{tag}memory, validated at start", str(built.root),
                                    "--validate", tree=tree)[0])  # fmt: skip
        loads = []
        for number, (tag, tree) in enumerate(trees.items()):
            # Each tree loads its own store: the store layout may differ between commits.
            store = folder / f"store{number}"
            seconds, peak, code = run_measured(
                ["env", f"PYTHONPATH={tree / 'src'}", PYTHON, "-m", "aigraph", "load",
                 "--project", str(built.root), "--store", str(store)],
                timeout=1800,
            )  # fmt: skip
            assert code == 0, f"{tag}aigraph load --store failed"
            loads.append(f"{tag}{seconds:.1f} s, peak RSS {peak / MB:.0f} MB")
            rows.append(measure(f"{tag}store (serve --store)", str(built.root), "--store",
                                str(store), tree=tree)[0])  # fmt: skip
        size = built.data.stat().st_size
    print(f"Brick {args.version} ({built.title}: {triples} triples, "
          f"{size / MB:.1f} MB of Turtle); "
          f"aigraph load --store: {'; '.join(loads)}; "
          f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")  # fmt: skip
    print(table(["mode", "start s", "start CPU s", "1st landing s", "Equipment page s",
                 "peak RSS MB", "peak PSS MB"], rows))  # fmt: skip


if __name__ == "__main__":
    main()
