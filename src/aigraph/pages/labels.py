"""What a resource is called on a page and where its page is.

A label in the reader's language, else a local name; the page of an IRI outside the base is
``/resource?iri=...``, and only web IRIs (http, https) are ever links out.

Labels come from the common naming properties (``neighbourhood.LABEL_PROPERTIES``:
``skos:prefLabel``, ``rdfs:label``, ``schema:name`` with http and https, ``dcterms:title``,
``foaf:name``), whatever vocabulary the data uses. One label is kept per language tag; the
page's language wins, then a plain literal, then English, then any other language (in tag
order, so the choice is stable). A resource with no label is called by its local name: the
fragment of a hash IRI or the last segment of its path, percent-decoded.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from urllib.parse import quote, unquote

from rdflib import Graph, Literal, URIRef
from rdflib.term import Node

from aigraph import content
from aigraph.neighbourhood import LABEL_PROPERTIES

#: The naming properties, most specific first (the first one found per language wins).
PROPERTIES: tuple[URIRef, ...] = tuple(URIRef(iri) for iri in LABEL_PROPERTIES)
#: What a page shows under its heading, most specific first.
DESCRIPTIONS: tuple[URIRef, ...] = tuple(
    URIRef(iri)
    for iri in (
        "http://schema.org/description",
        "https://schema.org/description",
        "http://purl.org/dc/terms/description",
        "http://www.w3.org/2004/02/skos/core#definition",
        "http://www.w3.org/2000/01/rdf-schema#comment",
    )
)
#: The page of an IRI outside the base: ``/resource?iri=<the IRI, percent-encoded>``.
RESOURCE_PAGE = "/resource"
#: The paths under the base that this server answers at (``pages.resource.View.local_path``).
SERVED_PATH = re.compile(r"/(id/|graph/|ontology(/|#|\Z)|shapes(#|\Z))(?![/\\])")
#: IRIs a page may link out to (an IRI of another scheme is shown, never linked).
_WEB = re.compile(r"https?://[^\s<>\"'\\`]+\Z", re.IGNORECASE)


def resource_path(iri: str) -> str:
    """Return the path of the page of an IRI outside the base: ``/resource?iri=...``."""
    return f"{RESOURCE_PAGE}?iri={quote(iri, safe='')}"


#: Which IRIs of ``VALUES ?iri { {iris} }`` have a page at ``/resource``: those the data uses as
#: a subject or an object, or names a graph with (``View.href`` of a term; the query page asks
#: it of the endpoint for the IRIs of a result table).
DESCRIBED_QUERY = """SELECT ?iri WHERE {
  VALUES ?iri { {iris} }
  FILTER EXISTS {
    { ?iri ?p ?o } UNION { ?s ?p ?iri } UNION { GRAPH ?g { ?iri ?p ?o } }
    UNION { GRAPH ?g { ?s ?p ?iri } } UNION { GRAPH ?iri { ?s ?p ?o } }
  }
}"""


def page_links(shapes: str) -> dict[str, str]:
    """Return the link rule of pages for the query page's script (``static/query.js``).

    ``served``: ``SERVED_PATH`` as a JavaScript pattern; ``resourcePage``: the page of an IRI
    up to the IRI; ``described``: ``DESCRIBED_QUERY``; ``shapes``: the shapes namespace.
    """
    return {
        "served": SERVED_PATH.pattern.replace(r"\Z", "$"),
        "resourcePage": resource_path(""),
        "described": DESCRIBED_QUERY,
        "shapes": shapes,
    }


def outbound(iri: str) -> str | None:
    """Return ``iri`` when a page may link out to it (http or https), else None."""
    return iri if _WEB.match(iri) else None


def collect(values: Iterable[Node]) -> dict[str, str]:
    """Return one label per language tag (``''`` for a plain literal), the first seen winning."""
    found: dict[str, str] = {}
    for value in values:
        if isinstance(value, Literal) and str(value).strip():
            found.setdefault((value.language or "").lower(), str(value))
    return found


def choose(labels: Mapping[str, str], lang: str) -> str | None:
    """Return the label for a reader of ``lang``: exact tag, same language, plain, English, any."""
    if not labels:
        return None
    lang = lang.lower()
    if lang in labels:
        return labels[lang]
    regional = sorted(tag for tag in labels if tag.split("-", 1)[0] == lang)
    if regional:
        return labels[regional[0]]
    for fallback in ("", "en"):
        if fallback in labels:
            return labels[fallback]
    return labels[sorted(labels)[0]]


def local_name(iri: str) -> str:
    """Return a readable name from the IRI itself: its fragment, else its last path segment."""
    head, hash_, fragment = iri.partition("#")
    if hash_ and fragment:
        return unquote(fragment)
    segments = [s for s in head.rstrip("/").split("/") if s]
    name = segments[-1] if segments else head
    if ":" in name and "/" not in head:  # urn:isbn:123, mailto:a@b: the part after the scheme
        name = name.split(":", 1)[1]
    return unquote(name) or iri


@lru_cache(maxsize=1)
def vocabulary() -> Graph:
    """Return the declarations of the reused vocabularies (for labels of their terms)."""
    graph = Graph()
    path = content.vocabularies_file()
    if path.is_file():
        graph.parse(path, format="turtle")
    return graph
