"""Uncached resource pages from data held in memory: the dataset itself, or fetched by SPARQL.

``source.InMemorySource`` hands its pages the dataset it holds; a store or a backend fetches a
resource's surroundings with one SPARQL query through the worker pool (``source.around``).
This prints the median time of an uncached page both ways, per engine, over the bundled data,
to show why the in-memory source keeps its fast path.

    python benchmarks/page_source_bench.py [--rounds 20]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

from rdflib import Dataset, URIRef

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import median, table

from aigraph import source
from aigraph.core import Aigraph
from aigraph.settings import Settings
from aigraph.web import create_app

PATHS = (
    "/id/organisation/vinnova",
    "/id/person/martin-svensson",
    "/id/grant/vinnova-ai-innovation-of-sweden-2020-2024",
)


def page_times(aigraph: Aigraph, rounds: int) -> list[float]:
    """Return the seconds of each uncached page request (the web cache keeps nothing)."""
    client = create_app(core=aigraph).test_client()
    times = []
    for _ in range(rounds):
        for path in PATHS:
            started = time.perf_counter()
            answer = client.get(path, headers={"Accept": "text/html"})
            times.append(time.perf_counter() - started)
            assert answer.status_code == 200, (path, answer.status_code)
    return times


def fetching(aigraph: Aigraph) -> Callable[[URIRef], Dataset]:
    """Return ``dataset_around`` as a store or a backend does it: by SPARQL, through the workers."""
    return lambda iri: source.around(aigraph.internal_query, iri, aigraph.settings.base)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    rows = []
    for engine in ("oxigraph", "rdflib"):
        aigraph = Aigraph.open(Settings(engine=engine, executors=2, cache_entries=0))
        try:
            held = median(page_times(aigraph, args.rounds))
            aigraph.dataset_around = fetching(aigraph)  # type: ignore[method-assign]
            fetched = median(page_times(aigraph, args.rounds))
        finally:
            aigraph.close()
        rows.append(
            [engine, f"{held * 1000:.1f} ms", f"{fetched * 1000:.1f} ms", f"{fetched / held:.1f}x"]
        )
    print(table(["engine", "dataset held (fast path)", "fetched by SPARQL", "ratio"], rows))


if __name__ == "__main__":
    main()
