"""aigraph's own queries: their own limits, never the user's row limit; the IRI is bound."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from rdflib import BNode, Dataset, Graph, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import VOID

from aigraph import graph
from aigraph.core import Aigraph
from aigraph.engine.oxigraph_engine import OxigraphEngine
from aigraph.engine.rdflib_engine import RdflibEngine
from aigraph.engine.remote import RemoteEngine
from aigraph.errors import BadRequest, ResultTooLarge
from aigraph.model import QueryRequest, QueryResult
from aigraph.settings import Settings
from aigraph.web import create_app
from oxigraph_server import bundled_server, load_bundled

VINNOVA = "/id/organisation/vinnova"
PAGES = (
    VINNOVA,
    "/id/grant/vinnova-ai-innovation-of-sweden-2020-2024",
    "/id/person/darja-isaksson",
)
#: An "IRI" that, pasted into query text, would turn the query into "every quad".
INJECTION = "http://x/a> } UNION { ?s ?p ?o"
SMALL = 10


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("internal") / "store"
    load_bundled("--store", directory)
    return directory


@pytest.fixture(scope="module")
def backend(tmp_path_factory) -> Iterator[str]:
    with bundled_server(tmp_path_factory.mktemp("internal-oxigraph")) as query:
        yield query


@pytest.fixture(scope="module", params=["memory", "store", "backend"])
def small(request) -> Iterator[Aigraph]:
    """An aigraph whose user row limit (10) is far below what its pages and statistics need."""
    mode = request.param
    settings = Settings(executors=1, max_rows=SMALL, validate=False)
    if mode == "store":
        settings = settings.with_values(store=str(request.getfixturevalue("store_dir")))
    elif mode == "backend":
        settings = settings.with_values(backend=request.getfixturevalue("backend"))
    aigraph = Aigraph.open(settings)
    yield aigraph
    aigraph.close()


@pytest.fixture(scope="module")
def stored_default(store_dir) -> Iterator[Aigraph]:
    aigraph = Aigraph.open(Settings(store=str(store_dir), executors=1))
    yield aigraph
    aigraph.close()


def quads(dataset: Dataset) -> list[str]:
    """The quads of a dataset as sorted strings, blank nodes made equal."""

    def term(value: object) -> str:
        return "_:b" if isinstance(value, BNode) else repr(value)

    return sorted(
        " ".join(term(t) for t in quad) for quad in dataset.quads((None, None, None, None))
    )


def test_a_page_shows_every_fact_whatever_max_rows_says(small, core) -> None:
    """More than 10 quads surround the resource; its page still shows all of them."""
    iri = URIRef(f"{small.settings.base}{VINNOVA}")
    described = core.query(
        "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } "
        f"FILTER(?s = <{iri}> || ?o = <{iri}>) }}"
    ).rows[0]["n"]
    assert int(described) > SMALL
    small_client = create_app(core=small).test_client()
    full_client = create_app(core=core).test_client()
    for path in PAGES:
        got = small_client.get(path, headers={"Accept": "text/html"})
        want = full_client.get(path, headers={"Accept": "text/html"})
        assert got.status_code == 200, got.get_data(as_text=True)[:300]
        assert got.data == want.data, path
        turtle = small_client.get(path, headers={"Accept": "text/turtle"})
        expected = full_client.get(path, headers={"Accept": "text/turtle"})
        got_graph = Graph().parse(data=turtle.data, format="turtle")
        assert len(got_graph) > SMALL or path != VINNOVA
        assert isomorphic(got_graph, Graph().parse(data=expected.data, format="turtle")), path


def test_the_surroundings_equal_those_with_the_default_limit(store_dir, stored_default) -> None:
    small = Aigraph.open(Settings(store=str(store_dir), executors=1, max_rows=SMALL))
    try:
        iri = URIRef(f"{small.settings.base}{VINNOVA}")
        got, want = quads(small.dataset_around(iri)), quads(stored_default.dataset_around(iri))
        assert len(got) > SMALL
        assert got == want
    finally:
        small.close()


def partitions(client: Any) -> dict[str, set[tuple[str, str]]]:
    """The class and property partitions of the VoID description, with their counts."""
    void = client.get("/.well-known/void", headers={"Accept": "text/turtle"})
    assert void.status_code == 200, void.get_data(as_text=True)[:300]
    g = Graph().parse(data=void.data, format="turtle")
    found: dict[str, set[tuple[str, str]]] = {"classes": set(), "properties": set()}
    for part in g.objects(None, VOID.classPartition):
        found["classes"].add((str(g.value(part, VOID["class"])), str(g.value(part, VOID.entities))))
    for part in g.objects(None, VOID.propertyPartition):
        found["properties"].add(
            (str(g.value(part, VOID.property)), str(g.value(part, VOID.triples)))
        )
    return found


def test_statistics_equal_those_with_the_default_limit(small, core) -> None:
    """VoID/DCAT/SD statistics lose no class or property to the user's row limit."""
    assert len(core.facts.classes) > SMALL and len(core.facts.properties) > SMALL
    assert small.facts.classes == core.facts.classes
    assert small.facts.properties == core.facts.properties
    assert small.facts.vocabularies == core.facts.vocabularies
    assert small.facts.named_graphs == core.facts.named_graphs
    assert small.facts.triples == core.facts.triples
    assert small.facts.labels == core.facts.labels
    got = partitions(create_app(core=small).test_client())
    want = partitions(create_app(core=core).test_client())
    assert len(got["classes"]) > SMALL and len(got["properties"]) > SMALL
    assert got == want


def test_a_cut_internal_query_is_an_error_and_is_logged(store_dir, caplog) -> None:
    """If aigraph's own limit is still too small, the page says so: never a partial page."""
    aigraph = Aigraph.open(Settings(store=str(store_dir), executors=1, internal_max_rows=5))
    try:
        iri = URIRef(f"{aigraph.settings.base}{VINNOVA}")
        with caplog.at_level(logging.WARNING, logger="aigraph"):
            with pytest.raises(ResultTooLarge) as caught:
                aigraph.dataset_around(iri)
        assert "internal_max_rows" in caught.value.message
        assert any("internal_max_rows" in r.getMessage() for r in caplog.records)
        with pytest.raises(ResultTooLarge):
            _ = aigraph.facts
        page = create_app(core=aigraph).test_client().get(VINNOVA, headers={"Accept": "text/html"})
        assert page.status_code == 503
        assert "internal_max_rows" in page.get_data(as_text=True)
    finally:
        aigraph.close()


def test_internal_queries_have_their_own_limits(store_dir) -> None:
    aigraph = Aigraph.open(
        Settings(
            store=str(store_dir),
            executors=1,
            max_rows=SMALL,
            query_timeout=1.0,
            internal_max_rows=54321,
            internal_timeout=7.0,
        )
    )
    seen = Recorder(aigraph.engine)
    aigraph.engine = seen  # type: ignore[assignment]
    try:
        aigraph.dataset_around(URIRef(f"{aigraph.settings.base}{VINNOVA}"))
        _ = aigraph.facts
        assert seen.requests
        assert {(r.max_rows, r.timeout) for r in seen.requests} == {(54321, 7.0)}
        user = aigraph.query("SELECT * WHERE { ?s ?p ?o }")
        assert user.truncated and user.limit == SMALL  # the user's limit is unchanged
    finally:
        seen.inner.close()


@dataclass
class Recorder:
    """An engine wrapper that keeps every request it passes on."""

    inner: Any
    requests: list[QueryRequest] = field(default_factory=list)

    def query(self, request: QueryRequest) -> QueryResult:
        self.requests.append(request)
        return self.inner.query(request)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_the_resource_iri_is_bound_never_pasted(stored_default) -> None:
    """The IRI reaches the engine as a bound variable; one that could break text finds nothing."""
    seen = Recorder(stored_default.engine)
    aigraph = Aigraph(
        stored_default.settings,
        stored_default.source,
        seen,  # type: ignore[arg-type]
        stored_default.named,
    )
    ontology = URIRef(f"{aigraph.settings.base}/graph/ontology")
    odd = ["http://x/it's", "http://x/a%20b%7D"]
    for iri in (f"{aigraph.settings.base}{VINNOVA}", *odd):
        seen.requests.clear()
        described = aigraph.dataset_around(URIRef(iri))
        assert seen.requests
        assert all(iri not in r.text for r in seen.requests), iri
        assert any(r.bindings.get("iri") == URIRef(iri) for r in seen.requests), iri
        if iri in odd:  # nothing but the ontology, which every page gets
            assert {g for _, _, _, g in described.quads((None, None, None, None))} == {ontology}
    client = create_app(core=aigraph).test_client()
    for iri in (INJECTION, 'http://x/a"b', "http://x/a b", "http://x/a}b"):
        described = aigraph.dataset_around(URIRef(iri))
        assert {g for _, _, _, g in described.quads((None, None, None, None))} <= {ontology}, iri
        assert all(iri not in r.text for r in seen.requests), iri
        path = "/id/" + quote(iri.removeprefix("http://x/"), safe="")
        assert client.get(path, headers={"Accept": "text/html"}).status_code == 404, path


def engines(backend: str) -> list[Any]:
    dataset = graph.load(Settings()).dataset
    return [OxigraphEngine(dataset), RdflibEngine(dataset), RemoteEngine(backend)]


def test_every_engine_binds_an_impossible_iri_to_nothing(backend) -> None:
    """Bound, such an IRI matches nothing or is refused (400); it never rewrites the query."""
    for engine in engines(backend):
        request = QueryRequest(
            "SELECT ?iri ?p ?o WHERE { ?iri ?p ?o }", bindings={"iri": URIRef(INJECTION)}
        )
        try:
            result = engine.query(request)
        except BadRequest:
            continue
        assert result.rows == (), engine.name
