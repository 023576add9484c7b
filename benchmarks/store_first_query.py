"""A persistent store of 10^6 triples: load time, time from start to the first answer, memory.

    .venv/bin/python benchmarks/store_first_query.py [--triples 1000000] [--runs 3] [--data nt]
        [--store DIR] [--old COMMIT]

Loads the synthetic TriG file of ``aigraph synth`` (or, with ``--data nt``, a plain N-Triples
file of one graph) with ``aigraph load --store`` (``--store DIR``: serve that store, loaded
before, instead), then starts ``aigraph serve --store`` ``--runs`` times and times, from the
process start: the line that announces the endpoint, the first answer (a lookup of one
subject), then a COUNT of every triple (a scan of the store), then four COUNTs at once (every
worker of the default ``executors`` busy). Memory is the RSS of the whole
process tree (server + query workers), summed every 50 ms: its peak, and its RSS and PSS after
the first answer and after the COUNT. With ``--old COMMIT`` that commit's tree (a git worktree)
is started too, its runs interleaved with these, and both are shown side by side. Medians over
the runs. A measurement, not a test.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import PYTHON, PeakRSS, fmt, median, old_tree, synth_file, table

from aigraph.engine.remote import remote_query

COUNT = "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }"
#: Queries at once, last: as many as the default ``executors``, so every worker is started.
BUSY = 4


def write_triples(path: Path, count: int) -> Path:
    with path.open("w", encoding="utf-8") as out:
        for i in range(count):
            out.write(
                f'<http://example.org/s{i // 10}> <http://example.org/p{i % 10}> "value {i}" .\n'
            )
    return path


def lookup_of(data: Path) -> str:
    """A query for one subject of the data (the first IRI subject of the file)."""
    with data.open(encoding="utf-8") as lines:
        for line in lines:
            found = re.match(r"\s*<([^>]+)> <", line)
            if found and "/graph/" not in found.group(1):
                return f"SELECT ?p ?o {{ <{found.group(1)}> ?p ?o }}"
    return "SELECT ?s { ?s ?p ?o } LIMIT 1"


def tree_memory(root: psutil.Process) -> tuple[int, int]:
    """The summed RSS and PSS of ``root`` and every process under it, now.

    RSS counts a page shared by forked workers once per process; PSS splits it between them,
    so its sum is the memory the tree takes.
    """
    rss = pss = 0
    for proc in [root, *root.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            info = proc.memory_full_info()
            rss, pss = rss + info.rss, pss + info.pss
    return rss, pss


def one_start(store: Path, lookup: str, tree: Path | None = None) -> dict[str, float]:
    """Start the server once (from ``tree``'s sources if given); return its timings (s) and
    memory (MiB)."""
    # One client (this one) may have BUSY queries in progress (the default is 2).
    env = dict(os.environ, PYTHONUNBUFFERED="1", AIGRAPH_MAX_CLIENT_QUERIES=str(BUSY))
    if tree is not None:
        env["PYTHONPATH"] = str(tree / "src")
    started = time.monotonic()
    server = subprocess.Popen(
        [PYTHON, "-m", "aigraph", "serve", "--port", "0", "--store", str(store)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
        cwd=tree,
    )
    try:
        with PeakRSS(server.pid) as peak:
            assert server.stdout is not None
            line = server.stdout.readline()
            ready = time.monotonic() - started
            url = re.search(r"(http://\S+?/sparql)", line)
            if url is None:
                raise RuntimeError(f"no endpoint line from serve: {line!r}")
            remote_query(url.group(1), lookup)
            first = time.monotonic() - started
            after, shared = tree_memory(peak.root)
            answer = remote_query(url.group(1), COUNT)
            counted = time.monotonic() - started
            later, later_shared = tree_memory(peak.root)
            processes = 1 + len(peak.root.children(recursive=True))
            with ThreadPoolExecutor(BUSY) as busy:  # every worker busy: the pool at its size
                list(busy.map(lambda _: remote_query(url.group(1), COUNT), range(BUSY)))
            grown, grown_shared = tree_memory(peak.root)
            grown_processes = 1 + len(peak.root.children(recursive=True))
    finally:
        server.terminate()
        server.wait(20)
    return {
        "announced": ready,
        "first": first,
        "counted": counted,
        "count": float(answer.rows[0]["n"]),
        "after": after / 2**20,
        "pss": shared / 2**20,
        "later": later / 2**20,
        "later_pss": later_shared / 2**20,
        "grown": grown / 2**20,
        "grown_pss": grown_shared / 2**20,
        "grown_processes": grown_processes,
        "peak": peak.peak / 2**20,
        "processes": processes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--triples", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--data", choices=("synth", "nt"), default="synth")
    parser.add_argument("--store", type=Path, help="serve this store (loaded before)")
    parser.add_argument("--old", metavar="COMMIT", help="start this commit's tree too")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        if args.data == "synth":
            data = synth_file(args.triples)
        else:
            data = write_triples(Path(tmp) / "big.nt", args.triples)
        store, load_s = args.store, None
        if store is None:
            store = Path(tmp) / "store"
            started = time.monotonic()
            subprocess.run(
                [PYTHON, "-m", "aigraph", "load", "--store", str(store), str(data)],
                check=True,
                stderr=subprocess.DEVNULL,
            )
            load_s = time.monotonic() - started
        lookup = lookup_of(data)
        trees: dict[str, Path | None] = {"this tree": None}
        if args.old:
            trees = {f"old {args.old[:10]}": stack.enter_context(old_tree(args.old)), **trees}
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
        load = os.getloadavg()[0]
        for _ in range(args.runs):
            for name, tree in trees.items():
                runs[name].append(one_start(store, lookup, tree))
        load = max(load, os.getloadavg()[0])

    def mid(name: str, key: str, digits: int = 2) -> str:
        return fmt(median([r[key] for r in runs[name]]), digits)

    measures: list[tuple[str, str, int]] = [
        ("serve --store: start to the endpoint line (s)", "announced", 2),
        ("start to the first answer, a lookup (s)", "first", 2),
        ("start to the COUNT of every triple, asked next (s)", "counted", 2),
        ("RSS of the tree after the first answer (MiB)", "after", 0),
        ("PSS of the tree after the first answer (MiB)", "pss", 0),
        ("RSS of the tree after the COUNT (MiB)", "later", 0),
        ("PSS of the tree after the COUNT (MiB)", "later_pss", 0),
        ("processes in the tree after the COUNT", "processes", 0),
        (f"RSS of the tree after {BUSY} COUNTs at once (MiB)", "grown", 0),
        (f"PSS of the tree after {BUSY} COUNTs at once (MiB)", "grown_pss", 0),
        (f"processes in the tree after {BUSY} COUNTs at once", "grown_processes", 0),
        ("peak RSS of the tree (MiB)", "peak", 0),
    ]
    rows = [[label] + [mid(name, key, digits) for name in trees] for label, key, digits in measures]
    if args.old:
        old_name = next(iter(trees))
        for row, (_, key, _) in zip(rows, measures, strict=True):
            before = median([r[key] for r in runs[old_name]])
            now = median([r[key] for r in runs["this tree"]])
            row.append(f"{now / before:.2f}x" if before else "-")
    count = int(runs["this tree"][0]["count"])
    print(f"# store_first_query: medians of {args.runs} start(s), load average up to {load:.1f}\n")
    print(f"data: {data.name}, {count:,} triples answered by the COUNT")
    if load_s is not None:
        print(f"aigraph load --store: {load_s:.1f} s (one run)")
    print()
    print(table(["measure", *trees, *(["new/old"] if args.old else [])], rows))


if __name__ == "__main__":
    main()
