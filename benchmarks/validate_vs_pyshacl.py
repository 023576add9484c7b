"""Compare the wall time of `aigraph validate` with the pySHACL command line on the same data.

Each run is a whole process (start-up and imports included, as in CI and pre-commit). The two
commands are interleaved so that drift in machine load hits both alike; the table shows medians.

    python benchmarks/validate_vs_pyshacl.py                 # bundled ontology + data
    python benchmarks/validate_vs_pyshacl.py --runs 15
    python benchmarks/validate_vs_pyshacl.py --triples 10000 --triples 100000 --runs 5
    python benchmarks/validate_vs_pyshacl.py --generate 20000 /tmp/big.ttl   # write test data
    python benchmarks/validate_vs_pyshacl.py --synth /tmp/big.ttl \\
        --shapes tests/validation_fixtures/shapes.ttl \\
        --ontology tests/validation_fixtures/ontology.ttl

pySHACL gets the ontology files merged into one file (``-e``) and the data as one TriG file
holding all quads (pySHACL validates their union; SPARQL constraints still see named graphs). When ``--ontology`` is given,
`aigraph validate` has no option for it, so aigraph runs through a small inline runner that
calls ``aigraph.validation.validate.validate`` (same process start-up, same work).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from rdflib import Graph  # noqa: E402 - after the sys.path entry above

from aigraph import graph  # noqa: E402 - after the sys.path entry above
from aigraph.project import Project  # noqa: E402 - after the sys.path entry above
from aigraph.settings import Settings  # noqa: E402 - after the sys.path entry above

PYSHACL = Path(sys.executable).parent / "pyshacl"

INLINE = """\
import sys
from pathlib import Path
from aigraph import graph
from aigraph.validation.report import render
from aigraph.validation.validate import validate
shapes, ontology, *paths = sys.argv[1:]
report = validate(graph.load(None, paths), shapes=Path(shapes), ontology=[Path(ontology)])
sys.stdout.write(render(report, "text"))
sys.exit(0 if report.conforms else 1)
"""


def merge(paths: list[Path], target: Path) -> int:
    """Write the union of all triples of ``paths`` to ``target`` as Turtle; return its size."""
    loaded = graph.load(Settings(), paths)
    merged = Graph()
    for prefix, namespace in loaded.dataset.namespaces():
        merged.bind(prefix, namespace, override=False)
    for triple in loaded.dataset.triples((None, None, None)):
        merged.add(triple)
    merged.serialize(target, format="turtle")
    return len(merged)


def merge_quads(paths: list[Path], target: Path) -> int:
    """Write all quads of ``paths`` to ``target`` as one TriG file (named graphs kept)."""
    loaded = graph.load(Settings(), paths)
    loaded.dataset.serialize(target, format="trig")
    return len(set(loaded.dataset.triples((None, None, None))))


def generate(count: int, target: Path) -> None:
    """Write ``count`` people and grants in the vocabulary of the validation test fixtures."""
    lines = [
        "@prefix ex: <https://example.org/fx/> .",
        "@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .",
        "",
    ]
    for i in range(count):
        name = "" if i % 97 == 0 else f' ; ex:name "Person {i}"'  # about 1% violations
        lines.append(f'ex:p{i} a ex:Person{name} ; ex:email "p{i}@example.org" .')
        lines.append(
            f"ex:g{i} a ex:Grant ; ex:funder ex:p{i} ;\n"
            f'    ex:amount [ a ex:Amount ; ex:value "{i}.5"^^xsd:decimal ; ex:currency "SEK" ] .'
        )
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {target} ({count * 9} triples)")


def timed(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=ROOT)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1):
        sys.exit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return elapsed


def synthesize(triples: int, target: Path, env: dict[str, str]) -> Path:
    """Write ``aigraph synth`` data of about ``triples`` triples to ``target``."""
    command = [sys.executable, "-m", "aigraph", "synth", "--triples", str(triples)]
    subprocess.run([*command, "-o", str(target)], env=env, cwd=ROOT, check=True)
    return target


def compare(
    data: list[Path], shapes: Path, ontology: list[Path], args: argparse.Namespace, tmp: Path
) -> tuple[int, dict[str, list[float]]]:
    """Time the commands interleaved on ``data``; return the triple count and the times."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    ont_file, data_file = tmp / "ontology.ttl", tmp / "data.trig"
    merge(ontology, ont_file)
    triples = merge_quads(data, data_file)
    if args.ontology:
        aigraph = [sys.executable, "-c", INLINE, str(shapes), str(ont_file), *map(str, data)]
    else:
        aigraph = [sys.executable, "-m", "aigraph", "validate", "--shapes", str(shapes)]
        aigraph += list(map(str, data))
    commands = {
        "aigraph validate": aigraph,
        "pyshacl": [
            str(PYSHACL),
            *("-s", str(shapes), "-e", str(ont_file), "-a", "-i", "none"),
            str(data_file),
        ],
        "import floor": [sys.executable, "-c", "import pyshacl"],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.runs):
        for name, command in commands.items():
            times[name].append(timed(command, env))
    return triples, times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs of each command (default 7)")
    parser.add_argument("--synth", type=Path, help="validate this data file instead")
    parser.add_argument(
        "--triples",
        type=int,
        action="append",
        help="validate `aigraph synth` data of this size (repeatable: --triples 10000 "
        "--triples 100000)",
    )
    parser.add_argument("--shapes", type=Path, help="shapes file (default: the bundled shapes)")
    parser.add_argument("--ontology", type=Path, action="append", help="ontology file(s)")
    parser.add_argument("--generate", nargs=2, metavar=("COUNT", "FILE"), help="write test data")
    args = parser.parse_args()
    if args.generate:
        generate(int(args.generate[0]), Path(args.generate[1]))
        return
    ontology = args.ontology or [p for p in Project.bundled().declarations() if p.is_file()]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        shapes = args.shapes
        if shapes is None:  # the bundled shapes validate uses, as one file for pyshacl -s
            shapes = Path(tmp) / "shapes.ttl"
            merge(list(Project.bundled().validation_shapes()), shapes)
        if args.triples:
            sets = [[synthesize(n, Path(tmp) / f"synth-{n}.trig", env)] for n in args.triples]
        else:
            sets = [[args.synth] if args.synth else list(graph.default_paths())]
        for data in sets:
            triples, times = compare(data, shapes, ontology, args, Path(tmp))
            print(f"data: {', '.join(str(p) for p in data)} ({triples} triples)")
            print(f"{'command':<18}{'median s':>10}{'min s':>10}{'max s':>10}{'runs':>6}")
            for name, values in times.items():
                print(
                    f"{name:<18}{statistics.median(values):>10.3f}{min(values):>10.3f}"
                    f"{max(values):>10.3f}{len(values):>6}"
                )
            ours, theirs = (statistics.median(times[k]) for k in ("aigraph validate", "pyshacl"))
            print(f"ratio aigraph/pyshacl (median): {ours / theirs:.2f}\n")
            rows.append((triples, args.runs, ours, theirs))
    print("| triples | runs | aigraph validate | pyshacl CLI | ratio | speed-up |")
    print("|---------|------|------------------|-------------|-------|----------|")
    for triples, runs, ours, theirs in rows:
        print(
            f"| {triples:,} | {runs} | {ours:.2f} s | {theirs:.2f} s | {ours / theirs:.2f} "
            f"| {theirs / ours:.1f}x |"
        )


if __name__ == "__main__":
    main()
