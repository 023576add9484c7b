"""HTTP latency and throughput of `aigraph serve` next to Oxigraph server and rdflib-endpoint.

All three serve the same synthetic TriG file (``aigraph synth``) with the union of the named
graphs as the default graph, and get the same queries over a keep-alive connection
(POST ``application/sparql-query``; SELECT as SPARQL JSON, CONSTRUCT/DESCRIBE as N-Triples).
Latency runs are interleaved (query by query, server by server, rotating the order) so that
machine noise hits all alike; the tables show medians and ratios. Throughput is measured with
``--clients`` client *processes*, each on its own keep-alive connection; only answered
requests (200) count, and the failures are shown beside them.

    python benchmarks/http_bench.py                    # 1 000 and 100 000 triples
    python benchmarks/http_bench.py --quick            # fewer repeats, shorter throughput runs
    python benchmarks/http_bench.py --sizes 1000 --repeat 30 --servers aigraph,oxigraph
    python benchmarks/http_bench.py --quick --servers aigraph,oxigraph --old a88cc9f  # before/after

`aigraph serve` is started with ``--no-validate`` (synthetic data conforms; ``aigraph validate``
checks it separately, and validating 100 000 triples would only lengthen the start) and with a
row limit above every result here, so that it returns full results like the others. aigraph and
Oxigraph stop queries after 30 s (rdflib-endpoint has no time limit).
A (server, query) pair whose warm-up run takes over ``--skip-after`` seconds is skipped (noted),
and slow pairs stop repeating once they have spent ``--budget`` seconds (at least 1 sample).
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    NTRIPLES,
    ROOT,
    SELECT_JSON,
    Client,
    Server,
    fmt,
    geomean,
    median,
    old_tree,
    result_size,
    running,
    start_aigraph,
    start_oxigraph,
    start_rdflib_endpoint,
    start_tree,
    subjects_of,
    synth_file,
    table,
)

PREFIXES = """PREFIX aig: <https://w3id.org/aigraph/ontology#>
PREFIX org: <http://www.w3.org/ns/org#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX schema: <http://schema.org/>
"""
STARTERS: dict[str, Callable[[Path], Server]] = {
    "aigraph": lambda data: start_aigraph(data, "--max-rows", "10000000", "--timeout", "30"),
    "oxigraph": start_oxigraph,
    "rdflib-endpoint": start_rdflib_endpoint,
}


def named_queries() -> list[tuple[str, str, str]]:
    return [
        (f"named: {p.stem}", p.read_text(encoding="utf-8"), SELECT_JSON)
        for p in sorted((ROOT / "queries").glob("*.rq"))
    ]


def shape_queries(subject: str) -> list[tuple[str, str, str]]:
    """The query shapes of the brief, over the synthetic data; ``subject`` is an initiative."""
    shapes = {
        "lookup by IRI": f"SELECT ?p ?o WHERE {{ <{subject}> ?p ?o }}",
        "regex FILTER": 'SELECT ?s ?l WHERE { ?s rdfs:label ?l FILTER(REGEX(STR(?l), "nod i Um", "i")) }',
        "aggregate GROUP BY": "SELECT ?type (COUNT(?s) AS ?n) WHERE { ?s a ?type } GROUP BY ?type",
        "OPTIONAL": (
            "SELECT ?g ?f ?l WHERE { ?g a schema:MonetaryGrant ; schema:funder ?f "
            'OPTIONAL { ?f rdfs:label ?l FILTER(LANG(?l) = "sv") } }'
        ),
        "property path": "SELECT DISTINCT ?person ?org WHERE { ?person org:holds/org:postIn|^org:heldBy/org:postIn ?org }",
        "ORDER BY LIMIT": (
            "SELECT ?g ?v WHERE { ?g schema:amount/schema:value ?v } ORDER BY DESC(?v) ?g LIMIT 10"
        ),
        "COUNT": "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }",
    }
    queries = [(name, PREFIXES + text, SELECT_JSON) for name, text in shapes.items()]
    queries.append(
        (
            "CONSTRUCT",
            PREFIXES + "CONSTRUCT { ?n rdfs:label ?l } WHERE "
            "{ ?n a aig:RegionalNode ; rdfs:label ?l }",
            NTRIPLES,
        )
    )
    queries.append(("DESCRIBE", f"DESCRIBE <{subject}>", NTRIPLES))
    return queries


def measure(client: Client, text: str, accept: str) -> tuple[float, int, int]:
    started = time.perf_counter()
    status, body = client.query(text, accept)
    elapsed = time.perf_counter() - started
    return elapsed, status, (result_size(body, accept) if status == 200 else -1)


def latency(servers: list[Server], queries, repeat: int, skip_after: float, budget: float):
    """Return ``{(query, server): [seconds]}``, the result sizes, and notes on skipped pairs."""
    clients = {s.name: Client(s, timeout=skip_after) for s in servers}
    times: dict[tuple[str, str], list[float] | None] = {}
    sizes: dict[tuple[str, str], int] = {}
    notes: list[str] = []
    for name, text, accept in queries:  # warm-up, result sizes, skips
        for server in servers:
            try:
                elapsed, status, size = measure(clients[server.name], text, accept)
            except TimeoutError:
                notes.append(f"{server.name}: '{name}' took over {skip_after:.0f} s; skipped")
                clients[server.name] = recover(server, skip_after)
                continue
            sizes[(name, server.name)] = size
            if status != 200:
                notes.append(f"{server.name}: '{name}' answered {status}; skipped")
            elif elapsed > skip_after:
                notes.append(f"{server.name}: '{name}' took {elapsed:.1f} s; skipped")
            else:
                times[(name, server.name)] = []
    for round_ in range(repeat):
        order = servers[round_ % len(servers) :] + servers[: round_ % len(servers)]
        for name, text, accept in queries:
            for server in order:
                samples = times.get((name, server.name))
                if samples is None or (samples and sum(samples) > budget):
                    continue
                try:
                    samples.append(measure(clients[server.name], text, accept)[0])
                except TimeoutError:
                    notes.append(
                        f"{server.name}: '{name}' timed out after {len(samples)} runs; "
                        "the median uses those"
                    )
                    times[(name, server.name)] = samples + [skip_after] if samples else None
                    clients[server.name] = recover(server, skip_after)
    for client in clients.values():
        client.close()
    return times, sizes, notes


def recover(server: Server, wait: float) -> Client:
    """Wait until a server stuck on a slow query answers again; return a fresh client."""
    deadline = time.monotonic() + 20 * wait
    while time.monotonic() < deadline:
        client = Client(server, timeout=wait)
        try:
            if client.query("ASK { }", SELECT_JSON)[0] == 200:
                return client
        except (TimeoutError, OSError):
            client.close()
    raise RuntimeError(f"{server.name} did not recover")


def _client_loop(args: tuple[str, list[tuple[str, str]], float, int]) -> tuple[int, int]:
    endpoint, mix, seconds, seed = args
    client, rng = Client(endpoint, timeout=120), random.Random(seed)
    done = failed = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        text, accept = rng.choice(mix)
        try:
            status, _ = client.query(text, accept)
        except OSError:  # a reset connection: count it as a failed request, then reconnect
            client.close()
            client = Client(endpoint, timeout=120)
            status = 0
        done += 1
        failed += status != 200
    client.close()
    return done, failed


def throughput(
    server: Server, mix: list[tuple[str, str]], clients: int, seconds: float
) -> tuple[float, int]:
    """Return the successful requests per second of ``clients`` processes sending queries of
    ``mix``, and how many requests failed (not 200, or a reset connection).

    Only answered requests count: a server that drops connections under load is not faster.
    """
    with multiprocessing.get_context("fork").Pool(clients) as pool:
        started = time.perf_counter()
        results = pool.map(
            _client_loop, [(server.endpoint, mix, seconds, i) for i in range(clients)]
        )
        elapsed = time.perf_counter() - started
    failed = sum(f for _, f in results)
    if failed:
        print(f"  warning: {server.name}: {failed} failed requests in the throughput run")
    return sum(d - f for d, f in results) / elapsed, failed


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a and b else None


def latency_table(queries, names, times, sizes) -> tuple[str, dict[str, float]]:
    rows, medians = [], {n: [] for n in names}
    for query, *_ in queries:
        ms = {n: median(times[(query, n)]) * 1000 if times.get((query, n)) else None for n in names}
        for n in names:
            if ms[n] is not None and all(ms[m] is not None for m in names):
                medians[n].append(ms[n])
        counts = {sizes.get((query, n)) for n in names if (query, n) in sizes}
        flag = (
            ""
            if len(counts) <= 1
            else " (!sizes " + "/".join(str(sizes.get((query, n))) for n in names) + ")"
        )
        rows.append(
            [
                query + flag,
                *(fmt(ms[n]) for n in names),
                fmt(ratio(ms["aigraph"], ms.get("rdflib-endpoint"))),
                fmt(ratio(ms["aigraph"], ms.get("oxigraph"))),
            ]
        )
    means = {n: geomean(v) for n, v in medians.items()}
    rows.append(
        [
            "geometric mean (queries all servers answered)",
            *(fmt(means[n]) for n in names),
            fmt(ratio(means["aigraph"], means.get("rdflib-endpoint"))),
            fmt(ratio(means["aigraph"], means.get("oxigraph"))),
        ]
    )
    headers = [
        "query",
        *(f"{n} ms" for n in names),
        "ratio vs rdflib-endpoint",
        "ratio vs oxigraph",
    ]
    return table(headers, rows), means


def run_size(triples: int, args) -> None:
    data = synth_file(triples, seed=1)
    subject = next(s for s in subjects_of(data, 200) if "/initiative/" in s)
    lookups = [
        (f"SELECT ?p ?o WHERE {{ <{s}> ?p ?o }}", SELECT_JSON) for s in subjects_of(data, 2000)
    ]
    queries = named_queries() + shape_queries(subject)
    starters = dict(STARTERS)
    if args.old_tree is not None:
        # The same server from an earlier commit, side by side: a before/after in one run.
        starters["aigraph-old"] = lambda data: start_tree(
            "aigraph-old",
            args.old_tree,
            "--data",
            str(data),
            "--max-rows",
            "10000000",
            "--timeout",
            "30",
            AIGRAPH_MAX_CLIENT_QUERIES="0",
        )
    names = [n for n in starters if n in args.servers or n == "aigraph-old"]
    if "aigraph" not in names:
        sys.exit("the aigraph server is always measured")
    with running(*(lambda n=n: starters[n](data) for n in names)) as servers:
        print(
            f"\n## {triples} triples ({data.name}); start-up incl. load: "
            + ", ".join(f"{s.name} {s.started_s:.1f} s" for s in servers)
        )
        times, sizes, notes = latency(servers, queries, args.repeat, args.skip_after, args.budget)
        text, means = latency_table(queries, names, times, sizes)
        print(text)
        for note in notes:
            print(f"note: {note}")
        light = [
            (q, a)
            for name, q, a in queries
            if not any(k in name for k in ("provenance", "COUNT", "named: funding"))
        ]
        rows = []
        for mix_name, mix in (
            ("random lookups", lookups),
            ("query mix (all but provenance/COUNT/funding)", light),
        ):
            measured = {s.name: throughput(s, mix, args.clients, args.seconds) for s in servers}
            rps = {n: r for n, (r, _) in measured.items()}
            rows.append(
                [
                    f"answered req/s (failed), {args.clients} clients, {mix_name}",
                    *(f"{fmt(rps.get(n), 1)} ({measured[n][1]})" for n in names),
                    fmt(ratio(rps["aigraph"], rps.get("rdflib-endpoint"))),
                    fmt(ratio(rps["aigraph"], rps.get("oxigraph"))),
                ]
            )
        print()
        print(table(["throughput", *names, "ratio vs rdflib-endpoint", "ratio vs oxigraph"], rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,100000", help="triples per run (comma separated)")
    parser.add_argument(
        "--repeat", type=int, help="timed runs per query and server (default 30; 15 with --quick)"
    )
    parser.add_argument(
        "--seconds", type=float, help="seconds per throughput run (default 10; 5 with --quick)"
    )
    parser.add_argument("--clients", type=int, default=4, help="client processes for throughput")
    parser.add_argument("--servers", default=",".join(STARTERS), help="servers to compare")
    parser.add_argument(
        "--skip-after", type=float, default=30.0, help="skip a query slower than this (s)"
    )
    parser.add_argument(
        "--budget", type=float, default=20.0, help="seconds spent per slow query and server"
    )
    parser.add_argument(
        "--quick", action="store_true", help="fewer repeats, shorter throughput runs"
    )
    parser.add_argument(
        "--old", help="also measure `aigraph serve` of this commit (or source folder)"
    )
    args = parser.parse_args()
    args.repeat = args.repeat or (15 if args.quick else 30)
    args.seconds = args.seconds or (5.0 if args.quick else 10.0)
    args.servers = args.servers.split(",")
    print(
        f"# http_bench: repeat={args.repeat}, throughput {args.clients} client processes x "
        f"{args.seconds:.0f} s; medians in ms"
    )
    with contextlib.ExitStack() as trees:
        args.old_tree = None
        if args.old:
            folder = Path(args.old)
            args.old_tree = folder if folder.is_dir() else trees.enter_context(old_tree(args.old))
        for size in (int(s) for s in args.sizes.split(",")):
            run_size(size, args)


if __name__ == "__main__":
    main()
