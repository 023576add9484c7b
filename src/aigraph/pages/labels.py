"""What a resource is called on a page: its label in the reader's language, else a local name.

Labels come from the common naming properties (``neighbourhood.LABEL_PROPERTIES``:
``skos:prefLabel``, ``rdfs:label``, ``schema:name`` with http and https, ``dcterms:title``,
``foaf:name``), whatever vocabulary the data uses. One label is kept per language tag; the
page's language wins, then a plain literal, then English, then any other language (in tag
order, so the choice is stable). A resource with no label is called by its local name: the
fragment of a hash IRI or the last segment of its path, percent-decoded.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from urllib.parse import unquote

from rdflib import Graph, Literal, URIRef
from rdflib.term import Node

from aigraph import content
from aigraph.neighbourhood import LABEL_PROPERTIES

#: The naming properties, most specific first (the first one found per language wins).
PROPERTIES: tuple[URIRef, ...] = tuple(URIRef(iri) for iri in LABEL_PROPERTIES)


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
