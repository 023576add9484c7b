"""One source of data: in memory, an on-disk store and a remote backend answer alike.

The statistics, the neighbourhood of an IRI and the ontology graph have one implementation
(SPARQL through the engine), so the three sources must give the same answers for the bundled
data; what differs is only what a mode can offer (dumps, files, prefixes, its fingerprint).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from rdflib import BNode, Dataset, URIRef

from aigraph import graph, source
from aigraph.core import Aigraph
from aigraph.pages import resource as resources
from aigraph.settings import Settings
from aigraph.source import InMemorySource, RemoteSource, StoreSource
from oxigraph_server import bundled_server, load_bundled

IRIS = (
    "/id/organisation/vinnova",
    "/id/person/martin-svensson",
    "/id/grant/vinnova-ai-innovation-of-sweden-2020-2024",
    "/graph/ontology",
    "/id/organisation/nobody",
)


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory) -> str:
    directory = tmp_path_factory.mktemp("source") / "store"
    load_bundled("--store", directory)
    return str(directory)


@pytest.fixture(scope="module")
def backend(tmp_path_factory) -> Iterator[str]:
    with bundled_server(tmp_path_factory.mktemp("source-oxigraph")) as query:
        yield query


@pytest.fixture(scope="module")
def opened(store_dir, backend) -> Iterator[dict[str, Aigraph]]:
    """The bundled data served from each source, with a user row limit far below its size."""
    settings = Settings(executors=1, max_rows=10, validate=False)
    cores = {
        "memory": Aigraph.open(settings),
        "store": Aigraph.open(settings.with_values(store=store_dir)),
        "backend": Aigraph.open(settings.with_values(backend=backend)),
    }
    yield cores
    for core in cores.values():
        core.close()


def quads(dataset: Dataset) -> list[str]:
    """The quads of a dataset as sorted strings, blank nodes made equal."""

    def term(value: object) -> str:
        return "_:b" if isinstance(value, BNode) else repr(value)

    return sorted(
        " ".join(term(t) for t in quad) for quad in dataset.quads((None, None, None, None))
    )


def test_open_picks_the_source_the_settings_name(opened) -> None:
    assert isinstance(opened["memory"].source, InMemorySource)
    assert isinstance(opened["store"].source, StoreSource)
    assert isinstance(opened["backend"].source, RemoteSource)


def test_every_source_gives_the_same_statistics(opened) -> None:
    memory = opened["memory"].facts
    assert memory.triples > 10 and memory.classes and memory.named_graphs
    assert memory.examples and memory.temporal_start is not None
    assert opened["store"].facts == memory
    assert opened["backend"].facts == memory


def test_every_source_gives_the_same_triple_count(opened) -> None:
    counts = {mode: core.triple_count for mode, core in opened.items()}
    assert counts["memory"] > 10
    assert counts["store"] == counts["memory"] == counts["backend"], counts


@pytest.mark.parametrize("path", IRIS)
def test_every_source_gives_the_same_neighbourhood(opened, path) -> None:
    """What a page of ``path`` shows is the same from each source, and the neighbourhood
    fetched by SPARQL is the same through each source's engine (memory's included)."""
    memory = opened["memory"]
    iri = URIRef(f"{memory.settings.base}{path}")
    shown = {mode: quads(resources.describe(core.dataset_around(iri), iri, core.settings.base))
             for mode, core in opened.items()}  # fmt: skip
    assert shown["memory"] or path.endswith("nobody")
    assert shown["store"] == shown["memory"], path
    assert shown["backend"] == shown["memory"], path
    fetched = {mode: quads(source.around(core.internal_query, iri, core.settings.base))
               for mode, core in opened.items()}  # fmt: skip
    assert any(f"{memory.settings.base}/graph/ontology" in quad for quad in fetched["memory"])
    assert quads(opened["store"].dataset_around(iri)) == fetched["memory"], path
    assert fetched["store"] == fetched["memory"] == fetched["backend"], path


def test_every_source_gives_the_same_ontology(opened) -> None:
    memory = opened["memory"]
    name = URIRef(f"{memory.settings.base}/graph/ontology")

    def ontology_graph(core: Aigraph) -> list[str]:
        return sorted(q for q in quads(core.ontology_dataset) if q.endswith(repr(name)))

    expected = ontology_graph(memory)
    assert len(expected) > 10
    assert ontology_graph(opened["store"]) == expected
    assert ontology_graph(opened["backend"]) == expected
    assert quads(source.ontology(memory.internal_query, memory.settings.base)) == expected


def test_every_source_knows_what_occurs_in_the_data(opened) -> None:
    for core in opened.values():
        base = core.settings.base
        assert core.exists(URIRef(f"{base}/id/organisation/vinnova"))
        assert core.exists(URIRef(f"{base}/graph/ontology"))
        assert not core.exists(URIRef(f"{base}/id/organisation/nobody"))
        assert not core.exists(URIRef("http://x/a> } UNION { ?s ?p ?o"))


def test_only_the_data_held_in_memory_offers_dumps(opened) -> None:
    memory = opened["memory"].dumps()
    assert memory is not None
    assert sum(1 for _ in memory.quads((None, None, None, None))) == opened["memory"].triple_count
    assert opened["store"].dumps() is None
    assert opened["backend"].dumps() is None


def test_what_each_source_knows_of_itself(opened) -> None:
    memory, store, remote = opened["memory"], opened["store"], opened["backend"]
    declared = {p: ns for p, ns in memory.prefixes.items() if ns.startswith(memory.settings.base)}
    assert declared and declared.items() <= store.prefixes.items()
    # The backend holds the bundled data, whose files are here: their prefixes are the store's.
    assert remote.prefixes == store.prefixes
    assert memory.source.files and not store.source.files and not remote.source.files
    assert len({memory.version, store.version, remote.version}) == 3


def test_a_backend_takes_the_prefixes_of_the_data_files_here_else_none(tmp_path) -> None:
    data = tmp_path / "data.ttl"
    data.write_text(
        "@prefix ex: <http://example.org/ns#> .\n@prefix ns1: <http://example.org/gen#> .\n"
        "ex:a ex:b ex:c .\n@prefix late: <http://example.org/late#> .\nex:a ex:b late:c .\n"
    )
    backend = Settings(backend="http://127.0.0.1:9/q")
    # Only the declarations before the first triple are read; rdflib's generated ns1 is no prefix.
    assert RemoteSource(backend.with_values(data=(str(data),))).prefixes == {
        "ex": "http://example.org/ns#"
    }
    gone = backend.with_values(data=(str(tmp_path / "gone"),))
    assert RemoteSource(gone).prefixes == {}  # no files here: nothing is claimed


def test_only_a_store_served_under_another_base_warns(opened, store_dir) -> None:
    assert all(core.source.warnings == () for core in opened.values())
    other = Settings(store=store_dir, base="http://127.0.0.1:8000/other")
    assert StoreSource(other).warnings and "--base" in StoreSource(other).warnings[0]
    assert InMemorySource(other, graph.LoadedData(graph.new_dataset(), ())).warnings == ()
    assert RemoteSource(other.with_values(store="", backend="http://127.0.0.1:9/q")).warnings == ()
