"""Measure a persistent store of 1 000 000 triples: load time, time to the first answer, memory.

    .venv/bin/python benchmarks/store_first_query.py [--triples 1000000]

Loads a generated N-Triples file with ``aigraph load --store``, starts ``aigraph serve --store``
and times from the process start to the first answered query; prints the peak RSS of the
server's process tree (server + query workers). A measurement, not a test.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

from aigraph.engine.remote import remote_query


def write_triples(path: Path, count: int) -> Path:
    with path.open("w", encoding="utf-8") as out:
        for i in range(count):
            out.write(
                f'<http://example.org/s{i // 10}> <http://example.org/p{i % 10}> "value {i}" .\n'
            )
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--triples", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        big = write_triples(Path(tmp) / "big.nt", args.triples)
        store = Path(tmp) / "store"
        started = time.monotonic()
        subprocess.run(
            [sys.executable, "-m", "aigraph", "load", "--store", str(store), str(big)],
            check=True,
            stderr=subprocess.DEVNULL,
        )
        load_s = time.monotonic() - started
        started = time.monotonic()
        server = subprocess.Popen(
            [sys.executable, "-m", "aigraph", "serve", "--port", "0", "--store", str(store)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        peak = 0
        done = threading.Event()

        def watch() -> None:
            nonlocal peak
            while not done.is_set():
                try:
                    tree = psutil.Process(server.pid)
                    procs = [tree, *tree.children(recursive=True)]
                    peak = max(peak, sum(p.memory_info().rss for p in procs))
                except psutil.Error:
                    pass
                time.sleep(0.05)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        try:
            assert server.stdout is not None
            line = server.stdout.readline()
            url = line.split(" at ")[1].split("/ ")[0].rstrip("/")
            answer = remote_query(f"{url}/sparql", "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }")
            first_s = time.monotonic() - started
            remote_query(f"{url}/sparql", "SELECT ?p (COUNT(*) AS ?n) { ?s ?p ?o } GROUP BY ?p")
        finally:
            done.set()
            server.terminate()
            server.wait(20)
        print("| measure | value |")
        print("|---|---|")
        print(f"| triples | {args.triples} (count answered: {answer.rows[0]['n']}) |")
        print(f"| aigraph load --store | {load_s:.1f} s |")
        print(f"| serve --store: start to first answer | {first_s:.2f} s |")
        print(f"| peak RSS, server + workers | {peak / 2**20:.0f} MiB |")


if __name__ == "__main__":
    main()
