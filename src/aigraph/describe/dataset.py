"""Describe the dataset: statistics, DCAT-AP catalogue, VoID, SPARQL service description, schema.org.

Every description is computed from the statistics of the data (``statistics.facts``) and the dump bytes
(``distributions``), so counts, checksums and coverage cannot drift from what is served.
Pure functions over rdflib; no web framework.

IRIs of the description (all under the dataset base, stable wherever the server runs):
``{base}/catalog`` the catalogue, ``{base}/dataset`` the dataset (DCAT, VoID and SD agree),
``{base}/dataset#dump-{ext}`` the distributions, ``{base}/service/sparql`` the SPARQL service,
``{base}/catalog#publisher`` and ``{base}/catalog#contact`` the agent and contact point.
Download and endpoint URLs are under ``site``, the public URL of the running server.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from rdflib import RDF, XSD, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, OWL, VOID

from aigraph import formats
from aigraph.statistics import SAME_AS as SAME_AS
from aigraph.statistics import TEMPORAL_NAMES as TEMPORAL_NAMES
from aigraph.statistics import WIKIDATA_ENTITY as WIKIDATA_ENTITY
from aigraph.statistics import DatasetFacts as DatasetFacts
from aigraph.statistics import namespace_of as namespace_of

SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
SPDX = Namespace("http://spdx.org/rdf/terms#")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
DCATAP = Namespace("http://data.europa.eu/r5r/")
W3C_FORMATS = Namespace("http://www.w3.org/ns/formats/")
EU = "http://publications.europa.eu/resource/authority/"
IANA = "https://www.iana.org/assignments/media-types/"
SPARQL_PROTOCOL = URIRef("https://www.w3.org/TR/sparql11-protocol/")

#: Data licence (the exact IRI of DCAT-AP-SE's licence list) and catalogue-metadata licence
#: (DCAT-AP-SE requires CC0 on catalogue metadata).
DATA_LICENSE = "http://creativecommons.org/licenses/by/4.0/"
METADATA_LICENSE = "http://creativecommons.org/publicdomain/zero/1.0/"
#: Placeholder contact under the domain reserved for documentation (RFC 2606).
DEFAULT_CONTACT_EMAIL = "aigraph@example.org"
TEXT = {
    "title": {"sv": "aigraph: Vinnovas satsning på AI Innovation of Sweden som länkade data",
              "en": "aigraph: Vinnova's investment in AI Innovation of Sweden as linked data"},
    "description": {
        "sv": "En kunskapsgraf byggd ur ett svenskt pressmeddelande där Vinnova tillkännager "
              "långsiktig finansiering av AI Innovation of Sweden: organisationer, personer, "
              "platser och finansiering, med proveniens tillbaka till texten.",
        "en": "A knowledge graph built from a Swedish press release in which Vinnova announces "
              "long-term funding for AI Innovation of Sweden: organisations, people, places "
              "and funding, with provenance back to the text."},
    "catalog": {"sv": "aigraph datakatalog", "en": "aigraph data catalogue"},
    "catalog_description": {"sv": "Katalog över datamängden och SPARQL-tjänsten från aigraph.",
                            "en": "Catalogue of the aigraph dataset and its SPARQL service."},
    "service": {"sv": "aigraph SPARQL-ändpunkt", "en": "aigraph SPARQL endpoint"},
    "service_description": {
        "sv": "SPARQL 1.1-frågetjänst (endast läsning) över hela kunskapsgrafen.",
        "en": "Read-only SPARQL 1.1 query service over the whole knowledge graph."},
    "dump": {"sv": "Hela datamängden som {label}", "en": "The whole dataset as {label}"},
    "sparql_dist": {"sv": "Åtkomst via SPARQL", "en": "Access through SPARQL"},
}
KEYWORDS = {"sv": ("artificiell intelligens", "innovation", "forskningsfinansiering",
                   "länkade data", "Vinnova"),
            "en": ("artificial intelligence", "innovation", "research funding",
                   "linked data", "Vinnova")}
THEMES = ("ECON", "TECH", "GOVE")
LANGUAGES = ("SWE", "ENG")
PUBLISHER_NAME = "aigraph"
PUBLISHER_TYPE = "http://purl.org/adms/publishertype/NonProfitOrganisation"


#: The dump formats, in the order dumps are listed: the RDF formats of the format table.
DUMP_FORMATS: tuple[formats.Offer, ...] = formats.GRAPH
#: Result formats the endpoint answers in (W3C format IRIs), for the service description.
RESULT_FORMATS: tuple[str, ...] = tuple(o.w3c for o in (*formats.RESULTS, *formats.GRAPH))
#: EU file type of the endpoint's answers (DCAT-AP-SE allows one format per data service;
#: the service description lists every result format).
SERVICE_FILE_TYPE = "SPARQLQRES"


@dataclass(frozen=True)
class Distribution:
    """One dump file as served: name, media type, EU file type, size and digests."""

    ext: str
    file_name: str
    media_type: str
    file_type: str
    label: str
    byte_size: int
    sha256: str
    sha1: str

    @property
    def media_type_iri(self) -> str:
        return IANA + self.media_type

    @property
    def file_type_iri(self) -> str:
        return formats.EU_FILE_TYPE + self.file_type

    def digest(self, algorithm: str) -> str:
        return {"sha1": self.sha1, "sha256": self.sha256}[algorithm]


def distributions(dumps: Mapping[str, bytes], name: str = "aigraph") -> tuple[Distribution, ...]:
    """Describe each dump in ``dumps`` (``{ext: bytes}``) in the order of ``DUMP_FORMATS``."""
    known = {f.extension: f for f in DUMP_FORMATS}
    unknown = set(dumps) - set(known)
    if unknown:
        raise ValueError(f"unknown dump format(s): {', '.join(sorted(unknown))}")
    return tuple(
        Distribution(f.extension, f"{name}.{f.extension}", f.media_type, f.file_type, f.label,
                     len(dumps[f.extension]), hashlib.sha256(dumps[f.extension]).hexdigest(),
                     hashlib.sha1(dumps[f.extension]).hexdigest())  # noqa: S324 - DCAT-AP-SE's algorithm
        for f in DUMP_FORMATS if f.extension in dumps
    )


def as_date(value: Literal, *, end: bool) -> Literal:
    """Widen a ``gYear``/``gYearMonth`` bound to the first (or last) ``xsd:date`` it covers.

    DCAT-AP 2.1.1's shapes, merged as validators merge them, accept only ``xsd:date`` and
    ``xsd:dateTime`` (``shapes_recommended.ttl`` redefines the date shape); every profile
    accepts ``xsd:date``, and a whole year is exactly the days from 1 January to 31 December.
    """
    text = str(value)
    if value.datatype == XSD.gYear and re.fullmatch(r"\d{4}", text):
        return Literal(f"{text}-12-31" if end else f"{text}-01-01", datatype=XSD.date)
    if value.datatype == XSD.gYearMonth and re.fullmatch(r"\d{4}-\d{2}", text):
        year, month = int(text[:4]), int(text[5:])
        last = (date(year + month // 12, month % 12 + 1, 1) - date.resolution).day
        return Literal(f"{text}-{last:02d}" if end else f"{text}-01", datatype=XSD.date)
    return value


# --- shared building blocks ------------------------------------------------------------------


def _texts(graph: Graph, subject: URIRef, predicate: URIRef, key: str, **fmt: str) -> None:
    for lang, text in TEXT[key].items():
        graph.add((subject, predicate, Literal(text.format(**fmt), lang=lang)))


def _date(value: str | date) -> Literal:
    """Return an ``xsd:date`` (or ``xsd:dateTime``) literal for a date or ISO string."""
    if isinstance(value, datetime):
        return Literal(value.isoformat(), datatype=XSD.dateTime)
    if isinstance(value, date):
        return Literal(value.isoformat(), datatype=XSD.date)
    try:
        return Literal(date.fromisoformat(value).isoformat(), datatype=XSD.date)
    except ValueError:
        return Literal(datetime.fromisoformat(value).isoformat(), datatype=XSD.dateTime)


def _bind(graph: Graph) -> Graph:
    for prefix, ns in (("dcat", DCAT), ("dct", DCTERMS), ("foaf", FOAF), ("vcard", VCARD),
                       ("spdx", SPDX), ("void", VOID), ("sd", SD), ("owl", OWL),
                       ("dcatap", DCATAP)):
        graph.bind(prefix, ns, override=True)
    return graph


class _Names:
    """The IRIs of the description, minted under the dataset base."""

    def __init__(self, base: str, site: str = "") -> None:
        self.base, self.site = base.rstrip("/"), site.rstrip("/")
        self.catalog = URIRef(f"{self.base}/catalog")
        self.dataset = URIRef(f"{self.base}/dataset")
        self.service = URIRef(f"{self.base}/service/sparql")
        self.publisher = URIRef(f"{self.base}/catalog#publisher")
        self.contact = URIRef(f"{self.base}/catalog#contact")
        self.home = URIRef(f"{self.site}/")
        self.endpoint = URIRef(f"{self.site}/sparql")

    def part(self, fragment: str) -> URIRef:
        return URIRef(f"{self.dataset}#{fragment}")

    def download(self, dist: Distribution) -> URIRef:
        return URIRef(f"{self.site}/dumps/{dist.file_name}")


def _slug(iri: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", iri.split("://", 1)[-1]).strip("-")


# --- 1. DCAT-AP catalogue ---------------------------------------------------------------------


def catalog(
    facts: DatasetFacts,
    dumps: Mapping[str, bytes],
    *,
    site: str,
    base: str,
    modified: str | date | None,
    issued: str | date | None,
    contact_email: str = DEFAULT_CONTACT_EMAIL,
    checksum_algorithm: str = "sha1",
) -> Graph:
    """Return the DCAT-AP (3.0.1, 2.1.1, DCAT-AP-SE) catalogue of the dataset and its endpoint.

    ``modified`` and ``issued`` are left out when None (the data states no such date).
    """
    n = _Names(base, site)
    g = _bind(Graph())
    dates = _dates(modified, issued)
    _catalog_node(g, n, dates)
    _agent(g, n, contact_email)
    _dataset_node(g, n, facts, dates)
    for dist in distributions(dumps):
        _dump_distribution(g, n, dist, checksum_algorithm)
    _service_node(g, n)
    _referenced(g)
    return g


def _dates(modified: str | date | None, issued: str | date | None) -> list[tuple[URIRef, Literal]]:
    """Return the ``dcterms:issued`` and ``dcterms:modified`` statements there are dates for."""
    found = ((DCTERMS.issued, issued), (DCTERMS.modified, modified))
    return [(predicate, _date(value)) for predicate, value in found if value is not None]


def _catalog_node(g: Graph, n: _Names, dates: list[tuple[URIRef, Literal]]) -> None:
    c = n.catalog
    g.add((c, RDF.type, DCAT.Catalog))
    _texts(g, c, DCTERMS.title, "catalog")
    _texts(g, c, DCTERMS.description, "catalog_description")
    g.add((c, DCTERMS.publisher, n.publisher))
    g.add((c, DCTERMS.license, URIRef(METADATA_LICENSE)))
    for predicate, value in dates:
        g.add((c, predicate, value))
    g.add((c, FOAF.homepage, n.home))
    g.add((c, DCTERMS.spatial, URIRef(f"{EU}country/SWE")))
    g.add((c, DCAT.themeTaxonomy, URIRef(f"{EU}data-theme")))
    for code in LANGUAGES:
        g.add((c, DCTERMS.language, URIRef(f"{EU}language/{code}")))
    g.add((c, DCAT.dataset, n.dataset))
    g.add((c, DCAT.service, n.service))


def _agent(g: Graph, n: _Names, email: str) -> None:
    g.add((n.publisher, RDF.type, FOAF.Agent))
    g.add((n.publisher, RDF.type, FOAF.Organization))
    for lang in ("sv", "en"):
        g.add((n.publisher, FOAF.name, Literal(PUBLISHER_NAME, lang=lang)))
    g.add((n.publisher, DCTERMS.type, URIRef(PUBLISHER_TYPE)))
    g.add((n.publisher, FOAF.homepage, n.home))
    g.add((n.contact, RDF.type, VCARD.Organization))
    g.add((n.contact, VCARD.fn, Literal(PUBLISHER_NAME)))
    g.add((n.contact, VCARD.hasEmail, URIRef(f"mailto:{email}")))
    g.add((n.contact, VCARD.hasURL, n.home))


def _common(g: Graph, n: _Names, subject: URIRef) -> None:
    """Add what the dataset and the service share: agents, keywords, themes, rights."""
    g.add((subject, DCTERMS.publisher, n.publisher))
    g.add((subject, DCAT.contactPoint, n.contact))
    for lang, words in KEYWORDS.items():
        for word in words:
            g.add((subject, DCAT.keyword, Literal(word, lang=lang)))
    for code in THEMES:
        g.add((subject, DCAT.theme, URIRef(f"{EU}data-theme/{code}")))
    g.add((subject, DCTERMS.accessRights, URIRef(f"{EU}access-right/PUBLIC")))


def _dataset_node(
    g: Graph, n: _Names, facts: DatasetFacts, dates: list[tuple[URIRef, Literal]]
) -> None:
    d = n.dataset
    g.add((d, RDF.type, DCAT.Dataset))
    _texts(g, d, DCTERMS.title, "title")
    _texts(g, d, DCTERMS.description, "description")
    _common(g, n, d)
    g.add((d, DCTERMS.creator, n.publisher))
    g.add((d, DCTERMS.identifier, Literal(str(d))))
    for predicate, value in dates:
        g.add((d, predicate, value))
    for code in LANGUAGES:
        g.add((d, DCTERMS.language, URIRef(f"{EU}language/{code}")))
    g.add((d, DCTERMS.spatial, URIRef(f"{EU}country/SWE")))
    g.add((d, DCAT.landingPage, n.home))
    g.add((d, FOAF.page, n.home))
    if facts.temporal_start is not None and facts.temporal_end is not None:
        period = n.part("temporal")
        g.add((d, DCTERMS.temporal, period))
        g.add((period, RDF.type, DCTERMS.PeriodOfTime))
        g.add((period, DCAT.startDate, as_date(facts.temporal_start, end=False)))
        g.add((period, DCAT.endDate, as_date(facts.temporal_end, end=True)))
    sparql = n.part("sparql")
    g.add((d, DCAT.distribution, sparql))
    g.add((sparql, RDF.type, DCAT.Distribution))
    _texts(g, sparql, DCTERMS.title, "sparql_dist")
    _texts(g, sparql, DCTERMS.description, "service_description")
    g.add((sparql, DCAT.accessURL, n.endpoint))
    g.add((sparql, DCAT.accessService, n.service))
    g.add((sparql, DCTERMS.format, URIRef(f"{EU}file-type/{SERVICE_FILE_TYPE}")))
    g.add((sparql, DCTERMS.conformsTo, SPARQL_PROTOCOL))
    _distribution_rights(g, sparql)


def _distribution_rights(g: Graph, dist: URIRef) -> None:
    g.add((dist, DCTERMS.license, URIRef(DATA_LICENSE)))
    g.add((dist, DCATAP.availability, URIRef(f"{EU}planned-availability/AVAILABLE")))


def _dump_distribution(g: Graph, n: _Names, dist: Distribution, algorithm: str) -> None:
    node = n.part(f"dump-{dist.ext}")
    url = n.download(dist)
    g.add((n.dataset, DCAT.distribution, node))
    g.add((node, RDF.type, DCAT.Distribution))
    _texts(g, node, DCTERMS.title, "dump", label=dist.label)
    _texts(g, node, DCTERMS.description, "dump", label=f"{dist.label} ({dist.file_name})")
    g.add((node, DCAT.downloadURL, url))
    g.add((node, DCAT.accessURL, url))
    g.add((node, DCTERMS.format, URIRef(dist.file_type_iri)))
    g.add((node, DCAT.mediaType, URIRef(dist.media_type_iri)))
    # No dcat:byteSize: DCAT-AP 2.1.1 wants xsd:decimal, 3.0.1 xsd:nonNegativeInteger (each at
    # most once), so any value violates one profile; it is only recommended. The size is in
    # the schema.org contentSize and the HTTP Content-Length.
    _distribution_rights(g, node)
    checksum = n.part(f"dump-{dist.ext}-{algorithm}")
    g.add((node, SPDX.checksum, checksum))
    g.add((checksum, RDF.type, SPDX.Checksum))
    g.add((checksum, SPDX.algorithm, SPDX[f"checksumAlgorithm_{algorithm}"]))
    g.add((checksum, SPDX.checksumValue, Literal(dist.digest(algorithm), datatype=XSD.hexBinary)))


def _service_node(g: Graph, n: _Names) -> None:
    s = n.service
    g.add((s, RDF.type, DCAT.DataService))
    _texts(g, s, DCTERMS.title, "service")
    _texts(g, s, DCTERMS.description, "service_description")
    _common(g, n, s)
    g.add((s, DCAT.endpointURL, n.endpoint))
    # GET on the endpoint without a query answers with the SPARQL service description.
    g.add((s, DCAT.endpointDescription, n.endpoint))
    g.add((s, DCAT.servesDataset, n.dataset))
    g.add((s, DCTERMS.conformsTo, SPARQL_PROTOCOL))
    g.add((s, DCAT.landingPage, n.endpoint))
    g.add((s, DCTERMS.license, URIRef(DATA_LICENSE)))
    g.add((s, DCTERMS.format, URIRef(f"{EU}file-type/{SERVICE_FILE_TYPE}")))


def _referenced(g: Graph) -> None:
    """Type the external resources the catalogue points to (RDFS-entailed by the ranges)."""
    licences = {DATA_LICENSE: ("Creative Commons Attribution 4.0 International", "Attribution"),
                METADATA_LICENSE: ("CC0 1.0 Universal", "PublicDomain")}
    for iri, (title, kind) in licences.items():
        if (None, DCTERMS.license, URIRef(iri)) in g:
            g.add((URIRef(iri), RDF.type, DCTERMS.LicenseDocument))
            g.add((URIRef(iri), DCTERMS.title, Literal(title, lang="en")))
            g.add((URIRef(iri), DCTERMS.type, URIRef(f"http://purl.org/adms/licencetype/{kind}")))
    g.add((SPARQL_PROTOCOL, RDF.type, DCTERMS.Standard))
    g.add((SPARQL_PROTOCOL, DCTERMS.title, Literal("SPARQL 1.1 Protocol", lang="en")))
    for page in set(g.objects(None, FOAF.homepage)) | set(g.objects(None, DCAT.landingPage)):
        g.add((page, RDF.type, FOAF.Document))
    for media in set(g.objects(None, DCAT.mediaType)):
        g.add((media, RDF.type, DCTERMS.MediaType))
    for algorithm in set(g.objects(None, SPDX.algorithm)):
        g.add((algorithm, RDF.type, SPDX.ChecksumAlgorithm))


# --- 2. VoID ----------------------------------------------------------------------------------


def void(facts: DatasetFacts, dumps: Mapping[str, bytes], *, site: str, base: str) -> Graph:
    """Return the VoID description: statistics, partitions, dumps, endpoint, Wikidata links."""
    n = _Names(base, site)
    g = _bind(Graph())
    d = n.dataset
    g.add((d, RDF.type, VOID.Dataset))
    _texts(g, d, DCTERMS.title, "title")
    _texts(g, d, DCTERMS.description, "description")
    g.add((d, DCTERMS.license, URIRef(DATA_LICENSE)))
    g.add((d, DCTERMS.publisher, n.publisher))
    g.add((d, FOAF.homepage, n.home))
    for prop, value in ((VOID.triples, facts.triples), (VOID.entities, facts.entities),
                        (VOID.distinctSubjects, facts.distinct_subjects),
                        (VOID.distinctObjects, facts.distinct_objects),
                        (VOID.properties, len(facts.properties)),
                        (VOID.classes, len(facts.classes))):
        g.add((d, prop, Literal(value)))
    g.add((d, VOID.uriSpace, Literal(facts.uri_space)))
    for iri in facts.examples:
        g.add((d, VOID.exampleResource, URIRef(iri)))
    for ns in facts.vocabularies:
        g.add((d, VOID.vocabulary, URIRef(ns)))
    for dist in distributions(dumps):
        g.add((d, VOID.dataDump, n.download(dist)))
        g.add((d, VOID.feature, W3C_FORMATS[_format_of(dist.ext).w3c]))
    g.add((d, VOID.sparqlEndpoint, n.endpoint))
    for cls, count in facts.classes:
        part = n.part(f"class-{_slug(cls)}")
        g.add((d, VOID.classPartition, part))
        g.add((part, VOID["class"], URIRef(cls)))
        g.add((part, VOID.entities, Literal(count)))
    for prop_iri, count in facts.properties:
        part = n.part(f"property-{_slug(prop_iri)}")
        g.add((d, VOID.propertyPartition, part))
        g.add((part, VOID.property, URIRef(prop_iri)))
        g.add((part, VOID.triples, Literal(count)))
    _linksets(g, n, facts)
    return g


def _format_of(ext: str) -> formats.Offer:
    return next(f for f in DUMP_FORMATS if f.extension == ext)


def _linksets(g: Graph, n: _Names, facts: DatasetFacts) -> None:
    """Add one ``void:Linkset`` per link predicate to Wikidata (VoID: one predicate each)."""
    if not facts.wikidata_links:
        return
    wikidata = n.part("wikidata")
    g.add((wikidata, RDF.type, VOID.Dataset))
    g.add((wikidata, DCTERMS.title, Literal("Wikidata", lang="en")))
    g.add((wikidata, FOAF.homepage, URIRef("https://www.wikidata.org/")))
    g.add((wikidata, VOID.uriSpace, Literal(WIKIDATA_ENTITY)))
    g.add((wikidata, VOID.sparqlEndpoint, URIRef("https://query.wikidata.org/sparql")))
    for predicate, count in facts.wikidata_links:
        linkset = n.part(f"wikidata-links-{_slug(predicate)}")
        g.add((n.dataset, VOID.subset, linkset))
        g.add((linkset, RDF.type, VOID.Linkset))
        g.add((linkset, VOID.subjectsTarget, n.dataset))
        g.add((linkset, VOID.objectsTarget, wikidata))
        g.add((linkset, VOID.linkPredicate, URIRef(predicate)))
        g.add((linkset, VOID.triples, Literal(count)))


# --- 3. SPARQL 1.1 service description --------------------------------------------------------


def service_description(facts: DatasetFacts, *, endpoint_url: str, base: str) -> Graph:
    """Return the SPARQL 1.1 Service Description of the endpoint at ``endpoint_url``."""
    n = _Names(base)
    g = _bind(Graph())
    s = n.service
    g.add((s, RDF.type, SD.Service))
    g.add((s, SD.endpoint, URIRef(endpoint_url)))
    g.add((s, SD.supportedLanguage, SD.SPARQL11Query))
    for name in RESULT_FORMATS:
        g.add((s, SD.resultFormat, W3C_FORMATS[name]))
    # The default graph is the union of the named graphs; SERVICE is refused, so no
    # sd:BasicFederatedQuery; no inference, so simple entailment.
    g.add((s, SD.feature, SD.UnionDefaultGraph))
    g.add((s, SD.defaultEntailmentRegime, URIRef("http://www.w3.org/ns/entailment/Simple")))
    d = n.dataset
    g.add((s, SD.defaultDataset, d))
    g.add((d, RDF.type, SD.Dataset))
    default = n.part("default-graph")
    g.add((d, SD.defaultGraph, default))
    g.add((default, RDF.type, SD.Graph))
    for prop, value in ((VOID.triples, facts.triples), (VOID.entities, facts.entities),
                        (VOID.distinctSubjects, facts.distinct_subjects),
                        (VOID.distinctObjects, facts.distinct_objects),
                        (VOID.properties, len(facts.properties)),
                        (VOID.classes, len(facts.classes))):
        g.add((default, prop, Literal(value)))
    for name, count in facts.named_graphs:
        named, graph = n.part(f"named-{_slug(name)}"), n.part(f"graph-{_slug(name)}")
        g.add((d, SD.namedGraph, named))
        g.add((named, RDF.type, SD.NamedGraph))
        g.add((named, SD.name, URIRef(name)))
        g.add((named, SD.graph, graph))
        g.add((graph, RDF.type, SD.Graph))
        g.add((graph, VOID.triples, Literal(count)))
    return g


# --- 4. schema.org Dataset for the landing page -----------------------------------------------


def schema_dataset_jsonld(
    facts: DatasetFacts,
    dumps: Mapping[str, bytes],
    *,
    site: str,
    base: str,
    modified: str | date | None = None,
) -> dict[str, Any]:
    """Return a schema.org ``Dataset`` (JSON-LD, ready for ``json.dumps``) for the HTML page."""
    n = _Names(base, site)
    agent = {"@type": "Organization", "@id": str(n.publisher), "name": PUBLISHER_NAME,
             "url": str(n.home)}
    doc: dict[str, Any] = {
        "@context": "https://schema.org/",
        "@type": "Dataset",
        "@id": str(n.dataset),
        "identifier": str(n.dataset),
        "url": str(n.home),
        "name": [{"@language": k, "@value": v} for k, v in TEXT["title"].items()],
        "description": [{"@language": k, "@value": v} for k, v in TEXT["description"].items()],
        "inLanguage": ["sv", "en"],
        "keywords": list(dict.fromkeys(w for words in KEYWORDS.values() for w in words)),
        "license": DATA_LICENSE,
        "isAccessibleForFree": True,
        "creator": agent,
        "publisher": agent,
        "spatialCoverage": {"@type": "Place", "name": "Sweden",
                            "sameAs": [f"{WIKIDATA_ENTITY}Q34", f"{EU}country/SWE"]},
        "includedInDataCatalog": {"@type": "DataCatalog", "@id": str(n.catalog),
                                  "name": TEXT["catalog"]["en"]},
        "distribution": [
            {"@type": "DataDownload", "contentUrl": str(n.download(dist)),
             "encodingFormat": dist.media_type, "contentSize": f"{dist.byte_size} B",
             "sha256": dist.sha256, "name": dist.file_name}
            for dist in distributions(dumps)
        ],
    }
    # What the dataset is about: its most described entities, named as in the data.
    labels = dict(facts.labels)
    doc["about"] = [{"@id": iri, **({"name": labels[iri]} if iri in labels else {})}
                    for iri in facts.examples]
    if facts.temporal_start is not None and facts.temporal_end is not None:
        doc["temporalCoverage"] = f"{facts.temporal_start}/{facts.temporal_end}"
    if modified is not None:
        doc["dateModified"] = str(_date(modified))
    return doc
