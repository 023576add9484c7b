"""The VoID description: statistics, class and property partitions, dumps, Wikidata linksets."""

from __future__ import annotations

from collections.abc import Mapping

from rdflib import RDF, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, FOAF, VOID

from aigraph.describe.common import (
    W3C_FORMATS,
    Metadata,
    Names,
    add_counts,
    add_texts,
    bound_graph,
    distributions,
    format_of,
    read_metadata,
    slug,
)
from aigraph.statistics import WIKIDATA_ENTITY, DatasetFacts


def void(
    facts: DatasetFacts,
    dumps: Mapping[str, bytes],
    *,
    site: str,
    base: str,
    metadata: Metadata | None = None,
) -> Graph:
    """Return the VoID description: statistics, partitions, dumps, endpoint, Wikidata links.

    Title, description and licence come from ``metadata`` (default: ``dataset.ttl``).
    """
    m = metadata or read_metadata()
    n = Names(base, site)
    g = bound_graph()
    d = n.dataset
    g.add((d, RDF.type, VOID.Dataset))
    add_texts(g, d, DCTERMS.title, m.title)
    add_texts(g, d, DCTERMS.description, m.description)
    if m.data_license:
        g.add((d, DCTERMS.license, URIRef(m.data_license)))
    if m.publisher_names:
        g.add((d, DCTERMS.publisher, n.publisher))
    g.add((d, FOAF.homepage, n.home))
    add_counts(g, d, facts)
    g.add((d, VOID.uriSpace, Literal(facts.uri_space)))
    for iri in facts.examples:
        g.add((d, VOID.exampleResource, URIRef(iri)))
    for ns in facts.vocabularies:
        g.add((d, VOID.vocabulary, URIRef(ns)))
    for dist in distributions(dumps):
        g.add((d, VOID.dataDump, n.download(dist)))
        g.add((d, VOID.feature, W3C_FORMATS[format_of(dist.ext).w3c]))
    g.add((d, VOID.sparqlEndpoint, n.endpoint))
    _partitions(g, n, facts)
    _linksets(g, n, facts)
    return g


def _partitions(g: Graph, n: Names, facts: DatasetFacts) -> None:
    """Add one class partition per class and one property partition per property."""
    for cls, count in facts.classes:
        part = n.part(f"class-{slug(cls)}")
        g.add((n.dataset, VOID.classPartition, part))
        g.add((part, VOID["class"], URIRef(cls)))
        g.add((part, VOID.entities, Literal(count)))
    for prop_iri, count in facts.properties:
        part = n.part(f"property-{slug(prop_iri)}")
        g.add((n.dataset, VOID.propertyPartition, part))
        g.add((part, VOID.property, URIRef(prop_iri)))
        g.add((part, VOID.triples, Literal(count)))


def _linksets(g: Graph, n: Names, facts: DatasetFacts) -> None:
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
        linkset = n.part(f"wikidata-links-{slug(predicate)}")
        g.add((n.dataset, VOID.subset, linkset))
        g.add((linkset, RDF.type, VOID.Linkset))
        g.add((linkset, VOID.subjectsTarget, n.dataset))
        g.add((linkset, VOID.objectsTarget, wikidata))
        g.add((linkset, VOID.linkPredicate, URIRef(predicate)))
        g.add((linkset, VOID.triples, Literal(count)))
