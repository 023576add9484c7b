"""Fetch what a resource page needs from a store, for graphs that are not held in memory.

In store and backend modes the page code (``pages.resource``, ``pages.vocabulary``) works on a
small dataset built from one SPARQL query through the engine: the resource's quads, the quads
pointing at it, the blank nodes it leads to or that point at it (``BLANK_DEPTH`` deep, as deep
as a page shows them), the labels of its neighbours and of the properties linking them (a
property the data labels or types gets a page of its own), the provenance descriptions of the
graphs holding those facts (with the labels of what they name: the article, who asserts), the
statements of a graph when the IRI names one, and the ontology.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from itertools import chain, islice

from rdflib import Dataset, URIRef
from rdflib.term import Identifier

from aigraph.errors import ResultTooLarge
from aigraph.graph import new_dataset
from aigraph.model import QueryResult
from aigraph.queries import ABSOLUTE_IRI

#: Runs a trusted query with its variables bound (never pasted into the text).
Run = Callable[[str, Mapping[str, Identifier]], QueryResult]

log = logging.getLogger(__name__)

#: The properties that name a resource on a page, most specific first (``pages.labels``).
LABEL_PROPERTIES = (
    "http://www.w3.org/2004/02/skos/core#prefLabel",
    "http://www.w3.org/2000/01/rdf-schema#label",
    "http://schema.org/name",
    "https://schema.org/name",
    "http://purl.org/dc/terms/title",
    "http://xmlns.com/foaf/0.1/name",
)
_LABELS = ", ".join(f"<{iri}>" for iri in LABEL_PROPERTIES)

#: How deep the blank nodes around a resource are fetched: a page shows nested blank nodes
#: to this depth (``pages.resource``), and the labels of one level more.
BLANK_DEPTH = 3


def _blank(depth: int, incoming: bool) -> str:
    """Return a pattern binding ``?b`` to a blank node ``depth`` steps from ``?iri``.

    The first step is a triple of the resource (``incoming``: a triple pointing at it, whose
    subject is the blank node); the next ones follow blank nodes' own triples.
    """
    first = "?b1 ?q1 ?iri" if incoming else "?iri ?q1 ?b1"
    steps = [f"GRAPH ?h1 {{ {first} FILTER(isBlank(?b1)) }}"]
    steps += [
        f"GRAPH ?h{n} {{ ?b{n - 1} ?q{n} ?b{n} FILTER(isBlank(?b{n})) }}"
        for n in range(2, depth + 1)
    ]
    return " ".join(steps).replace(f"?b{depth}", "?b")


def _blank_unions() -> str:
    """The blank nodes around the resource: their triples, and the labels of what they name."""
    unions = []
    for incoming in (False, True):
        for depth in range(1, BLANK_DEPTH + 1):
            chain = _blank(depth, incoming)
            unions += [
                f"{{ {chain} BIND(?b AS ?s) GRAPH ?g {{ ?s ?p ?o }} }}",
                f"{{ {chain} GRAPH ?i {{ ?b ?r ?s FILTER(isIRI(?s)) }} "
                "GRAPH ?g { ?s ?p ?o FILTER(?p IN (LABELS)) } }",
                f"{{ {chain} GRAPH ?i {{ ?b ?s ?x }} "
                "GRAPH ?g { ?s ?p ?o FILTER(?p IN (LABELS, RDF_TYPE)) } }",
            ]
        chain = _blank(BLANK_DEPTH + 1, incoming)
        unions.append(
            f"{{ {chain} BIND(?b AS ?s) GRAPH ?g {{ ?s ?p ?o FILTER(?p IN (LABELS)) }} }}"
        )
    return "\n  UNION ".join(unions)


#: ``?iri`` is bound to the resource by the engine (it is selected so every engine accepts it).
_AROUND = (
    """SELECT ?s ?p ?o ?g ?iri WHERE {
  { GRAPH ?g { ?iri ?p ?o } BIND(?iri AS ?s) }
  UNION { GRAPH ?g { ?s ?p ?iri } BIND(?iri AS ?o) }
  UNION { { GRAPH ?h { ?iri ?q ?s } } UNION { GRAPH ?h { ?s ?q ?iri } }
          GRAPH ?g { ?s ?p ?o FILTER(?p IN (LABELS)) } }
  UNION { { GRAPH ?s { ?iri ?q ?x } } UNION { GRAPH ?s { ?x ?q ?iri } }
          GRAPH ?g { ?s ?p ?o } }
  UNION { { GRAPH ?x { ?iri ?q ?y } } UNION { GRAPH ?x { ?y ?q ?iri } }
          GRAPH ?h { ?x ?r ?s FILTER(isIRI(?s)) }
          GRAPH ?g { ?s ?p ?o FILTER(?p IN (LABELS)) } }
  UNION { { GRAPH ?h { ?iri ?s ?y } } UNION { GRAPH ?h { ?y ?s ?iri } }
          GRAPH ?g { ?s ?p ?o FILTER(?p IN (LABELS, RDF_TYPE)) } }
  UNION BLANKS
  UNION { GRAPH ?iri { ?s ?p ?o } BIND(?iri AS ?g) }
  UNION { { GRAPH ?iri { ?s ?q ?y } } UNION { GRAPH ?iri { ?y ?q ?s FILTER(isIRI(?s)) } }
          GRAPH ?g { ?s ?p ?o FILTER(?p IN (LABELS)) } }
}""".replace("BLANKS", _blank_unions())
    .replace("LABELS", _LABELS)
    .replace("RDF_TYPE", "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>")
)

#: ``?g`` is bound to the graph's name by the engine.
_GRAPH = "SELECT ?s ?p ?o ?g WHERE { GRAPH ?g { ?s ?p ?o } }"


def around(run: Run, iri: URIRef, ontology: URIRef) -> Dataset:
    """Return a dataset with what describes ``iri``, plus the ontology graph."""
    dataset = new_dataset()
    if not ABSOLUTE_IRI.match(str(iri)):
        return dataset  # not an IRI the data can hold: nothing to describe
    _add(dataset, run(_AROUND, {"iri": URIRef(iri)}), f"the surroundings of <{iri}>")
    _add(dataset, run(_GRAPH, {"g": URIRef(ontology)}), f"the graph <{ontology}>")
    return dataset


def graph(run: Run, name: URIRef) -> Dataset:
    """Return a dataset holding one named graph."""
    dataset = new_dataset()
    if ABSOLUTE_IRI.match(str(name)):
        _add(dataset, run(_GRAPH, {"g": URIRef(name)}), f"the graph <{name}>")
    return dataset


def complete(result: QueryResult, what: str) -> QueryResult:
    """Return ``result`` if it is whole; a cut answer is logged and raised, never used."""
    if result.truncated:
        raise _too_large(what, result.limit)
    return result


def bounded(dataset: Dataset, iri: URIRef, limit: int) -> Dataset:
    """Return ``dataset`` (held in memory) if the quads around ``iri`` are at most ``limit``.

    The in-memory fast path's twin of ``complete``: a resource with more quads of its own,
    pointing at it or in the graph it names than ``internal_max_rows`` is refused as the store
    path refuses its surroundings, never rendered in full. Counted lazily: at most ``limit`` + 1
    quads are read, whatever the resource's size.
    """
    quads = chain.from_iterable(
        dataset.quads(pattern)  # type: ignore[arg-type]
        for pattern in ((iri, None, None, None), (None, None, iri, None), (None, None, None, iri))
    )
    if next(islice(quads, limit, None), None) is not None:
        raise _too_large(f"the surroundings of <{iri}>", limit)
    return dataset


def _too_large(what: str, limit: int | None) -> ResultTooLarge:
    message = f"{what} needs more than {limit} rows; raise internal_max_rows to show it"
    log.warning("internal query cut: %s", message)
    return ResultTooLarge(message)


def _add(dataset: Dataset, result: QueryResult, what: str) -> None:
    for row in complete(result, what).rows:
        quad: list[Identifier | None] = [row.get(v) for v in ("s", "p", "o", "g")]
        if all(term is not None for term in quad):
            dataset.add(tuple(quad))  # type: ignore[arg-type]
