"""The union default graph of a store, written or Oxigraph's: the same answers either way.

A store whose graphs share no triple is queried with Oxigraph's union of all graphs (nothing
written twice); one where a triple is in two graphs has the union written to its default graph,
as every store of format 1 had. These tests run the same queries on stores of both kinds, on a
format-1 store and on the in-memory engine, over data with and without triples shared between
graphs and with plain default-graph triples, and compare the multisets of answers.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import BNode, Literal, URIRef

from aigraph import graph, store
from aigraph.engine.oxigraph_engine import OxigraphEngine
from aigraph.model import DatasetSpec, QueryRequest, QueryResult

EX = "http://example.org/"
PREFIX = f"PREFIX ex: <{EX}>\n"

#: Graphs g1 and g2 and default-graph triples, sharing nothing; the .nt file adds a third graph.
CLEAN_TRIG = """
@prefix ex: <http://example.org/> .
ex:a ex:knows ex:b . ex:a a ex:T . ex:d ex:value 4 .
ex:g1 {
    ex:b ex:knows ex:c . ex:b ex:p ex:m . ex:a ex:value 1 , 2 . ex:a ex:p ex:m2 .
    ex:b a ex:T . ex:n ex:label [ ex:value 7 ; ex:knows ex:a ] .
}
ex:g2 {
    ex:c ex:knows ex:a . ex:m ex:q ex:z . ex:m2 ex:q ex:z2 . ex:b ex:value 3 . ex:c a ex:T .
}
"""
CLEAN_NT = (
    f"<{EX}c> <{EX}knows> <{EX}d> .\n<{EX}d> <{EX}p> <{EX}m> .\n"
    f'<{EX}d> <{EX}label> "d"@en .\n<{EX}z> <{EX}value> "5"^^<http://www.w3.org/2001/XMLSchema#integer> .\n'
)
#: Triples the clean data already has, in another graph: g1 and g2, g1 and the default graph,
#: g2 and the .nt file's graph.
SHARED_TRIG = """
@prefix ex: <http://example.org/> .
ex:b ex:value 3 .
ex:g1 { ex:c ex:knows ex:a . ex:a ex:knows ex:b . ex:b ex:value 3 . }
ex:g2 { ex:c ex:knows ex:d . ex:a ex:value 1 . }
"""

QUERIES = [
    "SELECT * { ?s ?p ?o }",
    "SELECT DISTINCT ?s { ?s ?p ?o }",
    "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }",
    "SELECT ?s (SUM(?v) AS ?sum) (COUNT(?v) AS ?n) (MAX(?v) AS ?max) { ?s ex:value ?v } GROUP BY ?s",
    "SELECT (COUNT(DISTINCT ?o) AS ?n) (AVG(?v) AS ?avg) { ?s ?p ?o OPTIONAL { ?s ex:value ?v } }",
    "SELECT ?a ?c { ?a ex:p/ex:q ?c }",
    "SELECT ?a ?b { ?a ex:knows+ ?b }",
    "SELECT ?a ?b { ?a ex:knows* ?b }",
    "SELECT ?b { ex:a ex:knows* ?b }",
    "SELECT ?a ?b { ?a ^ex:knows ?b }",
    "SELECT ?a ?b { ?a !ex:knows ?b }",
    "SELECT ?a ?b { ?a (ex:knows|ex:p) ?b }",
    "SELECT ?s ?v { ?s a ex:T OPTIONAL { ?s ex:value ?v } }",
    "SELECT ?x ?z { ?x ex:knows ?y . ?y ex:knows ?z }",
    "SELECT ?g ?s ?p ?o { GRAPH ?g { ?s ?p ?o } }",
    "SELECT ?g (COUNT(*) AS ?n) { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g",
    "SELECT ?g ?s { ?s ex:knows ?o GRAPH ?g { ?o ex:knows ?x } }",
    "SELECT * FROM ex:g1 FROM ex:g2 { ?s ?p ?o }",
    "SELECT ?g ?s FROM NAMED ex:g1 { GRAPH ?g { ?s ?p ?o } }",
    "SELECT (COUNT(*) AS ?n) FROM NAMED ex:g2 { ?s ?p ?o }",
    "SELECT * FROM ex:g1 { ?s ex:knows+ ?o }",
    "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }",
    "CONSTRUCT { ?s ex:reaches ?o } WHERE { ?s ex:knows/ex:knows ?o }",
    "DESCRIBE ex:a ex:b",
    "ASK { ex:a ex:knows ex:b }",
    "ASK { GRAPH ex:g2 { ex:a ex:knows ex:b } }",
]
#: Datasets given by the protocol (default-graph-uri, named-graph-uri) with the query text.
SPECS = [
    (DatasetSpec(default_graphs=(URIRef(f"{EX}g1"), URIRef(f"{EX}g2"))), QUERIES[0]),
    (DatasetSpec(named_graphs=(URIRef(f"{EX}g1"),)), QUERIES[0]),
    (DatasetSpec(named_graphs=(URIRef(f"{EX}g2"),)), QUERIES[14]),
    (DatasetSpec(default_graphs=(URIRef(f"{EX}g2"),)), QUERIES[6]),
]


def files(folder: Path, *, shared: bool) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / "a.trig", folder / "c.nt"]
    paths[0].write_text(CLEAN_TRIG, encoding="utf-8")
    paths[1].write_text(CLEAN_NT, encoding="utf-8")
    if shared:
        paths.append(folder / "overlap.trig")
        paths[2].write_text(SHARED_TRIG, encoding="utf-8")
    return paths


def in_memory(paths: list[Path]) -> OxigraphEngine:
    dataset = graph.new_dataset()
    for path in paths:
        graph.parse_file(dataset, path)
    return OxigraphEngine(dataset)


def loaded(directory: Path, *batches: list[Path]) -> store.StoreEngine:
    for batch in batches:
        if batch:
            store.load_files(directory, batch)
    return store.StoreEngine(store.read_info(directory))


def format_one(directory: Path) -> None:
    """Make a store what aigraph wrote before format 2: the union written, no flag."""
    info = store.read_info(directory)
    data = ox.Store(str(info.data_dir))
    named = [q for q in data if not isinstance(q.graph_name, ox.DefaultGraph)]
    data.extend(ox.Quad(q.subject, q.predicate, q.object) for q in named)
    data.flush()
    del data
    meta = directory / store.METADATA
    raw = json.loads(meta.read_text())
    raw["version"] = 1
    raw["quads"] = len(named)
    del raw["union_written"]
    meta.write_text(json.dumps(raw))


def answers(engine: OxigraphEngine, text: str, spec: DatasetSpec | None = None) -> object:
    """The answer as a multiset (blank nodes made equal: their labels differ between stores)."""
    result: QueryResult = engine.query(QueryRequest(PREFIX + text, dataset=spec or DatasetSpec()))

    def term(value: object) -> str:
        return "_:b" if isinstance(value, BNode) else repr(value)

    if result.form == "ask":
        return result.boolean
    if result.triples:
        return Counter(tuple(term(t) for t in quad[:3]) for quad in result.triples)
    return Counter(tuple(sorted((k, term(v)) for k, v in row.items())) for row in result.rows)


@pytest.fixture(scope="module")
def engines(tmp_path_factory) -> dict[str, dict[str, OxigraphEngine]]:
    """For clean and shared data: the in-memory engine and stores loaded in several ways."""
    made: dict[str, dict[str, OxigraphEngine]] = {}
    for kind in ("clean", "overlapping"):
        root = tmp_path_factory.mktemp(kind)
        paths = files(root / "data", shared=kind == "overlapping")
        old = root / "format-1"
        store.load_files(old, paths[:2])
        format_one(old)
        made[kind] = {
            "memory": in_memory(paths),
            "one load": loaded(root / "one", paths),
            "file by file": loaded(root / "each", *([p] for p in paths)),
            "format 1": loaded(old, paths[2:]),
        }
    return made


def test_a_store_writes_the_union_only_when_a_triple_is_in_two_graphs(tmp_path) -> None:
    clean = files(tmp_path / "clean", shared=False)
    info = store.load_files(tmp_path / "c", clean)
    data = store.open_read_only(info)
    assert info.union_written is False
    assert len(data) == info.quads == 21  # every quad once, the default graph's included
    assert len(list(data.quads_for_pattern(None, None, None, ox.DefaultGraph()))) == 3
    # A later load that repeats a triple of another graph switches the store to the written
    # union, the earlier generation's triples included.
    shared = files(tmp_path / "overlapping", shared=True)[2:]
    info = store.load_files(tmp_path / "c", shared)
    data = store.open_read_only(info)
    assert info.union_written is True
    default = data.quads_for_pattern(None, None, None, ox.DefaultGraph())
    assert {q.triple for q in default} == {q.triple for q in data}
    # ... and stays so: the next load writes its triples to the default graph too.
    extra = tmp_path / "extra.nt"
    extra.write_text(f"<{EX}new> <{EX}p> <{EX}z> .\n")
    info = store.load_files(tmp_path / "c", [extra])
    assert info.union_written is True
    assert store.StoreEngine(info).query(QueryRequest(f"ASK {{ <{EX}new> ?p ?o }}")).boolean


def test_a_store_of_format_1_opens_as_a_written_union(tmp_path) -> None:
    store.load_files(tmp_path / "s", files(tmp_path / "data", shared=False))
    format_one(tmp_path / "s")
    info = store.read_info(tmp_path / "s")
    assert info.union_written is True
    count = "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }"  # the written union, not it and the graphs
    assert answers(store.StoreEngine(info), count) == Counter({(("n", repr(Literal(21))),): 1})


@pytest.mark.parametrize("kind", ["clean", "overlapping"])
@pytest.mark.parametrize("text", QUERIES)
def test_every_store_answers_as_in_memory(engines, kind, text) -> None:
    expected = answers(engines[kind]["memory"], text)
    assert expected or text.startswith("ASK"), "a query that finds nothing compares nothing"
    for name, engine in engines[kind].items():
        assert answers(engine, text) == expected, name


@pytest.mark.parametrize("kind", ["clean", "overlapping"])
@pytest.mark.parametrize("spec,text", SPECS)
def test_protocol_datasets_are_answered_as_in_memory(engines, kind, spec, text) -> None:
    expected = answers(engines[kind]["memory"], text, spec)
    assert expected
    for name, engine in engines[kind].items():
        assert answers(engine, text, spec) == expected, name


@pytest.mark.parametrize("kind", ["clean", "overlapping"])
def test_graph_names_are_those_of_the_data(engines, kind) -> None:
    names = list(engines[kind]["memory"].graph_names())
    assert len(names) == 3
    for engine in engines[kind].values():
        assert list(engine.graph_names()) == names


def test_the_load_says_when_it_writes_the_union(tmp_path) -> None:
    from click.testing import CliRunner

    from aigraph.cli import cli

    for kind, said in (("clean", False), ("overlapping", True)):
        paths = files(tmp_path / kind, shared=kind == "overlapping")
        arguments = ["load", "--store", str(tmp_path / f"{kind}-store"), *map(str, paths)]
        result = CliRunner().invoke(cli, arguments)
        assert result.exit_code == 0, result.output
        assert ("union written to the default graph" in result.output) is said, result.output


@pytest.mark.parametrize("piece", [1, 3, 1000])
def test_files_load_in_pieces_whole(tmp_path, monkeypatch, piece) -> None:
    """Cut into pieces of a few lines (or parsed quads), every file loads whole."""
    monkeypatch.setattr(store, "_PIECE", piece)
    paths = files(tmp_path / "data", shared=True)
    last = tmp_path / "data" / "last.nt"  # no line end after its last line
    last.write_text(f'<{EX}x> <{EX}p> "1" .\n<{EX}x> <{EX}p> "2" .\n<{EX}x> <{EX}p> "3" .')
    paths.append(last)
    engine = loaded(tmp_path / "s", paths)
    expected = in_memory(paths)
    for text in (QUERIES[0], QUERIES[14]):
        assert answers(engine, text) == answers(expected, text)


def test_graph_names_come_from_the_list_the_load_wrote(tmp_path) -> None:
    info = store.load_files(tmp_path / "s", files(tmp_path / "data", shared=True))
    listed = (info.data_dir / "aigraph-graphs.txt").read_text(encoding="utf-8").split("\n")
    assert len(listed) == 3 and listed == sorted(listed)
    assert [str(g) for g in store.StoreEngine(info).graph_names()] == listed
    (info.data_dir / "aigraph-graphs.txt").unlink()  # a store loaded before the list: asked
    assert [str(g) for g in store.StoreEngine(info).graph_names()] == listed
