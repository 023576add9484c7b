"""The SPARQL 1.1 Service Description of the endpoint, with the statistics of its dataset."""

from __future__ import annotations

from collections.abc import Sequence

from rdflib import RDF, RDFS, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, VOID

from aigraph.describe.common import (
    RESULT_FORMATS,
    SD,
    W3C_FORMATS,
    Names,
    add_counts,
    bound_graph,
    slug,
)
from aigraph.statistics import DatasetFacts


def service_description(
    facts: DatasetFacts, *, endpoint_url: str, base: str, allowed_services: Sequence[str] = ()
) -> Graph:
    """Return the SPARQL 1.1 Service Description of the endpoint at ``endpoint_url``.

    With ``allowed_services`` (the ``allow_service`` prefixes) the service offers
    ``sd:BasicFederatedQuery`` and names each prefix a SERVICE clause may call.
    """
    n = Names(base)
    g = bound_graph()
    s = n.service
    g.add((s, RDF.type, SD.Service))
    g.add((s, SD.endpoint, URIRef(endpoint_url)))
    g.add((s, SD.supportedLanguage, SD.SPARQL11Query))
    for name in RESULT_FORMATS:
        g.add((s, SD.resultFormat, W3C_FORMATS[name]))
    # The default graph is the union of the named graphs; SERVICE is refused unless endpoints
    # are allow-listed (then sd:BasicFederatedQuery); no inference, so simple entailment.
    g.add((s, SD.feature, SD.UnionDefaultGraph))
    if allowed_services:
        g.add((s, SD.feature, SD.BasicFederatedQuery))
        for prefix in allowed_services:
            g.add((s, DCTERMS.references, URIRef(prefix)))
        listed = ", ".join(allowed_services)
        g.add((s, RDFS.comment, Literal(f"SERVICE may call endpoints under: {listed}", lang="en")))
    g.add((s, SD.defaultEntailmentRegime, URIRef("http://www.w3.org/ns/entailment/Simple")))
    d = n.dataset
    g.add((s, SD.defaultDataset, d))
    g.add((d, RDF.type, SD.Dataset))
    default = n.part("default-graph")
    g.add((d, SD.defaultGraph, default))
    g.add((default, RDF.type, SD.Graph))
    add_counts(g, default, facts)
    for name, count in facts.named_graphs:
        named, graph = n.part(f"named-{slug(name)}"), n.part(f"graph-{slug(name)}")
        g.add((d, SD.namedGraph, named))
        g.add((named, RDF.type, SD.NamedGraph))
        g.add((named, SD.name, URIRef(name)))
        g.add((named, SD.graph, graph))
        g.add((graph, RDF.type, SD.Graph))
        g.add((graph, VOID.triples, Literal(count)))
    return g
