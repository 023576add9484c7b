"""The DCAT-AP catalogue (3.0.1, 2.1.1, DCAT-AP-SE) of the dataset, its dumps and its endpoint.

The catalogue, the dataset, each dump and the SPARQL service, with the agents, licences and
standards they point to typed, so that harvesters validating against each profile accept it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from rdflib import RDF, XSD, Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF

from aigraph.describe.common import (
    DCATAP,
    DUMP_TEXT,
    EU,
    SERVICE_FILE_TYPE,
    SPARQL_PROTOCOL,
    SPDX,
    VCARD,
    Distribution,
    Metadata,
    Names,
    add_texts,
    as_date,
    bound_graph,
    date_literal,
    distributions,
    read_metadata,
)
from aigraph.statistics import DatasetFacts


def catalog(
    facts: DatasetFacts,
    dumps: Mapping[str, bytes],
    *,
    site: str,
    base: str,
    modified: str | date | None,
    issued: str | date | None,
    contact_email: str | None = None,
    checksum_algorithm: str = "sha1",
    metadata: Metadata | None = None,
) -> Graph:
    """Return the DCAT-AP (3.0.1, 2.1.1, DCAT-AP-SE) catalogue of the dataset and its endpoint.

    ``modified`` and ``issued`` are left out when None (the data states no such date). The
    words come from ``metadata`` (default: the bundled ``dataset.ttl``); ``contact_email``, when
    given, replaces the e-mail it states. What the metadata does not state is left out, never
    made up (``aigraph.describe.required`` lists it).
    """
    m = metadata or read_metadata()
    n = Names(base, site)
    g = bound_graph()
    dates = _dates(modified, issued)
    _catalog_node(g, n, m, dates)
    _agent(g, n, m, contact_email or m.contact_email)
    _dataset_node(g, n, m, facts, dates)
    for dist in distributions(dumps):
        _dump_distribution(g, n, m, dist, checksum_algorithm)
    _service_node(g, n, m)
    _referenced(g, m)
    return g


def _dates(modified: str | date | None, issued: str | date | None) -> list[tuple[URIRef, Literal]]:
    """Return the ``dcterms:issued`` and ``dcterms:modified`` statements there are dates for."""
    found = ((DCTERMS.issued, issued), (DCTERMS.modified, modified))
    return [(predicate, date_literal(value)) for predicate, value in found if value is not None]


def _catalog_node(g: Graph, n: Names, m: Metadata, dates: list[tuple[URIRef, Literal]]) -> None:
    c = n.catalog
    g.add((c, RDF.type, DCAT.Catalog))
    add_texts(g, c, DCTERMS.title, m.catalog_title)
    add_texts(g, c, DCTERMS.description, m.catalog_description)
    if m.publisher_names:
        g.add((c, DCTERMS.publisher, n.publisher))
    if m.catalog_license:
        g.add((c, DCTERMS.license, URIRef(m.catalog_license)))
    for predicate, value in dates:
        g.add((c, predicate, value))
    g.add((c, FOAF.homepage, n.home))
    for predicate, iris in (
        (DCTERMS.spatial, m.catalog_spatial),
        (DCAT.themeTaxonomy, m.theme_taxonomy),
        (DCTERMS.language, m.catalog_languages),
    ):
        for iri in iris:
            g.add((c, predicate, URIRef(iri)))
    g.add((c, DCAT.dataset, n.dataset))
    g.add((c, DCAT.service, n.service))


def _agent(g: Graph, n: Names, m: Metadata, email: str) -> None:
    if m.publisher_names:
        g.add((n.publisher, RDF.type, FOAF.Agent))
        g.add((n.publisher, RDF.type, FOAF.Organization))
        add_texts(g, n.publisher, FOAF.name, m.publisher_names)
        if m.publisher_type:
            g.add((n.publisher, DCTERMS.type, URIRef(m.publisher_type)))
        g.add((n.publisher, FOAF.homepage, n.home))
    if not (m.has_contact or email):
        return
    g.add((n.contact, RDF.type, VCARD.Organization))
    if m.contact_name:
        g.add((n.contact, VCARD.fn, Literal(m.contact_name)))
    if email:
        g.add((n.contact, VCARD.hasEmail, URIRef(f"mailto:{email}")))
    # The contact's own page, or else the site: questions about the data reach it there.
    g.add((n.contact, VCARD.hasURL, URIRef(m.contact_url) if m.contact_url else n.home))


def _shared(g: Graph, n: Names, m: Metadata, subject: URIRef) -> None:
    """Add what the dataset and the service share: agents, keywords, themes, rights."""
    if m.publisher_names:
        g.add((subject, DCTERMS.publisher, n.publisher))
    if (n.contact, RDF.type, VCARD.Organization) in g:
        g.add((subject, DCAT.contactPoint, n.contact))
    for lang, words in m.keywords.items():
        for word in words:
            g.add((subject, DCAT.keyword, Literal(word, lang=lang or None)))
    for theme in m.themes:
        g.add((subject, DCAT.theme, URIRef(theme)))
    g.add((subject, DCTERMS.accessRights, URIRef(f"{EU}access-right/PUBLIC")))


def _dataset_node(
    g: Graph, n: Names, m: Metadata, facts: DatasetFacts, dates: list[tuple[URIRef, Literal]]
) -> None:
    d = n.dataset
    g.add((d, RDF.type, DCAT.Dataset))
    add_texts(g, d, DCTERMS.title, m.title)
    add_texts(g, d, DCTERMS.description, m.description)
    _shared(g, n, m, d)
    if m.publisher_names:
        g.add((d, DCTERMS.creator, n.publisher))
    g.add((d, DCTERMS.identifier, Literal(str(d))))
    for predicate, value in dates:
        g.add((d, predicate, value))
    for predicate, iris in ((DCTERMS.language, m.languages), (DCTERMS.spatial, m.spatial)):
        for iri in iris:
            g.add((d, predicate, URIRef(iri)))
    g.add((d, DCAT.landingPage, n.home))
    g.add((d, FOAF.page, n.home))
    # The period the description states, else the one the data's dates span.
    start, end = m.temporal or (facts.temporal_start, facts.temporal_end)
    if start is not None and end is not None:
        period = n.part("temporal")
        g.add((d, DCTERMS.temporal, period))
        g.add((period, RDF.type, DCTERMS.PeriodOfTime))
        g.add((period, DCAT.startDate, as_date(start, end=False)))
        g.add((period, DCAT.endDate, as_date(end, end=True)))
    sparql = n.part("sparql")
    g.add((d, DCAT.distribution, sparql))
    g.add((sparql, RDF.type, DCAT.Distribution))
    add_texts(g, sparql, DCTERMS.title, m.sparql_title)
    add_texts(g, sparql, DCTERMS.description, m.service_description)
    g.add((sparql, DCAT.accessURL, n.endpoint))
    g.add((sparql, DCAT.accessService, n.service))
    g.add((sparql, DCTERMS.format, URIRef(f"{EU}file-type/{SERVICE_FILE_TYPE}")))
    g.add((sparql, DCTERMS.conformsTo, SPARQL_PROTOCOL))
    _distribution_rights(g, m, sparql)


def _distribution_rights(g: Graph, m: Metadata, dist: URIRef) -> None:
    if m.data_license:
        g.add((dist, DCTERMS.license, URIRef(m.data_license)))
    g.add((dist, DCATAP.availability, URIRef(f"{EU}planned-availability/AVAILABLE")))


def _dump_distribution(g: Graph, n: Names, m: Metadata, dist: Distribution, algorithm: str) -> None:
    node = n.part(f"dump-{dist.ext}")
    url = n.download(dist)
    g.add((n.dataset, DCAT.distribution, node))
    g.add((node, RDF.type, DCAT.Distribution))
    add_texts(g, node, DCTERMS.title, DUMP_TEXT, label=dist.label)
    add_texts(g, node, DCTERMS.description, DUMP_TEXT, label=f"{dist.label} ({dist.file_name})")
    g.add((node, DCAT.downloadURL, url))
    g.add((node, DCAT.accessURL, url))
    g.add((node, DCTERMS.format, URIRef(dist.file_type_iri)))
    g.add((node, DCAT.mediaType, URIRef(dist.media_type_iri)))
    # No dcat:byteSize: DCAT-AP 2.1.1 wants xsd:decimal, 3.0.1 xsd:nonNegativeInteger (each at
    # most once), so any value violates one profile; it is only recommended. The size is in
    # the schema.org contentSize and the HTTP Content-Length.
    _distribution_rights(g, m, node)
    checksum = n.part(f"dump-{dist.ext}-{algorithm}")
    g.add((node, SPDX.checksum, checksum))
    g.add((checksum, RDF.type, SPDX.Checksum))
    g.add((checksum, SPDX.algorithm, SPDX[f"checksumAlgorithm_{algorithm}"]))
    g.add((checksum, SPDX.checksumValue, Literal(dist.digest(algorithm), datatype=XSD.hexBinary)))


def _service_node(g: Graph, n: Names, m: Metadata) -> None:
    s = n.service
    g.add((s, RDF.type, DCAT.DataService))
    add_texts(g, s, DCTERMS.title, m.service_title)
    add_texts(g, s, DCTERMS.description, m.service_description)
    _shared(g, n, m, s)
    g.add((s, DCAT.endpointURL, n.endpoint))
    # GET on the endpoint without a query answers with the SPARQL service description.
    g.add((s, DCAT.endpointDescription, n.endpoint))
    g.add((s, DCAT.servesDataset, n.dataset))
    g.add((s, DCTERMS.conformsTo, SPARQL_PROTOCOL))
    g.add((s, DCAT.landingPage, n.endpoint))
    if m.data_license:
        g.add((s, DCTERMS.license, URIRef(m.data_license)))
    g.add((s, DCTERMS.format, URIRef(f"{EU}file-type/{SERVICE_FILE_TYPE}")))


def _referenced(g: Graph, m: Metadata) -> None:
    """Type the external resources the catalogue points to (RDFS-entailed by the ranges)."""
    for iri, kind, title in m.licence_documents:
        if (None, DCTERMS.license, URIRef(iri)) in g:
            g.add((URIRef(iri), RDF.type, DCTERMS.LicenseDocument))
            g.add((URIRef(iri), DCTERMS.title, title))
            if kind:
                g.add((URIRef(iri), DCTERMS.type, URIRef(kind)))
    g.add((SPARQL_PROTOCOL, RDF.type, DCTERMS.Standard))
    g.add((SPARQL_PROTOCOL, DCTERMS.title, Literal("SPARQL 1.1 Protocol", lang="en")))
    for page in set(g.objects(None, FOAF.homepage)) | set(g.objects(None, DCAT.landingPage)):
        g.add((page, RDF.type, FOAF.Document))
    for media in set(g.objects(None, DCAT.mediaType)):
        g.add((media, RDF.type, DCTERMS.MediaType))
    for algorithm in set(g.objects(None, SPDX.algorithm)):
        g.add((algorithm, RDF.type, SPDX.ChecksumAlgorithm))
