"""The statistics of the data (VoID, DCAT, the service description), with SPARQL aggregates.

One implementation for every mode (``source``): the queries run through the engine, whichever
it is and wherever the data lives, as trusted queries whose answers are never cut.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from rdflib import XSD, Literal, URIRef
from rdflib.namespace import OWL
from rdflib.term import Identifier

from aigraph.model import QueryResult
from aigraph.neighbourhood import complete

WIKIDATA_ENTITY = "http://www.wikidata.org/entity/"
SAME_AS = (OWL.sameAs, URIRef("http://schema.org/sameAs"), URIRef("https://schema.org/sameAs"))
#: Local names of predicates whose date values bound the period the data is about. Record
#: dates (published, retrieved, generated) are deliberately not among them.
TEMPORAL_NAMES = frozenset(
    {"startDate", "endDate", "startYear", "endYear", "foundingDate", "dissolutionDate"}
)
DATE_TYPES = (XSD.gYear, XSD.gYearMonth, XSD.date, XSD.dateTime)


@dataclass(frozen=True)
class DatasetFacts:
    """Statistics of a dataset, each derived from the data (see ``facts``)."""

    base: str
    triples: int
    distinct_subjects: int
    distinct_objects: int
    entities: int
    classes: tuple[tuple[str, int], ...]
    properties: tuple[tuple[str, int], ...]
    vocabularies: tuple[str, ...]
    named_graphs: tuple[tuple[str, int], ...]
    wikidata_links: tuple[tuple[str, int], ...]
    examples: tuple[str, ...]
    labels: tuple[tuple[str, str], ...]
    temporal_start: Literal | None
    temporal_end: Literal | None

    @property
    def uri_space(self) -> str:
        return f"{self.base}/id/"

    @property
    def wikidata_link_count(self) -> int:
        return sum(n for _, n in self.wikidata_links)


def namespace_of(iri: str) -> str:
    """Return the namespace of a term IRI: up to and including the last ``#`` or ``/``."""
    cut = max(iri.rfind("#"), iri.rfind("/"))
    return iri[: cut + 1]


Run = Callable[[str], QueryResult]


def _rows(run: Run, text: str) -> list[dict[str, Identifier]]:
    """Return every row of ``text``; a cut answer raises (statistics are never partial)."""
    return [dict(row) for row in complete(run(text), "a query of the dataset statistics").rows]


def _int(value: Identifier | None) -> int:
    return int(value.toPython()) if isinstance(value, Literal) else 0  # type: ignore[arg-type]


def _pairs(run: Run, text: str, key: str) -> tuple[tuple[str, int], ...]:
    return tuple(sorted((str(r[key]), _int(r.get("n"))) for r in _rows(run, text) if key in r))


def facts(run: Run, base: str, examples: int = 3) -> DatasetFacts:
    """Return the statistics of the dataset behind ``run`` (a function that answers SPARQL).

    Entities are the IRIs under ``{base}/id/``; triples are counted as a set (the union of
    the graphs), classes by their distinct instances, properties by their triples.
    """
    base = base.rstrip("/")
    space = f"{base}/id/"
    in_space = f'isIRI(?s) && STRSTARTS(STR(?s), "{space}")'
    totals = _rows(
        run,
        "SELECT (COUNT(*) AS ?n) (COUNT(DISTINCT ?s) AS ?subjects) "
        "(COUNT(DISTINCT ?o) AS ?objects) WHERE { ?s ?p ?o }",
    )[0]
    entities = _rows(
        run, f"SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE {{ ?s ?p ?o FILTER({in_space}) }}"
    )[0]
    classes = _pairs(run, "SELECT ?c (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s a ?c } GROUP BY ?c", "c")
    properties = _pairs(run, "SELECT ?p (COUNT(*) AS ?n) WHERE { ?s ?p ?o } GROUP BY ?p", "p")
    graphs = _pairs(
        run, "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g", "g"
    )
    # VALUES, not FILTER(?p IN ...): the store looks the predicates up instead of a scan.
    same_as = " ".join(f"<{p}>" for p in SAME_AS)
    links = _pairs(
        run,
        f"SELECT ?p (COUNT(*) AS ?n) WHERE {{ VALUES ?p {{ {same_as} }} ?s ?p ?o "
        f'FILTER(STRSTARTS(STR(?o), "{WIKIDATA_ENTITY}")) }}'
        " GROUP BY ?p",
        "p",
    )
    top = (
        f"SELECT ?s (COUNT(*) AS ?n) WHERE {{ ?s ?p ?o FILTER({in_space}) }} "
        f"GROUP BY ?s ORDER BY DESC(?n) ?s LIMIT {int(examples)}"
    )
    chosen = [str(r["s"]) for r in _rows(run, top) if "s" in r]
    return DatasetFacts(
        base=base,
        triples=_int(totals.get("n")),
        distinct_subjects=_int(totals.get("subjects")),
        distinct_objects=_int(totals.get("objects")),
        entities=_int(entities.get("n")),
        classes=classes,
        properties=properties,
        vocabularies=tuple(sorted({namespace_of(t) for t, _ in (*properties, *classes)})),
        named_graphs=graphs,
        wikidata_links=links,
        examples=tuple(chosen),
        labels=_labels(run, top, chosen),
        temporal_start=(period := _period(run, [p for p, _ in properties]))[0],
        temporal_end=period[1],
    )


def _labels(run: Run, top: str, subjects: list[str]) -> tuple[tuple[str, str], ...]:
    """Return the preferred label of each of ``subjects`` (the answers of the query ``top``).

    One query joins the labels to ``top`` itself, so no subject is written into query text.
    """
    rows = _rows(
        run,
        f"SELECT ?s ?l WHERE {{ {{ {top} }} ?s "
        "<http://www.w3.org/2000/01/rdf-schema#label>|<http://schema.org/name> ?l "
        'FILTER(lang(?l) IN ("en", "sv", "")) } '
        'ORDER BY ?s DESC(lang(?l) = "en") ?l',
    )
    first: dict[str, str] = {}
    for row in rows:
        if "s" in row and "l" in row:
            first.setdefault(str(row["s"]), str(row["l"]))
    return tuple((s, first[s]) for s in subjects if s in first)


def _period(run: Run, predicates: list[str]) -> tuple[Literal | None, Literal | None]:
    """Return the earliest and latest date of the properties named in ``TEMPORAL_NAMES``.

    ``predicates`` are those of the data (``facts`` has them grouped already): only the ones
    with such a local name are read, by lookup, rather than every triple filtered by name.
    """
    temporal = [p for p in predicates if re.sub(r"^.*[#/]", "", p) in TEMPORAL_NAMES]
    if not temporal:
        return None, None
    if not all(_PLAIN_IRI.fullmatch(p) for p in temporal):  # not writable as <IRI>: filter
        names = ", ".join(f'"{n}"' for n in sorted(TEMPORAL_NAMES))
        where = f'?s ?p ?o FILTER(REPLACE(STR(?p), "^.*[#/]", "") IN ({names}))'
    else:
        where = f"VALUES ?p {{ {' '.join(f'<{p}>' for p in temporal)} }} ?s ?p ?o"
    types = ", ".join(f"<{t}>" for t in DATE_TYPES)
    rows = _rows(
        run,
        f"SELECT DISTINCT ?o WHERE {{ {where} FILTER(isLiteral(?o) && DATATYPE(?o) IN ({types})) }}",
    )
    values = [o for r in rows if isinstance(o := r.get("o"), Literal)]
    if not values:
        return None, None
    ordered = sorted(values, key=lambda lit: (str(lit), str(lit.datatype)))
    return ordered[0], ordered[-1]


#: An IRI that can be written between ``<`` and ``>`` in a query as it is.
_PLAIN_IRI = re.compile(r'[^\x00-\x20<>"{}|^`\\]+')
