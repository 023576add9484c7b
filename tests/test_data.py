"""The repository content: ontology, vocabularies, shapes, data and queries parse and say what the
article says, no more."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from rdflib import OWL, RDF, RDFS, XSD, Dataset, Graph, Literal, Namespace, URIRef
from rdflib.plugins.sparql import prepareQuery

from aigraph.graph import load

ROOT = Path(__file__).resolve().parents[1]
ARTICLE_FILE = ROOT / "tests" / "reference" / "article" / "press-release.txt"
BASE = "https://w3id.org/aigraph"
ID = f"{BASE}/id/"
AIG = Namespace(f"{BASE}/ontology#")
ONTOLOGY_IRI = URIRef(f"{BASE}/ontology")
PROVENANCE = URIRef(f"{BASE}/graph/provenance")
ONTOLOGY_GRAPH = URIRef(f"{BASE}/graph/ontology")
SCHEMA = Namespace("http://schema.org/")
SKOS = Namespace("http://www.w3.org/2004/02/skos/core#")
ORG = Namespace("http://www.w3.org/ns/org#")
PROV = Namespace("http://www.w3.org/ns/prov#")
DCTERMS = Namespace("http://purl.org/dc/terms/")
VANN = Namespace("http://purl.org/vocab/vann/")
WIKIDATA = "http://www.wikidata.org/entity/"


def norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return load().dataset


@pytest.fixture(scope="module")
def article() -> str:
    return norm(ARTICLE_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def ontology() -> Graph:
    return Graph().parse(ROOT / "ontology" / "aigraph.ttl", format="turtle")


@pytest.fixture(scope="module")
def vocabularies() -> Graph:
    return Graph().parse(ROOT / "shapes" / "vocabularies.ttl", format="turtle")


def data_graphs(dataset: Dataset) -> list[Graph]:
    """Return the named graphs of announcement facts (not ontology or provenance)."""
    return [
        g
        for g in dataset.graphs()
        if str(g.identifier).startswith(f"{BASE}/graph/")
        and g.identifier not in (PROVENANCE, ONTOLOGY_GRAPH)
    ]


def ours(term: object) -> bool:
    return isinstance(term, URIRef) and str(term).startswith(ID)


# -- parsing --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["ontology/aigraph.ttl", "shapes/vocabularies.ttl", "shapes/shapes.ttl"]
)
def test_ontology_files_parse(name: str) -> None:
    assert len(Graph().parse(ROOT / name, format="turtle")) > 0


@pytest.mark.parametrize("path", sorted((ROOT / "data").rglob("*.trig")), ids=lambda p: p.name)
def test_data_files_parse(path: Path) -> None:
    ds = Dataset()
    ds.parse(path, format="trig")
    assert len(ds) > 0


@pytest.mark.parametrize("path", sorted((ROOT / "queries").glob("*.rq")), ids=lambda p: p.name)
def test_queries_parse(path: Path) -> None:
    prepareQuery(path.read_text(encoding="utf-8"))


# -- ontology ---------------------------------------------------------------------------------


def test_ontology_header(ontology: Graph) -> None:
    o = ONTOLOGY_IRI
    assert (o, RDF.type, OWL.Ontology) in ontology
    assert ontology.value(o, OWL.versionIRI) is not None
    assert ontology.value(o, OWL.versionInfo) is not None
    assert ontology.value(o, DCTERMS.license) == URIRef(
        "https://creativecommons.org/licenses/by/4.0/"
    )
    creator = ontology.value(o, DCTERMS.creator)
    assert Literal("aigraph developers", lang="en") in set(ontology.objects(creator, RDFS.label))
    assert ontology.value(o, VANN.preferredNamespacePrefix) == Literal("aig")
    assert ontology.value(o, VANN.preferredNamespaceUri) == Literal(str(AIG))


def ontology_terms(ontology: Graph) -> set[URIRef]:
    return {s for s in ontology.subjects() if isinstance(s, URIRef) and s.startswith(str(AIG))}


def test_every_ontology_term_has_labels_and_definitions_in_sv_and_en(ontology: Graph) -> None:
    terms = ontology_terms(ontology)
    assert len(terms) > 20
    for term in terms:
        for prop in (RDFS.label, SKOS.definition):
            langs = {o.language for o in ontology.objects(term, prop)}
            assert {"sv", "en"} <= langs, (term, prop)
        assert ontology.value(term, RDFS.isDefinedBy) == ONTOLOGY_IRI, term


def test_every_minted_class_and_property_specialises_a_standard_term(ontology: Graph) -> None:
    for term in ontology_terms(ontology):
        types = set(ontology.objects(term, RDF.type))
        if OWL.Class in types:
            parents = set(ontology.objects(term, RDFS.subClassOf))
        elif types & {OWL.ObjectProperty, OWL.DatatypeProperty}:
            parents = set(ontology.objects(term, RDFS.subPropertyOf))
        else:
            continue
        assert any(not p.startswith(str(AIG)) or p in ontology_terms(ontology) for p in parents)
        assert parents, term


def test_vocabulary_declarations_are_labelled_and_not_ours(vocabularies: Graph) -> None:
    subjects = set(vocabularies.subjects())
    assert len(subjects) > 100
    for term in subjects:
        assert not str(term).startswith(BASE), term
        assert vocabularies.value(term, RDFS.label) is not None, term
        assert vocabularies.value(term, RDFS.isDefinedBy) is not None, term
        assert vocabularies.value(term, RDF.type) is not None, term


def test_every_term_used_is_declared(
    dataset: Dataset, ontology: Graph, vocabularies: Graph
) -> None:
    declared = set(ontology.subjects(RDFS.isDefinedBy, None)) | set(
        vocabularies.subjects(RDFS.isDefinedBy, None)
    )
    used = {p for _, p, _ in dataset.triples((None, None, None))}
    used |= {o for _, _, o in dataset.triples((None, RDF.type, None))}
    assert used - declared == set()


# -- data: shape of the graph -------------------------------------------------------------------


def test_every_triple_is_in_a_named_graph(dataset: Dataset) -> None:
    assert len(dataset.default_graph) == 0


def test_every_named_data_graph_has_a_provenance_description(dataset: Dataset) -> None:
    provenance = dataset.graph(PROVENANCE)
    graphs = data_graphs(dataset)
    assert len(graphs) >= 10
    for g in graphs:
        gid = g.identifier
        assert (gid, RDF.type, PROV.Entity) in provenance, gid
        assert provenance.value(gid, PROV.wasDerivedFrom) is not None, gid
        assert provenance.value(gid, AIG.sourceSentence) is not None, gid
        assert provenance.value(gid, PROV.wasAttributedTo) is not None, gid
    described = set(provenance.subjects(RDF.type, PROV.Entity))
    assert described == {g.identifier for g in graphs}


def test_every_source_sentence_is_verbatim_from_the_article(dataset: Dataset, article: str) -> None:
    sentences = list(dataset.graph(PROVENANCE).objects(None, AIG.sourceSentence))
    assert sentences
    for sentence in sentences:
        assert sentence.language == "sv"
        assert norm(str(sentence)) in article, sentence


def test_every_named_resource_has_sv_and_en_labels(dataset: Dataset) -> None:
    resources = {t for triple in dataset.triples((None, None, None)) for t in triple if ours(t)}
    assert len(resources) > 30
    for resource in resources:
        langs = {o.language for o in dataset.objects(resource, RDFS.label)}
        assert {"sv", "en"} <= langs, resource


def test_id_iris_follow_the_scheme(dataset: Dataset) -> None:
    pattern = re.compile(re.escape(ID) + r"[a-z]+/[a-z0-9]+(-[a-z0-9]+)*$")
    for triple in dataset.triples((None, None, None)):
        for term in triple:
            if ours(term):
                assert pattern.match(str(term)), term


# -- data: the facts ----------------------------------------------------------------------------

VINNOVA = URIRef(ID + "organisation/vinnova")
AIIOS = URIRef(ID + "organisation/ai-innovation-of-sweden")


def test_exactly_one_grant_of_100_million_sek(dataset: Dataset) -> None:
    grants = set(dataset.subjects(RDF.type, SCHEMA.MonetaryGrant))
    assert len(grants) == 1
    (grant,) = grants
    assert set(dataset.objects(grant, SCHEMA.funder)) == {VINNOVA}
    assert set(dataset.objects(grant, SCHEMA.fundedItem)) == {AIIOS}
    amounts = set(dataset.objects(grant, SCHEMA.amount))
    assert len(amounts) == 1
    (amount,) = amounts
    value = dataset.value(amount, SCHEMA.value)
    assert value.datatype == XSD.decimal and value.toPython() == Decimal("100000000")
    assert dataset.value(amount, SCHEMA.currency) == Literal("SEK")
    assert dataset.value(grant, SCHEMA.startDate) == Literal("2020", datatype=XSD.gYear)
    assert dataset.value(grant, SCHEMA.endDate) == Literal("2024", datatype=XSD.gYear)


def test_host_and_funders(dataset: Dataset) -> None:
    assert set(dataset.objects(AIIOS, AIG.hostedBy)) == {
        URIRef(ID + "organisation/lindholmen-science-park")
    }
    assert set(dataset.objects(AIIOS, SCHEMA.funder)) == {
        VINNOVA,
        URIRef(ID + "organisation/vastra-gotalandsregionen"),
        URIRef(ID + "organisation/ai-innovation-of-sweden-partners"),
    }


def labels_sv(dataset: Dataset, resources: set) -> set[str]:
    return {
        str(label)
        for r in resources
        for label in dataset.objects(r, RDFS.label)
        if label.language == "sv"
    }


def test_four_established_nodes_and_two_studied_places(dataset: Dataset) -> None:
    nodes = set(dataset.subjects(RDF.type, AIG.RegionalNode))
    places = {dataset.value(n, SCHEMA.location) for n in nodes}
    assert labels_sv(dataset, places) == {"Göteborg", "Storstockholm", "Örebro", "södra Sverige"}
    for node in nodes:
        assert dataset.value(node, ORG.unitOf) == AIIOS
    studies = set(dataset.subjects(RDF.type, AIG.FeasibilityStudy))
    studied = {dataset.value(s, AIG.studiedLocation) for s in studies}
    assert labels_sv(dataset, studied) == {"norra Sverige", "Linköping"}
    assert not nodes & studies
    assert not places & studied


def test_partner_counts_keep_their_approximation(dataset: Dataset) -> None:
    counts = {
        str(dataset.value(c, AIG.originalWording)): c
        for c in dataset.subjects(RDF.type, AIG.PartnerCount)
    }
    assert set(counts) == {
        "dryga 40 grundande partners",
        "nära 70 organisationer är delaktiga i verksamheten",
        "snart 70 partners",
    }
    start = counts["dryga 40 grundande partners"]
    assert dataset.value(start, AIG.approximation) == AIG.justOver
    assert dataset.value(start, SCHEMA.minValue).toPython() == 40
    later = counts["nära 70 organisationer är delaktiga i verksamheten"]
    assert dataset.value(later, AIG.approximation) == AIG.nearly
    assert dataset.value(later, SCHEMA.maxValue).toPython() == 70
    assert dataset.value(later, AIG.yearsAfterStart).toPython() == 1
    assert dataset.value(later, DCTERMS.date) is None  # "ett år senare" gives no calendar year
    assert dataset.value(counts["snart 70 partners"], AIG.approximation) == AIG.soon


def test_quotations_are_verbatim_from_the_article(dataset: Dataset, article: str) -> None:
    quotes = set(dataset.subjects(RDF.type, SCHEMA.Quotation))
    speakers = {dataset.value(q, SCHEMA.spokenByCharacter) for q in quotes}
    assert speakers == {URIRef(ID + "person/darja-isaksson"), URIRef(ID + "person/martin-svensson")}
    for quote in quotes:
        (text,) = dataset.objects(quote, SCHEMA.text)
        assert text.language == "sv"
        assert norm(str(text)) in article
        assert norm(str(text)) + ", säger" in article  # the whole quotation, up to "säger"
        (translation,) = dataset.objects(quote, AIG.translation)
        assert translation.language == "en"


def test_posts(dataset: Dataset) -> None:
    posts = {
        (dataset.value(p, ORG.heldBy), dataset.value(p, ORG.postIn))
        for p in dataset.subjects(RDF.type, ORG.Post)
    }
    assert posts == {
        (URIRef(ID + "person/darja-isaksson"), VINNOVA),
        (URIRef(ID + "person/martin-svensson"), AIIOS),
    }


def test_complementarity_is_attributed_to_vinnova(dataset: Dataset) -> None:
    graphs = {g.identifier for g in dataset.graphs() if (AIIOS, AIG.complementaryTo, None) in g}
    assert graphs == {URIRef(f"{BASE}/graph/complementarity")}
    (g,) = graphs
    assert dataset.graph(PROVENANCE).value(g, PROV.wasAttributedTo) == VINNOVA
    assert URIRef(ID + "initiative/wasp") in set(dataset.objects(AIIOS, AIG.complementaryTo))


def test_article_has_title_and_language_and_no_invented_metadata(dataset: Dataset) -> None:
    (article,) = set(dataset.subjects(RDF.type, SCHEMA.NewsArticle))
    assert dataset.value(article, SCHEMA.headline) == Literal(
        "Vinnova utökar sin satsning på det svenska AI-ekosystemet", lang="sv"
    )
    assert dataset.value(article, SCHEMA.inLanguage) == Literal("sv")
    for prop in (SCHEMA.publisher, SCHEMA.author, SCHEMA.datePublished, DCTERMS.publisher):
        assert (None, prop, None) not in dataset, prop


def test_only_dates_the_article_gives(dataset: Dataset) -> None:
    temporal = {XSD.date, XSD.dateTime, XSD.gYear, XSD.gYearMonth, XSD.gMonthDay, XSD.time}
    dates = {
        o
        for _, _, o in dataset.triples((None, None, None))
        if isinstance(o, Literal) and o.datatype in temporal
    }
    assert {(d.datatype, str(d)) for d in dates} == {
        (XSD.gYear, "2019"),
        (XSD.gYear, "2020"),
        (XSD.gYear, "2024"),
    }


def test_wikidata_links_are_exactly_the_certain_ones(dataset: Dataset) -> None:
    links = {
        (s, str(o)[len(WIKIDATA) :])
        for s, p, o in dataset.triples((None, None, None))
        if str(o).startswith(WIKIDATA)
    }
    assert links == {
        (VINNOVA, "Q4355568"),
        (URIRef(ID + "organisation/vastra-gotalandsregionen"), "Q3233447"),
        (URIRef(ID + "place/goteborg"), "Q25287"),
        (URIRef(ID + "place/stockholm"), "Q1754"),
        (URIRef(ID + "place/orebro"), "Q25732"),
        (URIRef(ID + "place/sweden"), "Q34"),
        (URIRef(ID + "currency/sek"), "Q122922"),
    }
    predicates = {
        p for s, p, o in dataset.triples((None, None, None)) if str(o).startswith(WIKIDATA)
    }
    assert predicates == {SCHEMA.sameAs}


def test_homepage(dataset: Dataset) -> None:
    assert dataset.value(AIIOS, SCHEMA.url) == URIRef("https://www.ai.se")
