"""Exports are lossless (parse back isomorphic) and deterministic (byte-identical everywhere)."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from rdflib import BNode, Dataset, Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID

from aigraph.canonical import canonical_quads
from aigraph.errors import UsageError
from aigraph.export import EXTENSIONS, FORMATS, MEDIA_TYPES, export, export_all
from aigraph.formats import GRAPH
from aigraph.model import Quad

EX = "http://example.org/"
G1, G2 = URIRef(EX + "g1"), URIRef(EX + "g2")
A, P, Q = URIRef(EX + "a"), URIRef(EX + "p"), URIRef(EX + "q")

FIXTURE = r"""
@prefix ex: <http://example.org/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .

ex:a ex:p "in the default graph" ; a ex:Thing .
_:shared ex:p "default side" .

ex:g1 {
    ex:a skos:prefLabel "AI-fabriken"@sv, "The AI factory"@en ;
        ex:count "42"^^xsd:integer ; ex:ratio "0.5"^^xsd:decimal ;
        ex:when "2025-01-02"^^xsd:date ; ex:odd "x"^^<http://example.org/dt> ;
        ex:made [ ex:by ex:b ; ex:part [ ex:name "nested" ] ] .
    _:x ex:next _:y . _:y ex:next _:x .
    _:shared ex:p "named side" .
    ex:m ex:text "line one\nline \"two\"\ttab \\ back" .
    ex:l ex:items ( 1 2 3 ) .
}

ex:g2 {
    ex:a skos:prefLabel "Fabrik"@de ; ex:p "in g2" .
    ex:b a ex:Thing .
    [] ex:p "anonymous in g2" .
}
"""

QUAD_FORMATS = ("trig", "nquads", "jsonld")
RDFLIB_PARSER = {
    "turtle": "turtle",
    "nt": "nt",
    "jsonld": "json-ld",
    "rdfxml": "xml",
    "trig": "trig",
    "nquads": "nquads",
}
PREFIXES = {"ex": EX, "skos": "http://www.w3.org/2004/02/skos/core#"}


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    ds = Dataset()
    ds.parse(data=FIXTURE, format="trig")
    return ds


def _parse(data: bytes, fmt: str) -> Dataset:
    ds = Dataset()
    ds.parse(data=data.decode("utf-8"), format=RDFLIB_PARSER[fmt])
    return ds


def _graph(ds: Dataset, name: URIRef | None) -> Graph:
    graph = Graph()
    for s, p, o, g in ds.quads((None, None, None, None)):
        if (g in (None, DATASET_DEFAULT_GRAPH_ID) and name is None) or g == name:
            graph.add((s, p, o))
    return graph


def _union(ds: Dataset) -> Graph:
    graph = Graph()
    for s, p, o, _ in ds.quads((None, None, None, None)):
        graph.add((s, p, o))
    return graph


def _named(ds: Dataset) -> set[URIRef]:
    return {g for _, _, _, g in ds.quads((None, None, None, None)) if isinstance(g, URIRef)} - {
        DATASET_DEFAULT_GRAPH_ID
    }


def test_tables_come_from_the_graph_offers() -> None:
    assert FORMATS == ("turtle", "nt", "jsonld", "rdfxml", "trig", "nquads")
    assert MEDIA_TYPES == {offer.name: offer.media_type for offer in GRAPH}
    assert MEDIA_TYPES["trig"] == "application/trig"
    assert EXTENSIONS["turtle"] == "ttl" and EXTENSIONS["nquads"] == "nq"


@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip_is_isomorphic(dataset: Dataset, fmt: str) -> None:
    data = export(dataset, fmt, prefixes=PREFIXES)
    back = _parse(data, fmt)
    if fmt in QUAD_FORMATS:
        assert _named(back) == {G1, G2}, data.decode()
        for name in (None, G1, G2):
            assert isomorphic(_graph(back, name), _graph(dataset, name)), (name, data.decode())
        # Blank nodes shared between graphs stay shared: the whole datasets are isomorphic.
        assert canonical_quads(back.quads()) == canonical_quads(dataset.quads())
    else:
        assert isomorphic(_union(back), _union(dataset)), data.decode()


@pytest.mark.parametrize("fmt", FORMATS)
def test_output_is_byte_identical_across_processes(dataset: Dataset, fmt: str) -> None:
    script = (
        "import sys\n"
        "from rdflib import Dataset\n"
        "from aigraph.export import export\n"
        "from tests.test_export import FIXTURE, PREFIXES\n"
        "ds = Dataset(); ds.parse(data=FIXTURE, format='trig')\n"
        "sys.stdout.buffer.write(export(ds, sys.argv[1], prefixes=PREFIXES))\n"
    )
    root = Path(__file__).resolve().parent.parent
    outputs = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        env["PYTHONPATH"] = os.pathsep.join([str(root / "src"), str(root)])
        run = subprocess.run(
            [sys.executable, "-c", script, fmt], env=env, capture_output=True, timeout=60
        )
        assert run.returncode == 0, run.stderr.decode()
        outputs.append(run.stdout)
    assert outputs[0] == outputs[1]
    assert outputs[0] == export(dataset, fmt, prefixes=PREFIXES)


@pytest.mark.parametrize("fmt", ["nt", "nquads"])
def test_line_formats_are_sorted_and_distinct(dataset: Dataset, fmt: str) -> None:
    lines = export(dataset, fmt).decode().splitlines()
    assert lines == sorted(set(lines))
    assert all(line.endswith(" .") and not line.endswith("  .") for line in lines)


def test_nquads_keeps_graph_names(dataset: Dataset) -> None:
    lines = export(dataset, "nquads").decode().splitlines()
    assert any(line.endswith(f"<{G1}> .") for line in lines)
    assert any(line.endswith(f"<{G2}> .") for line in lines)
    assert '<http://example.org/a> <http://example.org/p> "in the default graph" .' in lines


def test_trig_keeps_graph_names_and_prefixes(dataset: Dataset) -> None:
    text = export(dataset, "trig", prefixes=PREFIXES).decode()
    assert "ex:g1 {" in text and "ex:g2 {" in text
    assert "@prefix skos: <http://www.w3.org/2004/02/skos/core#> ." in text


def test_blank_nodes_get_canonical_labels_independent_of_input_labels() -> None:
    def build(label: str) -> Dataset:
        ds = Dataset()
        node = BNode(label)
        ds.add((URIRef(EX + "s"), URIRef(EX + "p"), node, G1))
        ds.add((node, URIRef(EX + "q"), Literal("v"), G1))
        return ds

    first, second = build("one"), build("completely-different")
    for fmt in FORMATS:
        assert export(first, fmt) == export(second, fmt), fmt
    assert "_:b0" in export(first, "nquads").decode()


def _shuffled_copy(quads: list[Quad], seed: int) -> list[Quad]:
    """Return the quads with fresh blank nodes, in another order."""
    fresh: dict[BNode, BNode] = {}
    out = [
        tuple(fresh.setdefault(t, BNode()) if isinstance(t, BNode) else t for t in quad)
        for quad in quads
    ]
    random.Random(seed).shuffle(out)
    return out  # type: ignore[return-value]


def _cycle(length: int, graph: URIRef | None = None) -> list[Quad]:
    nodes = [BNode() for _ in range(length)]
    return [(nodes[i], P, nodes[(i + 1) % length], graph) for i in range(length)]


def _duplicates(count: int) -> list[Quad]:
    quads: list[Quad] = []
    for _ in range(count):
        node, inner = BNode(), BNode()
        quads += [(A, P, node, None), (node, P, inner, None), (inner, Q, Literal("same"), None)]
    return quads


SHARED = BNode()
STRUCTURES = {
    "automorphic duplicate trees": _duplicates(50),
    "two-node cycle": _cycle(2),
    "hexagon and two triangles": _cycle(6) + _cycle(3) + _cycle(3, G1),
    "node shared by two graphs": [(SHARED, P, A, None), (SHARED, P, A, G1), (A, Q, SHARED, G2)],
    "blank graph name": [(A, P, Literal("x"), BNode()), (A, P, Literal("y"), BNode())],
}


@pytest.mark.parametrize("name", list(STRUCTURES))
def test_canonical_labels_ignore_labels_and_order(name: str) -> None:
    quads = STRUCTURES[name]
    canonical = canonical_quads(quads)
    assert len(canonical) == len(set(quads))
    for seed in range(3):
        assert canonical_quads(_shuffled_copy(quads, seed)) == canonical
    labels = {t for quad in canonical for t in quad if isinstance(t, BNode)}
    assert labels == {BNode(f"b{i}") for i in range(len(labels))}


def test_plain_graph_and_quads_are_accepted() -> None:
    graph = Graph()
    graph.add((URIRef(EX + "s"), URIRef(EX + "p"), Literal("o")))
    assert export(graph, "nt") == b'<http://example.org/s> <http://example.org/p> "o" .\n'


def test_format_aliases_and_unknown_format(dataset: Dataset) -> None:
    assert export(dataset, "ttl") == export(dataset, "turtle")
    assert export(dataset, "nq") == export(dataset, "nquads")
    with pytest.raises(UsageError) as info:
        export(dataset, "csv")
    assert "turtle" in info.value.message


@pytest.mark.parametrize(
    "fmt, parser",
    [
        ("turtle", "turtle"),
        ("trig", "trig"),
        ("nt", "nt"),
        ("nquads", "nquads"),
        ("jsonld", "json-ld"),
        ("rdfxml", "xml"),
    ],
)
def test_typed_literals_keep_their_lexical_form(fmt, parser):
    from rdflib import Dataset, Literal, URIRef
    from rdflib.namespace import XSD

    from aigraph.export import export

    dataset = Dataset()
    graph = dataset.graph(URIRef("http://example.org/g"))
    subject = URIRef("http://example.org/s")
    literals = [
        Literal("100000000", datatype=XSD.decimal),
        Literal("1.50", datatype=XSD.decimal),
        Literal("2020", datatype=XSD.gYear),
        Literal("1.0E3", datatype=XSD.double),
    ]
    for index, literal in enumerate(literals):
        graph.add((subject, URIRef(f"http://example.org/p{index}"), literal))
    parsed = Dataset()
    parsed.parse(data=export(dataset, fmt), format=parser)
    got = {o for _, _, o, _ in parsed.quads((None, None, None, None))}
    assert {(str(lit), lit.datatype) for lit in literals} <= {(str(o), o.datatype) for o in got}


def test_export_all_equals_export_of_each_format(dataset: Dataset) -> None:
    # The dumps canonicalise once for triples and once for quads; the bytes stay export's.
    together = export_all(dataset, FORMATS)
    assert list(together) == list(FORMATS)
    for fmt in FORMATS:
        assert together[fmt] == export(dataset, fmt), fmt
    with pytest.raises(UsageError, match="Unknown export format 'yaml'"):
        export_all(dataset, ["turtle", "yaml"])
