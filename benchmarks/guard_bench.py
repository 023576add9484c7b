"""Server-process CPU of the query guard on 1 KB, 100 KB and 1 MB inputs of several shapes.

Prints a table of the median CPU time (``time.process_time``) of what the server process runs
on a query's text: ``query_form`` (the web layer) and ``check`` (before a worker is used).
With ``--old REV`` it also runs the guard of git revision REV side by side (each measurement of
the old guard in a child process, stopped after ``--limit`` seconds: it was quadratic).

    python benchmarks/guard_bench.py [--old 6dcb4e5] [--repeat 5] [--limit 20]
"""

from __future__ import annotations

import argparse
import importlib.util
import multiprocessing
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from aigraph.engine import guard
from aigraph.errors import AigraphError

ROOT = Path(__file__).resolve().parent.parent
SIZES = {"1 KB": 1_000, "100 KB": 100_000, "1 MB": 1_000_000}


def shapes(size: int) -> dict[str, str]:
    """Return query texts of about ``size`` characters, one per shape."""

    def fill(unit: str) -> str:
        return unit * max(1, size // len(unit))

    return {
        "typical": "PREFIX ex: <http://example.org/#>\nSELECT ?s ?o WHERE { "
        + fill("?s ex:p 'o' . ")
        + "}",
        "letters": "SELECT * { ?s ?p " + fill("a") + " }",
        "prefixed names": "SELECT * { ?s ?p " + fill("a: ") + " }",
        "quote runs": "SELECT * { ?s ?p " + fill("'") + " }",
        "service names": "SELECT * { ?s ?p " + fill("a:service ") + " }",
        "escaped names": "SELECT * { ?s ?p " + fill("ex:a\\) ") + " }",
        "brackets": "ASK " + fill("{}"),
        "IRIs with #": "SELECT * { ?s ?p " + fill("<a#b> ") + " }",
    }


def server_work(module: ModuleType) -> Callable[[str], None]:
    def run(text: str) -> None:
        for step in (module.query_form, module.check):
            try:
                step(text)
            except AigraphError:
                pass

    return run


def median_cpu(run: Callable[[str], None], text: str, repeat: int) -> float:
    times = []
    for i in range(repeat):
        variant = text + " " * (i + 1)  # distinct texts: no cache hits
        start = time.process_time()
        run(variant)
        times.append(time.process_time() - start)
    return statistics.median(times)


def load_old(rev: str) -> ModuleType:
    """Import the guard of git revision ``rev`` as a stand-alone module."""
    source = subprocess.run(
        ["git", "show", f"{rev}:src/aigraph/engine/guard.py"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    source = source.replace("from ..errors", "from aigraph.errors")
    source = source.replace("from .base", "from aigraph.engine.base")
    path = Path(tempfile.mkdtemp()) / f"guard_{rev}.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _old_child(rev: str, text: str, repeat: int, out: multiprocessing.Queue) -> None:
    out.put(median_cpu(server_work(load_old(rev)), text, repeat))


def old_cpu(rev: str, text: str, repeat: int, limit: float) -> float | None:
    queue: multiprocessing.Queue = multiprocessing.Queue()
    child = multiprocessing.Process(target=_old_child, args=(rev, text, repeat, queue))
    child.start()
    child.join(limit)
    if child.is_alive():
        child.kill()
        child.join()
        return None
    return queue.get(timeout=5)


def cell(seconds: float | None, limit: float) -> str:
    if seconds is None:
        return f"> {limit:g} s"
    return f"{seconds * 1000:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", help="git revision of a guard to compare with, e.g. 6dcb4e5")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--limit", type=float, default=20.0, help="seconds per old measurement")
    args = parser.parse_args()
    new = server_work(guard)
    header = ["shape", "size", "guard (ms CPU, median)"]
    if args.old:
        header.append(f"guard at {args.old}")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    skip_old: set[str] = set()
    for size_name, size in SIZES.items():
        for shape, text in shapes(size).items():
            row = [shape, size_name, cell(median_cpu(new, text, args.repeat), args.limit)]
            if args.old:
                if shape in skip_old:
                    row.append("(not run: slower at a smaller size)")
                else:
                    took = old_cpu(args.old, text, args.repeat, args.limit)
                    if took is None:
                        skip_old.add(shape)
                    row.append(cell(took, args.limit))
            print("| " + " | ".join(row) + " |", flush=True)


if __name__ == "__main__":
    sys.exit(main())
