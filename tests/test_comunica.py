"""Comunica, an independent Linked Data and SPARQL client, against a live server.

Comunica (npm ``@comunica/query-sparql`` 4.x, pinned in ``tests/comunica/package-lock.json``;
``run.py test`` installs it with ``npm ci``) dereferences resource IRIs as a Linked Data client
does, preferring N-Quads, and queries ``/sparql`` as a SPARQL 1.1 endpoint. The server mints
its IRIs under its own address (``--base``), so every IRI dereferences on it.
"""

from __future__ import annotations

import json
import socket
import subprocess
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from rdflib import BNode, Dataset, Literal, URIRef
from rdflib.term import Node

from conftest import LiveServer

COMUNICA = (
    Path(__file__).resolve().parent / "comunica" / "node_modules" / ".bin" / "comunica-sparql"
)
RESULTS_JSON = "application/sparql-results+json"
#: What Comunica's link-traversing sources ask for (N-Quads first).
NQUADS_FIRST = (
    "application/n-quads,application/trig;q=0.95,application/ld+json;q=0.9,text/turtle;q=0.6"
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """A live server whose IRIs are minted under its own address (validation is tested elsewhere)."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    live = LiveServer("--port", str(port), "--base", url)
    assert live.url == url, live.output
    yield url
    live.stop()


def comunica(source: str, query: str) -> list[dict[str, dict[str, str]]]:
    """Run the ``comunica-sparql`` command line and return its SPARQL JSON bindings."""
    assert COMUNICA.is_file(), f"{COMUNICA} is missing: run `npm ci` in tests/comunica"
    done = subprocess.run(
        [str(COMUNICA), source, query, "-t", RESULTS_JSON],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)["results"]["bindings"]


def _term(value: dict[str, str]) -> Node:
    if value["type"] == "uri":
        return URIRef(value["value"])
    if value["type"] == "bnode":
        return BNode()
    return Literal(value["value"], lang=value.get("xml:lang"), datatype=value.get("datatype"))


def _key(triple: tuple[Node, Node, Node]) -> tuple[str, ...]:
    """Compare triples with every blank node as one and the same node."""
    return tuple("_:b" if isinstance(t, BNode) else t.n3() for t in triple)


def _default_graph(url: str, accept: str) -> list[tuple[Node, Node, Node]]:
    """Fetch ``url`` and return the triples rdflib reads in the default graph of the answer."""
    request = urllib.request.Request(url, headers={"Accept": accept})
    with urllib.request.urlopen(request, timeout=30) as answer:
        media_type = answer.headers.get_content_type()
        data = answer.read()
    dataset = Dataset()
    fmt = {"application/n-quads": "nquads", "application/trig": "trig",
           "application/ld+json": "json-ld", "text/turtle": "turtle"}[media_type]  # fmt: skip
    dataset.parse(data=data, format=fmt)
    return list(dataset.default_graph)


def _curl_count(server: str, query: str) -> int:
    done = subprocess.run(
        ["curl", "-sS", "--fail", "-H", f"Accept: {RESULTS_JSON}",
         "--data-urlencode", f"query={query}", f"{server}/sparql"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return int(json.loads(done.stdout)["results"]["bindings"][0]["n"]["value"])


@pytest.mark.parametrize(
    "path", ["/id/organisation/vinnova", "/id/grant/vinnova-ai-innovation-of-sweden-2020-2024",
             "/graph/grant"]
)  # fmt: skip
def test_dereferenced_resource_shows_its_statements(server: str, path: str) -> None:
    """A client reading the default graph of the description (N-Quads here) sees every fact."""
    rows = comunica(f"{server}{path}", "SELECT * WHERE { ?s ?p ?o }")
    seen = sorted(_key((_term(r["s"]), _term(r["p"]), _term(r["o"]))) for r in rows)
    expected = sorted(_key(t) for t in _default_graph(f"{server}{path}", NQUADS_FIRST))
    assert seen, f"Comunica found no statements at {path}"
    assert seen == expected
    # The same statements as the Turtle description, which has no graphs at all.
    assert sorted(set(seen)) == sorted(
        {_key(t) for t in _default_graph(f"{server}{path}", "text/turtle")}
    )
    iri = URIRef(f"{server}{path}")
    assert any(r["s"]["value"] == str(iri) for r in rows), rows[:5]


def test_dereferenced_resource_keeps_its_provenance(server: str) -> None:
    """The named graphs still say which graph (and so which sentence) each fact comes from."""
    rows = comunica(
        f"{server}/id/organisation/vinnova",
        f"SELECT ?g ?sentence WHERE {{ GRAPH ?g {{ <{server}/id/organisation/vinnova> ?p ?o }}"
        f" ?g <{server}/ontology#sourceSentence> ?sentence }}",
    )
    graphs = {r["g"]["value"] for r in rows}
    assert f"{server}/graph/vinnova" in graphs, graphs
    assert all(r["sentence"]["value"] for r in rows)


@pytest.mark.parametrize(
    "query",
    [
        "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }",
        "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }",
        "SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s a <http://www.w3.org/ns/org#FormalOrganization> }",
    ],
)
def test_sparql_source_counts_as_curl(server: str, query: str) -> None:
    rows = comunica(f"sparql@{server}/sparql", query)
    assert len(rows) == 1, rows
    counted = int(rows[0]["n"]["value"])
    assert counted == _curl_count(server, query) > 0


def test_sparql_source_answers_a_join(server: str) -> None:
    """Comunica may split a query into patterns of its own: the answers stay the same."""
    query = (
        "SELECT ?label WHERE { ?grant <http://schema.org/funder> ?funder . "
        "?funder <http://www.w3.org/2000/01/rdf-schema#label> ?label FILTER(lang(?label) = 'en') }"
    )
    rows = comunica(f"sparql@{server}/sparql", query)
    direct = urllib.request.Request(
        f"{server}/sparql?" + urllib.parse.urlencode({"query": query}),
        headers={"Accept": RESULTS_JSON},
    )
    with urllib.request.urlopen(direct, timeout=30) as answer:
        expected = json.load(answer)["results"]["bindings"]
    assert sorted(r["label"]["value"] for r in rows) == sorted(
        r["label"]["value"] for r in expected
    )
    assert "Vinnova" in {r["label"]["value"] for r in rows}
