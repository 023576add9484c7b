"""VoID statistics and the SPARQL service description agree with the data they describe."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import RDF, RDFS, Dataset, Graph, Literal, URIRef
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID
from rdflib.namespace import DCTERMS, VOID

from aigraph.describe.common import DATA_LICENSE, SD
from aigraph.describe.service import service_description
from aigraph.describe.void import void
from aigraph.statistics import WIKIDATA_ENTITY, DatasetFacts
from test_catalog import BASE, SITE, facts_of, load_dataset, make_dumps

ENDPOINT = "http://127.0.0.1:8765/sparql"
MANIFEST = (
    Path(__file__).resolve().parent
    / "reference"
    / "w3c-sparql11"
    / "service-description"
    / "manifest.ttl"
)
DATASET = URIRef(f"{BASE}/dataset")


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return load_dataset()


@pytest.fixture(scope="module")
def facts(dataset: Dataset) -> DatasetFacts:
    return facts_of(dataset)


@pytest.fixture(scope="module")
def dumps(dataset: Dataset) -> dict[str, bytes]:
    return make_dumps(dataset)


@pytest.fixture(scope="module")
def void_graph(facts, dumps) -> Graph:
    return void(facts, dumps, site=SITE, base=BASE)


@pytest.fixture(scope="module")
def sd_graph(facts) -> Graph:
    return service_description(facts, endpoint_url=ENDPOINT, base=BASE)


def count(dataset: Dataset, where: str, what: str = "*") -> int:
    """Run ``SELECT (COUNT(what))`` over the union default graph."""
    rows = list(dataset.query(f"SELECT (COUNT({what}) AS ?n) WHERE {{ {where} }}"))
    return int(rows[0][0])


def grouped(dataset: Dataset, query: str) -> dict[str, int]:
    return {str(k): int(n) for k, n in dataset.query(query)}


def stat(g: Graph, subject: URIRef, prop: URIRef) -> int:
    value = g.value(subject, prop)
    assert isinstance(value, Literal), f"no {prop} on {subject}"
    return int(value)


# --- VoID -------------------------------------------------------------------------------------


def test_void_counts_match_sparql(dataset: Dataset, void_graph: Graph):
    space = f"{BASE}/id/"
    expected = {
        VOID.triples: count(dataset, "?s ?p ?o"),
        VOID.distinctSubjects: count(dataset, "?s ?p ?o", "DISTINCT ?s"),
        VOID.distinctObjects: count(dataset, "?s ?p ?o", "DISTINCT ?o"),
        VOID.properties: count(dataset, "?s ?p ?o", "DISTINCT ?p"),
        VOID.classes: count(dataset, "?s a ?c", "DISTINCT ?c"),
        VOID.entities: count(
            dataset, f'?s ?p ?o FILTER(isIRI(?s) && STRSTARTS(STR(?s), "{space}"))', "DISTINCT ?s"
        ),
    }
    assert expected[VOID.triples] > 0
    assert {p: stat(void_graph, DATASET, p) for p in expected} == expected
    assert str(void_graph.value(DATASET, VOID.uriSpace)) == space


def test_void_partitions_match_sparql(dataset: Dataset, void_graph: Graph):
    classes = grouped(dataset, "SELECT ?c (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s a ?c } GROUP BY ?c")
    properties = grouped(dataset, "SELECT ?p (COUNT(*) AS ?n) WHERE { ?s ?p ?o } GROUP BY ?p")
    described_classes = {
        str(void_graph.value(part, VOID["class"])): stat(void_graph, part, VOID.entities)
        for part in void_graph.objects(DATASET, VOID.classPartition)
    }
    described_properties = {
        str(void_graph.value(part, VOID.property)): stat(void_graph, part, VOID.triples)
        for part in void_graph.objects(DATASET, VOID.propertyPartition)
    }
    assert described_classes == classes
    assert described_properties == properties


def test_void_vocabularies_examples_dumps(dataset: Dataset, void_graph: Graph, dumps):
    vocabularies = {str(v) for v in void_graph.objects(DATASET, VOID.vocabulary)}
    used = {str(p) for p in dataset.predicates()} | {
        str(c) for c in dataset.objects(None, RDF.type)
    }
    assert all(any(term.startswith(ns) for ns in vocabularies) for term in used)
    examples = list(void_graph.objects(DATASET, VOID.exampleResource))
    assert examples and all((e, None, None) in dataset for e in examples)
    assert {str(u) for u in void_graph.objects(DATASET, VOID.dataDump)} == {
        f"{SITE}/dumps/aigraph.{ext}" for ext in dumps
    }
    assert void_graph.value(DATASET, VOID.sparqlEndpoint) == URIRef(f"{SITE}/sparql")
    assert void_graph.value(DATASET, DCTERMS.license) == URIRef(DATA_LICENSE)


def test_wikidata_linksets(dataset: Dataset, void_graph: Graph):
    links = grouped(
        dataset,
        f"""
        SELECT ?p (COUNT(*) AS ?n) WHERE {{
          ?s ?p ?o
          FILTER(?p IN (<http://www.w3.org/2002/07/owl#sameAs>, <http://schema.org/sameAs>,
                        <https://schema.org/sameAs>)
                 && STRSTARTS(STR(?o), "{WIKIDATA_ENTITY}"))
        }} GROUP BY ?p""",
    )
    assert links, "the data links to Wikidata"
    linksets = set(void_graph.subjects(RDF.type, VOID.Linkset))
    described = {
        str(void_graph.value(ls, VOID.linkPredicate)): stat(void_graph, ls, VOID.triples)
        for ls in linksets
    }
    assert described == links
    for linkset in linksets:
        assert void_graph.value(linkset, VOID.subjectsTarget) == DATASET
        target = void_graph.value(linkset, VOID.objectsTarget)
        assert str(void_graph.value(target, VOID.uriSpace)) == WIKIDATA_ENTITY
        assert (target, RDF.type, VOID.Dataset) in void_graph


# --- SPARQL service description ---------------------------------------------------------------


def test_service_description_basics(sd_graph: Graph):
    service = next(iter(sd_graph.subjects(RDF.type, SD.Service)))
    assert set(sd_graph.objects(service, SD.endpoint)) == {URIRef(ENDPOINT)}
    assert (service, SD.supportedLanguage, SD.SPARQL11Query) in sd_graph
    formats = {str(f).rsplit("/", 1)[-1] for f in sd_graph.objects(service, SD.resultFormat)}
    assert formats == {
        "SPARQL_Results_JSON",
        "SPARQL_Results_XML",
        "SPARQL_Results_CSV",
        "SPARQL_Results_TSV",
        "Turtle",
        "N-Triples",
        "JSON-LD",
        "RDF_XML",
        "TriG",
        "N-Quads",
    }
    features = set(sd_graph.objects(service, SD.feature))
    assert SD.UnionDefaultGraph in features and SD.BasicFederatedQuery not in features


def test_service_description_graphs(dataset: Dataset, sd_graph: Graph):
    service = next(iter(sd_graph.subjects(RDF.type, SD.Service)))
    sd_dataset = sd_graph.value(service, SD.defaultDataset)
    default = sd_graph.value(sd_dataset, SD.defaultGraph)
    assert stat(sd_graph, default, VOID.triples) == count(dataset, "?s ?p ?o")
    per_graph = {
        g: n
        for g, n in grouped(
            dataset, "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"
        ).items()
        if g != str(DATASET_DEFAULT_GRAPH_ID)
    }
    described = {}
    for named in sd_graph.objects(sd_dataset, SD.namedGraph):
        graph_node = sd_graph.value(named, SD.graph)
        described[str(sd_graph.value(named, SD.name))] = stat(sd_graph, graph_node, VOID.triples)
    assert per_graph and described == per_graph


def test_endpoint_url_is_the_one_passed_in(facts):
    other = "https://example.org/aigraph/sparql"
    g = service_description(facts, endpoint_url=other, base=BASE)
    assert set(g.objects(None, SD.endpoint)) == {URIRef(other)}


# --- the W3C SPARQL 1.1 service-description tests ---------------------------------------------

#: The terms of https://www.w3.org/ns/sparql-service-description that we use, with their
#: domains and ranges (a hand extract: the vocabulary file is not available offline).
SD_SCHEMA = """
@prefix sd: <http://www.w3.org/ns/sparql-service-description#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
sd:endpoint rdfs:domain sd:Service .
sd:supportedLanguage rdfs:domain sd:Service ; rdfs:range sd:Language .
sd:resultFormat rdfs:domain sd:Service .
sd:feature rdfs:domain sd:Service ; rdfs:range sd:Feature .
sd:defaultEntailmentRegime rdfs:domain sd:Service ; rdfs:range sd:EntailmentRegime .
sd:defaultDataset rdfs:domain sd:Service ; rdfs:range sd:Dataset .
sd:defaultGraph rdfs:domain sd:Dataset ; rdfs:range sd:Graph .
sd:namedGraph rdfs:domain sd:GraphCollection ; rdfs:range sd:NamedGraph .
sd:name rdfs:domain sd:NamedGraph .
sd:graph rdfs:domain sd:NamedGraph ; rdfs:range sd:Graph .
sd:Dataset rdfs:subClassOf sd:GraphCollection .
sd:SPARQL11Query a sd:Language .
sd:UnionDefaultGraph a sd:Feature .
sd:BasicFederatedQuery a sd:Feature .
"""


def manifest_tests() -> list[str]:
    manifest = Graph().parse(MANIFEST)
    mf = "http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#"
    return sorted(
        str(t).rsplit("#", 1)[-1]
        for t in manifest.subjects(RDF.type, URIRef(mf + "ServiceDescriptionTest"))
    )


def test_manifest_lists_the_three_tests_we_run():
    assert manifest_tests() == ["conforms-to-schema", "has-endpoint-triple", "returns-rdf"]


@pytest.mark.parametrize("fmt", ["turtle", "xml", "json-ld", "nt"])
def test_w3c_returns_rdf(sd_graph: Graph, fmt: str):
    again = Graph().parse(data=sd_graph.serialize(format=fmt), format=fmt)
    assert len(again) == len(sd_graph) > 0


def test_w3c_has_endpoint_triple(sd_graph: Graph):
    assert (
        list(
            sd_graph.query(
                "ASK { ?s a sd:Service ; sd:endpoint ?url }",
                initNs={"sd": SD},
                initBindings={"url": URIRef(ENDPOINT)},
            )
        )[0]
        is True
    )


def _types(g: Graph, schema: Graph, node) -> set:
    """Asserted types of ``node`` (in ``g`` or the schema) and their superclasses."""
    types = set(g.objects(node, RDF.type)) | set(schema.objects(node, RDF.type))
    return types | {sup for t in types for sup in schema.transitive_objects(t, RDFS.subClassOf)}


def test_w3c_conforms_to_schema(sd_graph: Graph):
    schema = Graph().parse(data=SD_SCHEMA, format="turtle")
    problems = []
    for s, p, o in sd_graph:
        if str(p).startswith(str(SD)):
            if (p, None, None) not in schema:
                problems.append(f"{p} is not a term we checked against the SD schema")
            for domain in schema.objects(p, RDFS.domain):
                if domain not in _types(sd_graph, schema, s):
                    problems.append(f"{s} uses {p} but is not a {domain}")
            for range_ in schema.objects(p, RDFS.range):
                if str(o).startswith((BASE, str(SD))) and range_ not in _types(sd_graph, schema, o):
                    problems.append(f"{o} is the value of {p} but is not a {range_}")
    for t in set(sd_graph.objects(None, RDF.type)):
        if (
            str(t).startswith(str(SD))
            and (t, None, None) not in schema
            and (None, None, t) not in schema
        ):
            problems.append(f"unknown class {t}")
    assert not problems, problems


@pytest.mark.parametrize("engine", ["oxigraph", "rdflib"])
def test_facts_by_sparql_equal_facts_from_memory(engine):
    """The server's engine (in workers, under the internal limits) gives the same statistics
    as an embedded engine over the same data: the statistics do not depend on the engine."""
    from aigraph.core import Aigraph
    from aigraph.settings import Settings

    aigraph = Aigraph.open(Settings(engine=engine, executors=1, validate=False))
    try:
        data = aigraph.dumps()
        assert data is not None
        by_query = facts_of(data, aigraph.settings.base)
        assert by_query == aigraph.facts
    finally:
        aigraph.close()
