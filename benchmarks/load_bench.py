"""Load time and peak memory of loaders, and how validation time grows, on synthetic data.

Load: `aigraph load --store DIR FILE` vs `oxigraph load --location DIR --file FILE` vs parsing
the file into an in-memory rdflib ``Dataset``, at 10^4, 10^5 and 10^6 triples. Validation:
`aigraph validate FILE` vs the pySHACL command line (same shapes, the ontology and vocabularies
merged into one ``-e`` file, advanced features on, no inference) at 10^3, 10^4 and 10^5.
Every run is a fresh process (start-up included); its time is wall time and its memory the peak
RSS of its process tree, sampled every 50 ms. Commands are interleaved; tables show medians and
their ratios to `oxigraph load` (time and peak RSS) in the same run. rdflib runs up to
``--rdflib-max`` triples (default 10^5: it takes minutes at 10^6).

    python benchmarks/load_bench.py
    python benchmarks/load_bench.py --quick                   # one run each
    python benchmarks/load_bench.py --load-sizes 10000 --validate-sizes 1000
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BIN, PYTHON, ROOT, fmt, median, run_measured, synth_file, table

RDFLIB_PARSE = (
    "import sys; from rdflib import Dataset; d = Dataset(); "
    "d.parse(sys.argv[1], format='trig'); print(len(d))"
)


def aigraph_has_load() -> bool:
    done = subprocess.run([str(BIN / "aigraph"), "load", "--help"], capture_output=True, text=True)
    return done.returncode == 0 and "--store" in done.stdout


def load_commands(data: Path, store: Path, rdflib: bool) -> dict[str, list[str] | None]:
    return {
        "aigraph load": (
            [str(BIN / "aigraph"), "load", "--store", str(store / "aigraph"), str(data)]
            if aigraph_has_load()
            else None
        ),
        "oxigraph load": [
            str(BIN / "oxigraph"),
            "load",
            "--location",
            str(store / "oxigraph"),
            "--file",
            str(data),
        ],
        "rdflib Dataset.parse": [PYTHON, "-c", RDFLIB_PARSE, str(data)] if rdflib else None,
    }


def measure_all(commands: dict[str, list[str] | None], runs: int, timeout: float, reset) -> dict:
    """Run each command ``runs`` times, interleaved; return ``{name: (times, peaks, notes)}``."""
    results: dict[str, tuple[list[float], list[int], set[str]]] = {
        name: ([], [], set()) for name in commands
    }
    for _ in range(runs):
        for name, command in commands.items():
            if command is None:
                continue
            reset()
            seconds, peak, code = run_measured(command, timeout)
            times, peaks, notes = results[name]
            if code not in (0, 1):
                notes.add(f"exit {code}" if seconds < timeout else f"over {timeout:.0f} s")
                continue
            times.append(seconds)
            peaks.append(peak)
    return results


def rows_for(size: int, results: dict, peer: str | None = None) -> list[list[str]]:
    """Table rows; with ``peer``, each row's note gives its time and memory ratios to it."""
    rows = []
    peer_times, peer_peaks, _ = results.get(peer, ([], [], set()))
    for name, (times, peaks, notes) in results.items():
        note = "; ".join(sorted(notes)) or ("not available" if not times else "")
        if times and peer_times and name != peer:
            note = f"{median(times) / median(peer_times):.2f}x time, " + (
                f"{median(peaks) / median(peer_peaks):.2f}x memory of {peer}"
            )
        rows.append(
            [
                f"{size:,}",
                name,
                fmt(median(times) if times else None),
                fmt(median(peaks) / 2**20 if peaks else None, 0),
                fmt(size / median(times) / 1000 if times else None, 1),
                str(len(times)),
                note,
            ]
        )
    return rows


def load_table(sizes: list[int], runs: int, timeout: float, rdflib_max: int) -> str:
    rows = []
    for size in sizes:
        data = synth_file(size)
        store = Path(tempfile.mkdtemp(prefix="aigraph-load-bench-"))

        def reset(store: Path = store) -> None:
            for sub in ("aigraph", "oxigraph"):
                shutil.rmtree(store / sub, ignore_errors=True)

        try:
            commands = load_commands(data, store, size <= rdflib_max)
            rows += rows_for(size, measure_all(commands, runs, timeout, reset), "oxigraph load")
        finally:
            shutil.rmtree(store, ignore_errors=True)
    return table(
        ["triples", "command", "median s", "peak RSS MB", "k triples/s", "runs", "note"], rows
    )


def validate_table(sizes: list[int], runs: int, timeout: float) -> str:
    from validate_vs_pyshacl import merge  # the same ontology merge as that benchmark

    from aigraph import content

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        ontology = Path(tmp) / "ontology.ttl"
        merge([content.ontology_file(), content.vocabularies_file()], ontology)
        for size in sizes:
            data = synth_file(size)
            commands: dict[str, list[str] | None] = {
                "aigraph validate": [str(BIN / "aigraph"), "validate", str(data)],
                "pyshacl": [
                    str(BIN / "pyshacl"),
                    "-s",
                    str(content.shapes_file()),
                    "-e",
                    str(ontology),
                    "-a",
                    "-i",
                    "none",
                    str(data),
                ],
            }
            rows += rows_for(size, measure_all(commands, runs, timeout, lambda: None))
    return table(
        ["triples", "command", "median s", "peak RSS MB", "k triples/s", "runs", "note"], rows
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--load-sizes", default="10000,100000,1000000")
    parser.add_argument("--validate-sizes", default="1000,10000,100000")
    parser.add_argument("--runs", type=int, help="runs per command (default 3; 1 with --quick)")
    parser.add_argument(
        "--timeout", type=float, default=600.0, help="seconds before a run is stopped"
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rdflib-max", type=int, default=100_000, help="largest rdflib load")
    args = parser.parse_args()
    runs = args.runs or (1 if args.quick else 3)
    sizes = [int(s) for s in args.load_sizes.split(",") if s]
    print(f"# load_bench: {runs} run(s) per command, medians; peak RSS of the process tree\n")
    if sizes:
        print("## Load\n" + load_table(sizes, runs, args.timeout, args.rdflib_max) + "\n")
    sizes = [int(s) for s in args.validate_sizes.split(",") if s]
    if sizes:
        print("## Validate\n" + validate_table(sizes, runs, args.timeout))
    print(f"\n(data: aigraph synth --seed 1; repository {ROOT})")


if __name__ == "__main__":
    main()
