"""aigraph's validation gives exactly pySHACL's results, with SPARQL answered by Oxigraph.

The reference is pySHACL alone (rdflib answers the SHACL-SPARQL queries, the data are copied
and the ontology mixed into the copy). aigraph's path (``validate._run_pyshacl``) validates a
view of the loaded store in place and routes the queries to an embedded Oxigraph copy
(``validation/fast_sparql.py``). Both reports must hold the same results: focus node, path,
value, source shape, constraint and component, severity and messages. Each test also checks
that Oxigraph really answered (otherwise the comparison would prove nothing) and that the
loaded dataset is left as it was.
"""

from __future__ import annotations

import io
from pathlib import Path

import pyshacl
import pytest
from rdflib import RDF, SH, Dataset, Graph, Literal, Namespace, URIRef

from aigraph import synth
from aigraph.graph import LoadedData, default_paths, load
from aigraph.validation import fast_sparql
from aigraph.validation import validate as v
from aigraph.validation.fast_sparql import RoutedDataset, unsupported

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "validation_fixtures"
RESULT_PARTS = (
    SH.focusNode,
    SH.resultPath,
    SH.value,
    SH.sourceShape,
    SH.sourceConstraint,
    SH.sourceConstraintComponent,
    SH.resultSeverity,
    SH.resultMessage,
)
SCHEMA = Namespace("http://schema.org/")
RDFS_LABEL = URIRef("http://www.w3.org/2000/01/rdf-schema#label")
EX_P = URIRef("http://example.org/p")


def results(report: Graph) -> list[tuple[frozenset, ...]]:
    """Return every result of ``report`` as the sets of its parts (sorted, duplicates kept)."""
    found = [
        tuple(frozenset(report.objects(result, part)) for part in RESULT_PARTS)
        for result in report.subjects(RDF.type, SH.ValidationResult)
    ]
    return sorted(found, key=repr)


def quads(dataset: Dataset) -> set[tuple]:
    return set(dataset.quads((None, None, None, None)))


class Recorder:
    """Keep the RoutedDataset that aigraph's path makes, to read its counts."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.made: list[RoutedDataset] = []
        original = RoutedDataset.__init__

        def init(routed: RoutedDataset, store: object) -> None:
            original(routed, store)
            self.made.append(routed)

        monkeypatch.setattr(RoutedDataset, "__init__", init)


def compare(
    loaded: LoadedData, shapes: Graph, ontology: Graph | None, recorder: Recorder
) -> tuple[list, RoutedDataset]:
    """Validate ``loaded`` both ways; assert equal results and an unchanged dataset."""
    _, reference, _ = pyshacl.validate(
        loaded.dataset,
        shacl_graph=shapes,
        ont_graph=ontology,
        inference="none",
        advanced=True,
        allow_warnings=True,
    )
    before = quads(loaded.dataset)
    prefixes = sorted(loaded.dataset.namespaces())
    ours = v._run_pyshacl(loaded.dataset, shapes, ontology, [])
    assert quads(loaded.dataset) == before, "validation changed the loaded data"
    assert sorted(loaded.dataset.namespaces()) == prefixes
    assert results(ours) == results(reference)
    return results(ours), recorder.made[-1]


@pytest.fixture(scope="module")
def bundled() -> tuple[Graph, Graph]:
    """The shapes and declarations ``validate`` uses by default (closed-world shape included)."""
    shapes = v._read_graph(list(v.Project.bundled().validation_shapes()))
    return shapes, v._read_graph(list(v._bundled_declarations()))


def selects(shapes: Graph) -> int:
    """The number of SPARQL constraints (each runs once: they target the one node AllData)."""
    return len(set(shapes.objects(None, SH.select)))


def shape_tests() -> list[Path]:
    return sorted((ROOT / "tests" / "shapes").glob("*/*.trig"))


@pytest.mark.parametrize("path", shape_tests(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_bundled_shapes_on_every_shape_test(
    path: Path, bundled: tuple[Graph, Graph], monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = Recorder(monkeypatch)
    _, routed = compare(load(None, [path]), *bundled, recorder)
    assert routed.routed == selects(bundled[0]) and routed.fallbacks == 0, routed.reasons


@pytest.mark.parametrize(
    "data", ["invalid.ttl", "warnings.ttl", "named.trig", "conforming.ttl", "triples.nt"]
)
def test_fixture_shapes(data: str, monkeypatch: pytest.MonkeyPatch) -> None:
    recorder = Recorder(monkeypatch)
    shapes = v._read_graph([FIXTURES / "shapes.ttl"])
    ontology = v._read_graph([FIXTURES / "ontology.ttl"])
    compare(load(None, [FIXTURES / data]), shapes, ontology, recorder)


def synthetic(tmp_path: Path, triples: int) -> Path:
    out = io.StringIO()
    synth.write(out, triples, seed=3)
    path = tmp_path / "synth.trig"
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


@pytest.mark.parametrize("triples", [1000, 10000])
def test_synthetic_data_conforms_both_ways(
    triples: int, tmp_path: Path, bundled: tuple[Graph, Graph], monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = Recorder(monkeypatch)
    found, routed = compare(load(None, [synthetic(tmp_path, triples)]), *bundled, recorder)
    assert found == []
    assert routed.routed == selects(bundled[0]) and routed.fallbacks == 0
    # No triple is in two graphs: Oxigraph's union default graph is already a set.
    assert routed.oxigraph_copy is not None and routed.oxigraph_copy.union


def test_bundled_data_and_ontology(
    bundled: tuple[Graph, Graph], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ontology is data and declarations: its triples are in two graphs (set union)."""
    recorder = Recorder(monkeypatch)
    found, routed = compare(load(None, list(default_paths())), *bundled, recorder)
    assert found == []
    assert routed.routed == selects(bundled[0]) and routed.fallbacks == 0
    assert routed.oxigraph_copy is not None and not routed.oxigraph_copy.union


def test_a_triple_in_two_graphs_counts_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """rdflib's union default graph is a set; so is the copy's (a COUNT tells them apart)."""
    shapes = Graph().parse(
        data="""
        @prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <http://example.org/> .
        ex:S a sh:NodeShape ; sh:targetNode ex:a ; sh:sparql [
            sh:message "{?n} values" ;
            sh:select "SELECT $this ?n WHERE { { SELECT (COUNT(*) AS ?n) WHERE { ?s <http://example.org/p> ?o } } }" ] .
        """,
        format="turtle",
    )
    data = Dataset()
    for graph in ("urn:g1", "urn:g2"):
        data.add((URIRef("http://example.org/a"), EX_P, Literal(1), URIRef(graph)))
    recorder = Recorder(monkeypatch)
    found, routed = compare(LoadedData(data, ()), shapes, None, recorder)
    assert [str(m) for m in found[0][RESULT_PARTS.index(SH.resultMessage)]] == ["1 values"]
    assert routed.routed == 1 and routed.oxigraph_copy is not None
    assert not routed.oxigraph_copy.union


def test_mutated_synthetic_data_breaks_the_sparql_constraints_alike(
    tmp_path: Path, bundled: tuple[Graph, Graph], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Labels, periods, provenance, terms and references broken in synthetic data."""
    recorder = Recorder(monkeypatch)
    loaded = load(None, [synthetic(tmp_path, 3000)])
    data = loaded.dataset
    labelled = sorted({s for s, o in data.subject_objects(RDFS_LABEL) if "/id/" in str(s)})
    for s, p, o, g in list(data.quads((labelled[0], RDFS_LABEL, None, None))):
        if isinstance(o, Literal) and o.language == "en":
            data.remove((s, p, o, g))
    grant = sorted(data.subjects(RDF.type, SCHEMA.MonetaryGrant))[0]
    graph = next(g for _, _, _, g in data.quads((grant, RDF.type, None, None)))
    for s, p, o, g in list(data.quads((grant, SCHEMA.endDate, None, None))):
        data.remove((s, p, o, g))
    data.add((grant, SCHEMA.endDate, Literal("1901"), graph))
    data.add((grant, SCHEMA.fundr, URIRef("https://w3id.org/aigraph/id/person/nobody"), graph))
    data.add((grant, RDF.type, SCHEMA.Grantt, graph))
    prov = URIRef("https://w3id.org/aigraph/graph/provenance")
    entity = sorted(s for s, _, _, g in data.quads((None, RDF.type, None, prov)))[0]
    for s, p, o, g in list(data.quads((entity, None, None, prov))):
        if p != RDF.type:
            data.remove((s, p, o, g))
    new_graph = URIRef("https://w3id.org/aigraph/graph/undescribed")
    data.add((grant, RDFS_LABEL, Literal("x", lang="sv"), new_graph))
    found, routed = compare(loaded, *bundled, recorder)
    constraints = {component for *_, component, _, _ in found for component in component}
    assert constraints == {SH.SPARQLConstraintComponent}
    assert len(found) >= 7
    assert routed.routed == selects(bundled[0]) and routed.fallbacks == 0


# -- what Oxigraph is not asked ---------------------------------------------------------------

THIS = URIRef("http://example.org/this")


@pytest.mark.parametrize(
    ("query", "bound", "reason"),
    [
        ("SELECT $this ?v WHERE { ?v ?p ?o } LIMIT 3", {"this": THIS}, "LIMIT"),
        ("SELECT $this WHERE { VALUES ?x { 1 } }", {"this": THIS}, "VALUES"),
        ("SELECT $this WHERE { ?a ?b ?c MINUS { ?a a ?x } }", {"this": THIS}, "MINUS"),
        ("SELECT $this ?x WHERE { BIND(RAND() AS ?x) }", {"this": THIS}, "RAND"),
        ("SELECT $this WHERE { BIND(<urn:x> AS $this) }", {"this": THIS}, "bound by AS"),
        ("SELECT $this ?t WHERE { BIND($this AS ?t) }", {"this": THIS}, "in BIND"),
        ("SELECT $this WHERE { ?s ?p ?o FILTER(bound($this)) }", {"this": THIS}, "in BOUND"),
        ("SELECT $this (STR($this) AS ?s) WHERE { ?s ?p ?o }", {"this": THIS}, "projection"),
        ("SELECT $this WHERE { ?s ?p ?o } ORDER BY STR($this)", {"this": THIS}, "ORDER BY"),
        ("SELECT $this WHERE { { SELECT $this WHERE { $this ?p ?o } } }", {"this": THIS}, "sub"),
        ("PREFIX f: <urn:f#> SELECT $this WHERE { FILTER(f:x(1)) }", {"this": THIS}, "f:x"),
        ("SELECT $this WHERE { FILTER(<urn:f>(1)) }", {"this": THIS}, "urn:f"),
        ("SELECT $this ?v FROM <urn:g> WHERE { ?v ?p ?o }", {"this": THIS}, "FROM"),
        ("SELECT ?v WHERE { $value ?p ?v }", {"value": THIS}, "pre-bound value"),
        ("ASK { ?s ?p ?o }", {}, "ASK"),
        ('SELECT $this WHERE { ?s ?p ?o FILTER REGEX(STR(?o), "a(?=b)") }', {}, "regular"),
        ('SELECT $this WHERE { ?s ?p ?o FILTER REGEX(STR(?o), "(a)\\\\1") }', {}, "regular"),
    ],
)
def test_unsafe_queries_stay_with_rdflib(query: str, bound: dict, reason: str) -> None:
    why = unsupported(query, bound)
    assert why is not None and reason in why


@pytest.mark.parametrize(
    "query",
    [
        'SELECT $this ?value WHERE { ?value ?p "LIMIT" . # VALUES in a comment\n }',
        "PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>\n"
        "SELECT $this ?v WHERE { ?v ?p ?o FILTER(xsd:integer(?o) > 1) }",
        "SELECT $this ?v WHERE { { SELECT ?v WHERE { ?v ?p ?o } } }",
        "SELECT $this ?v WHERE { { ?v ?p ?o FILTER(?v = $this || isIRI($this)) } }",
        "SELECT $this ?v WHERE { ?s ?p ?v FILTER NOT EXISTS { $this ?p ?v } } ORDER BY ?v",
    ],
)
def test_safe_queries_go_to_oxigraph(query: str) -> None:
    assert unsupported(query, {"this": THIS}) is None


def test_a_query_rdflib_answers_gives_the_same_results(monkeypatch: pytest.MonkeyPatch) -> None:
    shapes = Graph().parse(
        data="""
        @prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <http://example.org/> .
        ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:sparql [
            sh:message "two values" ;
            sh:select "SELECT $this ?value WHERE { $this ex:p ?value } ORDER BY ?value LIMIT 1" ] .
        """,
        format="turtle",
    )
    data = Dataset()
    data.parse(
        data="@prefix ex: <http://example.org/> . ex:a a ex:C ; ex:p 1, 2 .", format="turtle"
    )
    recorder = Recorder(monkeypatch)
    found, routed = compare(LoadedData(data, ()), shapes, None, recorder)
    assert len(found) == 1
    assert routed.routed == 0 and routed.fallbacks == 1 and "LIMIT" in routed.reasons


def test_literals_oxigraph_would_rewrite_leave_every_query_to_rdflib(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Oxigraph writes "1.50"^^xsd:decimal as "1.5": then rdflib answers, not a changed copy."""
    shapes = Graph().parse(
        data="""
        @prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <http://example.org/> .
        ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:sparql [
            sh:message "ends in zero: {?value}" ;
            sh:select "SELECT $this ?value WHERE { $this ex:p ?value FILTER(STRENDS(STR(?value), '0')) }" ] .
        """,
        format="turtle",
    )
    data = Dataset()
    data.parse(
        data="@prefix ex: <http://example.org/> . @prefix xsd: <http://www.w3.org/2001/XMLSchema#> ."
        ' ex:a a ex:C ; ex:p "1.50"^^xsd:decimal .',
        format="turtle",
    )
    recorder = Recorder(monkeypatch)
    found, routed = compare(LoadedData(data, ()), shapes, None, recorder)
    assert len(found) == 1
    assert routed.routed == 0 and routed.fallbacks == 1
    assert "no faithful Oxigraph copy" in routed.reasons
    assert fast_sparql.OxigraphCopy(routed).faithful is False


def test_two_literals_oxigraph_would_merge_leave_every_query_to_rdflib(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """rdflib tells "a" from "a"^^xsd:string (no join); Oxigraph holds them as one literal."""
    shapes = Graph().parse(
        data="""
        @prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <http://example.org/> .
        ex:S a sh:NodeShape ; sh:targetNode ex:a ; sh:sparql [
            sh:message "shares a value" ;
            sh:select "SELECT $this ?value WHERE { ?value <http://example.org/p> ?o . ?x <http://example.org/q> ?o }" ] .
        """,
        format="turtle",
    )
    data = Dataset()
    data.parse(
        data="@prefix ex: <http://example.org/> . @prefix xsd: <http://www.w3.org/2001/XMLSchema#> ."
        ' ex:a ex:p "a" . ex:b ex:q "a"^^xsd:string .',
        format="turtle",
    )
    recorder = Recorder(monkeypatch)
    found, routed = compare(LoadedData(data, ()), shapes, None, recorder)
    assert found == []  # rdflib's answer
    assert routed.routed == 0 and "no faithful Oxigraph copy" in routed.reasons


def test_a_query_oxigraph_refuses_goes_to_rdflib() -> None:
    """$this pre-bound but not selected: Oxigraph raises, rdflib answers."""
    data = Dataset()
    data.add((THIS, EX_P, Literal(1)))
    routed = RoutedDataset(data.store)
    query = "SELECT ?value WHERE { $this <http://example.org/p> ?value }"
    answer = routed.query(query, initBindings={"this": THIS})
    assert [row.value for row in answer] == [Literal(1)]
    assert routed.routed == 0 and routed.fallbacks == 1
    assert any(reason.startswith("Oxigraph refused it") for reason in routed.reasons)


def test_data_oxigraph_cannot_read_leaves_every_query_to_rdflib(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An IRI with a space is not N-Quads: no copy, rdflib answers, the results are the same."""
    shapes = Graph().parse(
        data="""
        @prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <http://example.org/> .
        ex:S a sh:NodeShape ; sh:targetNode ex:a ; sh:sparql [
            sh:message "has p" ;
            sh:select "SELECT $this ?value WHERE { ?value <http://example.org/p> ?o }" ] .
        """,
        format="turtle",
    )
    data = Dataset()
    data.add((URIRef("http://example.org/a b"), EX_P, Literal(1)))
    recorder = Recorder(monkeypatch)
    found, routed = compare(LoadedData(data, ()), shapes, None, recorder)
    assert len(found) == 1
    assert routed.routed == 0 and routed.oxigraph_copy is None
    assert any(reason.startswith("Oxigraph refused the data") for reason in routed.reasons)
