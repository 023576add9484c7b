"""Fetch what a resource page needs from a store, for graphs that are not held in memory.

In store and backend modes the page code (``resources``, ``docs``) works on a small dataset
built from one SPARQL query through the engine: the resource's quads, the quads pointing at it,
the blank nodes it leads to, the labels of its neighbours, the provenance descriptions of the
graphs holding those facts (with the labels of what they name: the article, who asserts), the
statements of a graph when the IRI names one, and the ontology.
"""

from __future__ import annotations

from collections.abc import Callable

from rdflib import Dataset, URIRef
from rdflib.term import Identifier

from .engine.base import QueryResult
from .graph import new_dataset
from .queries import ABSOLUTE_IRI

Run = Callable[[str], QueryResult]

_LABELS = (
    "<http://www.w3.org/2000/01/rdf-schema#label>, "
    "<http://www.w3.org/2004/02/skos/core#prefLabel>, <http://schema.org/name>"
)

_AROUND = """SELECT ?s ?p ?o ?g WHERE {
  { GRAPH ?g { <IRI> ?p ?o } BIND(<IRI> AS ?s) }
  UNION { GRAPH ?g { ?s ?p <IRI> } BIND(<IRI> AS ?o) }
  UNION { GRAPH ?h { <IRI> ?q ?s FILTER(isBlank(?s)) } GRAPH ?g { ?s ?p ?o } }
  UNION { { GRAPH ?h { <IRI> ?q ?s } } UNION { GRAPH ?h { ?s ?q <IRI> } }
          GRAPH ?g { ?s ?p ?o FILTER(?p IN (LABELS)) } }
  UNION { { GRAPH ?s { <IRI> ?q ?x } } UNION { GRAPH ?s { ?x ?q <IRI> } }
          GRAPH ?g { ?s ?p ?o } }
  UNION { { GRAPH ?x { <IRI> ?q ?y } } UNION { GRAPH ?x { ?y ?q <IRI> } }
          GRAPH ?h { ?x ?r ?s FILTER(isIRI(?s)) }
          GRAPH ?g { ?s ?p ?o FILTER(?p IN (LABELS)) } }
  UNION { GRAPH ?h { <IRI> ?q ?b FILTER(isBlank(?b)) } GRAPH ?i { ?b ?r ?s FILTER(isIRI(?s)) }
          GRAPH ?g { ?s ?p ?o FILTER(?p IN (LABELS)) } }
  UNION { GRAPH <IRI> { ?s ?p ?o } BIND(<IRI> AS ?g) }
  UNION { { GRAPH <IRI> { ?s ?q ?y } } UNION { GRAPH <IRI> { ?y ?q ?s FILTER(isIRI(?s)) } }
          GRAPH ?g { ?s ?p ?o FILTER(?p IN (LABELS)) } }
}"""

_GRAPH = "SELECT ?s ?p ?o ?g WHERE { GRAPH ?g { ?s ?p ?o } FILTER(?g = <IRI>) }"


def around(run: Run, iri: URIRef, ontology: URIRef) -> Dataset:
    """Return a dataset with what describes ``iri``, plus the ontology graph."""
    dataset = new_dataset()
    if not ABSOLUTE_IRI.match(str(iri)):
        return dataset  # nothing to describe; never pasted into a query
    _add(dataset, run(_AROUND.replace("LABELS", _LABELS).replace("<IRI>", f"<{iri}>")))
    _add(dataset, run(_GRAPH.replace("<IRI>", f"<{ontology}>")))
    return dataset


def graph(run: Run, name: URIRef) -> Dataset:
    """Return a dataset holding one named graph."""
    dataset = new_dataset()
    _add(dataset, run(_GRAPH.replace("<IRI>", f"<{name}>")))
    return dataset


def _add(dataset: Dataset, result: QueryResult) -> None:
    for row in result.rows:
        quad: list[Identifier | None] = [row.get(v) for v in ("s", "p", "o", "g")]
        if all(term is not None for term in quad):
            dataset.add(tuple(quad))  # type: ignore[arg-type]
