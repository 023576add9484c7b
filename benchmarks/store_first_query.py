"""A persistent store of 10^6 triples: load time, time from start to the first answer, memory.

    .venv/bin/python benchmarks/store_first_query.py [--triples 1000000] [--runs 3] [--data nt]

Loads the synthetic TriG file of ``aigraph synth`` (or, with ``--data nt``, a plain N-Triples
file of one graph) with ``aigraph load --store``, then starts ``aigraph serve --store`` ``--runs``
times and times, from the process start: the line that announces the endpoint, and the first
answered query (a COUNT of every triple, then a lookup). Memory is the RSS of the whole process
tree (server + query workers), summed every 50 ms: its peak, and its value after the first
answer. Medians over the runs. A measurement, not a test.
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
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import PYTHON, PeakRSS, fmt, median, synth_file, table

from aigraph.engine.remote import remote_query

COUNT = "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }"


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


def one_start(store: Path, lookup: str) -> dict[str, float]:
    """Start the server once; return its timings (s) and memory (MiB)."""
    started = time.monotonic()
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    server = subprocess.Popen(
        [PYTHON, "-m", "aigraph", "serve", "--port", "0", "--store", str(store)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        with PeakRSS(server.pid) as peak:
            assert server.stdout is not None
            line = server.stdout.readline()
            ready = time.monotonic() - started
            url = re.search(r"(http://\S+?/sparql)", line)
            if url is None:
                raise RuntimeError(f"no endpoint line from serve: {line!r}")
            answer = remote_query(url.group(1), COUNT)
            first = time.monotonic() - started
            after, shared = tree_memory(peak.root)
            remote_query(url.group(1), lookup)
            looked = time.monotonic() - started - first
            processes = 1 + len(peak.root.children(recursive=True))
    finally:
        server.terminate()
        server.wait(20)
    return {
        "announced": ready,
        "first": first,
        "lookup": looked,
        "count": float(answer.rows[0]["n"]),
        "after": after / 2**20,
        "pss": shared / 2**20,
        "peak": peak.peak / 2**20,
        "processes": processes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--triples", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--data", choices=("synth", "nt"), default="synth")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.data == "synth":
            data = synth_file(args.triples)
        else:
            data = write_triples(Path(tmp) / "big.nt", args.triples)
        store = Path(tmp) / "store"
        started = time.monotonic()
        subprocess.run(
            [PYTHON, "-m", "aigraph", "load", "--store", str(store), str(data)],
            check=True,
            stderr=subprocess.DEVNULL,
        )
        load_s = time.monotonic() - started
        lookup = lookup_of(data)
        runs = [one_start(store, lookup) for _ in range(args.runs)]

    def mid(key: str, digits: int = 2) -> str:
        return fmt(median([r[key] for r in runs]), digits)

    rows = [
        ["data", f"{data.name}: {int(runs[0]['count']):,} triples answered by the COUNT"],
        ["aigraph load --store", f"{load_s:.1f} s (one run)"],
        ["serve --store: start to the endpoint line", f"{mid('announced')} s"],
        ["serve --store: start to the first answer (COUNT)", f"{mid('first')} s"],
        ["then a lookup", f"{1000 * median([r['lookup'] for r in runs]):.0f} ms"],
        ["RSS of the tree after the first answer", f"{mid('after', 0)} MiB"],
        ["peak RSS of the tree (server + workers)", f"{mid('peak', 0)} MiB"],
        ["PSS of the tree after the first answer (shared pages once)", f"{mid('pss', 0)} MiB"],
        ["processes in the tree", mid("processes", 0)],
    ]
    print(f"# store_first_query: medians of {args.runs} start(s)\n")
    print(table(["measure", "value"], rows))


if __name__ == "__main__":
    main()
