"""Describe the resources of the dataset: RDF descriptions and page models (no web framework).

A resource is described by its own triples (with the blank nodes they lead to), the triples
that point at it, the labels of everything it links to in both directions, and the provenance
of those facts: the descriptions, in the provenance graph, of the named graphs that hold them.
The page models turn the same data into plain dataclasses for the HTML templates; IRIs under
the base become local paths so that a copy served anywhere is browsable.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

from rdflib import BNode, Dataset, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, FOAF, OWL, RDF, RDFS, SH, SKOS, XSD, Namespace
from rdflib.term import Node

from aigraph.model import QueryResult
from aigraph.neighbourhood import BLANK_DEPTH
from aigraph.pages import labels as naming
from aigraph.queries import ABSOLUTE_IRI
from aigraph.settings import CANONICAL_BASE
from aigraph.statistics import SAME_AS, WIKIDATA_ENTITY

SCHEMA = Namespace("http://schema.org/")
PROV = Namespace("http://www.w3.org/ns/prov#")
SHAPES_NS = f"{CANONICAL_BASE}/shapes#"
LABELS = (RDFS.label, SKOS.prefLabel)
_LANGS = ("sv", "en")

#: Prefixes used to abbreviate IRIs on pages; ``aig`` is added per base.
PREFIXES = {
    "rdf": str(RDF), "rdfs": str(RDFS), "owl": str(OWL), "xsd": str(XSD), "skos": str(SKOS),
    "dcterms": str(DCTERMS), "foaf": str(FOAF), "schema": str(SCHEMA), "prov": str(PROV),
    "org": "http://www.w3.org/ns/org#", "adms": "http://www.w3.org/ns/adms#",
    "vann": "http://purl.org/vocab/vann/", "sh": str(SH), "time": "http://www.w3.org/2006/time#",
    "aigsh": SHAPES_NS, "wd": WIKIDATA_ENTITY,
}  # fmt: skip


def graph_iri(base: str, slug: str) -> URIRef:
    return URIRef(f"{base.rstrip('/')}/graph/{slug}")


def graph_id(context: object) -> Node:
    return context.identifier if isinstance(context, Graph) else context  # type: ignore[return-value]


def _in_graph(dataset: Dataset, s: Node | None, p: Node | None, g: Node) -> Iterator[tuple]:
    """Yield the quads matching ``s p ?o`` in the graph named ``g`` (rdflib takes a name)."""
    return dataset.quads((s, p, None, g))  # type: ignore[arg-type]


def is_graph_name(dataset: Dataset, iri: URIRef) -> bool:
    return any(True for _ in _in_graph(dataset, None, None, iri))


def exists(dataset: Dataset, iri: URIRef) -> bool:
    """Return whether ``iri`` occurs in the dataset (as subject, object, predicate or graph)."""
    return any(
        any(True for _ in dataset.quads(pattern))
        for pattern in ((iri, None, None, None), (None, None, iri, None), (None, iri, None, None))
    ) or is_graph_name(dataset, iri)


def _closure(dataset: Dataset, node: Node, seen: set[Node]) -> Iterator[tuple]:
    """Yield the quads of ``node`` and, recursively, of the blank nodes they lead to."""
    for s, p, o, g in dataset.quads((node, None, None, None)):
        yield s, p, o, graph_id(g)
        if isinstance(o, BNode) and o not in seen:
            seen.add(o)
            yield from _closure(dataset, o, seen)


def describe(dataset: Dataset, iri: URIRef, base: str) -> Dataset:
    """Return the description of ``iri``: its facts, its neighbours' labels, their provenance.

    Every statement is in the default graph, so that a client reading only the default graph
    of a TriG, N-Quads or JSON-LD document sees the whole description (what Turtle shows), and
    also in the named graph it comes from, where its provenance applies.
    """
    provenance = graph_iri(base, "provenance")
    facts = list(_closure(dataset, iri, set()))
    facts += [(s, p, o, graph_id(g)) for s, p, o, g in dataset.quads((None, None, iri, None))]
    if is_graph_name(dataset, iri):
        facts += [(s, p, o, graph_id(g)) for s, p, o, g in _in_graph(dataset, None, None, iri)]
    out = Dataset(default_union=True)
    for prefix, namespace in dataset.namespaces():
        out.bind(prefix, namespace, override=True)
    neighbours = {t for s, _, o, _ in facts for t in (s, o) if isinstance(t, URIRef) and t != iri}
    extra: list[tuple[Node, Node, Node, Node]] = [
        (n, p, o, graph_id(g)) for n in neighbours for p in naming.PROPERTIES for _, _, o, g in
        dataset.quads((n, p, None, None))
    ]  # fmt: skip
    graphs = {g for *_, g in facts if isinstance(g, URIRef) and g != provenance}
    extra += [
        (s, p, o, graph_id(c)) for g in graphs for s, p, o, c in
        _in_graph(dataset, g, None, provenance)
    ]  # fmt: skip
    for s, p, o, g in facts + extra:
        out.add((s, p, o, g))
        out.add((s, p, o, out.default_graph))  # type: ignore[arg-type]
    return out


def ontology_document(dataset: Dataset, base: str) -> Graph:
    """Return the ontology as loaded: the triples of the named graph ``<base>/graph/ontology``."""
    out = Graph()
    for prefix, namespace in dataset.namespaces():
        out.bind(prefix, namespace, override=True)
    for s, p, o, _ in _in_graph(dataset, None, None, graph_iri(base, "ontology")):
        out.add((s, p, o))
    return out


# -- terms as shown on pages --------------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    """An RDF term as shown on a page: text, link, and what kind of term it is."""

    text: str
    kind: str = "iri"  # iri | literal | bnode
    iri: str = ""
    href: str | None = None
    local: bool = False
    curie: str | None = None
    lang: str | None = None
    datatype: str | None = None
    nested: tuple[Property, ...] = ()

    @property
    def long(self) -> bool:
        return self.kind == "literal" and len(self.text) > 90

    @property
    def outbound(self) -> str | None:
        """Return the IRI itself as a link out, if it is a web address (http or https)."""
        return naming.outbound(self.iri)

    def link(self, lang: str) -> str:
        """Return the link to this term: a page here in ``lang`` (``?lang=``), else the IRI."""
        href = self.href or ""
        if not self.local or "#" in href:
            return href
        return f"{href}{'&' if '?' in href else '?'}lang={lang}"


@dataclass(frozen=True)
class Value:
    term: Term
    sources: tuple[int, ...] = ()


@dataclass(frozen=True)
class Property:
    predicate: Term
    values: tuple[Value, ...]


@dataclass(frozen=True)
class Source:
    """A named graph holding facts, with the sentences it was taken from and who asserts it."""

    number: int
    graph: Term
    sentences: tuple[str, ...] = ()
    attributed_to: Term | None = None
    derived_from: Term | None = None
    comment: str | None = None


@dataclass(frozen=True)
class Statement:
    subject: Term
    predicate: Term
    object: Term


@dataclass(frozen=True)
class ResourcePage:
    """Everything ``resource.html`` shows about one resource or named graph."""

    iri: str
    path: str
    label: str
    labels: dict[str, str]
    description: str | None
    types: tuple[Term, ...]
    properties: tuple[Property, ...]
    incoming: tuple[Property, ...]
    same_as: tuple[Term, ...]
    sources: tuple[Source, ...]
    statements: tuple[Statement, ...] = ()
    provenance: Source | None = None


class View:
    """Render terms of one dataset for one base and language.

    A link to an IRI goes to its page here: the local path of an IRI under the base, else
    ``/resource?iri=...`` for an IRI the data describes (a subject or object; a property
    only where the data names or types it). Other IRIs (vocabulary terms the data only
    uses) link out. ``prefixes`` are the data's own, used after the standard ones.
    """

    def __init__(
        self, dataset: Dataset, base: str, lang: str, prefixes: Mapping[str, str] | None = None
    ) -> None:
        self.dataset, self.base, self.lang = dataset, base.rstrip("/"), lang
        standard = dict(PREFIXES)  # the project's own prefixes come with its data (``prefixes``)
        known = set(standard.values())
        own = {p: n for p, n in (prefixes or {}).items() if p not in standard and n not in known}
        self.prefixes = {**standard, **own}
        self.vocabulary = naming.vocabulary()

    def local_path(self, iri: str) -> str | None:
        """Return the path on this server of an IRI minted under the base, else None.

        Only the paths this server answers at (``/id/``, ``/graph/``, ``/ontology``,
        ``/shapes``); any other IRI under the base has its page at ``/resource``.
        """
        rest = iri[len(self.base) :] if iri.startswith(self.base + "/") else ""
        if naming.SERVED_PATH.match(rest):  # never "//host" nor "/\\host": another host
            return rest
        if iri.startswith(SHAPES_NS):
            return "/shapes#" + iri[len(SHAPES_NS) :]
        return None

    def href(self, iri: str, predicate: bool = False) -> str | None:
        """Return the path of the page of ``iri`` on this server, or None (a link out)."""
        path = self.local_path(iri)
        if path is not None:
            return path
        node = URIRef(iri)
        if not ABSOLUTE_IRI.match(iri):  # /resource would refuse it: no page to link to
            return None
        if self._named(node) if predicate else self._occurs(node):
            return naming.resource_path(iri)
        return None

    def _occurs(self, node: URIRef) -> bool:
        quads = ((node, None, None, None), (None, None, node, None))
        return any(self._any(q) for q in quads) or is_graph_name(self.dataset, node)

    def _named(self, node: URIRef) -> bool:
        """Tell whether the data labels or types ``node`` (what a store fetches for properties)."""
        return any(self._any((node, p, None, None)) for p in (*naming.PROPERTIES, RDF.type))

    def _any(self, quad: tuple[Node | None, ...]) -> bool:
        return any(True for _ in self.dataset.quads(quad))  # type: ignore[arg-type]

    def curie(self, iri: str) -> str | None:
        for prefix, namespace in self.prefixes.items():
            if iri.startswith(namespace) and len(iri) > len(namespace):
                return f"{prefix}:{iri[len(namespace) :]}"
        return None

    def labels(self, node: Node) -> dict[str, str]:
        """Return one label per language (``''`` for plain literals) of ``node``."""
        return naming.collect(
            value
            for prop in naming.PROPERTIES
            for graph in (self.dataset, self.vocabulary)
            for value in graph.objects(node, prop)
        )

    def label(self, node: Node, fallback: bool = True) -> str:
        """Return the label of ``node`` for this page's reader, else (``fallback``) a name."""
        text = naming.choose(self.labels(node), self.lang)
        if text or not fallback:
            return text or ""
        path = self.local_path(str(node))
        return self.curie(str(node)) or path or naming.local_name(str(node))

    def term(self, node: Node, depth: int = 0, predicate: bool = False) -> Term:
        if isinstance(node, Literal):
            datatype = None
            if node.datatype is not None and node.datatype != XSD.string:
                datatype = self.curie(str(node.datatype)) or str(node.datatype)
            return Term(str(node), "literal", lang=node.language, datatype=datatype)
        if isinstance(node, BNode):
            nested = self.properties(node, depth + 1) if depth < BLANK_DEPTH else ()
            return Term(self.label(node, False) or "[ ]", "bnode", nested=nested)
        iri = str(node)
        path = self.href(iri, predicate)
        text = self.label(node, fallback=False) or self.curie(iri) or self.local_path(iri)
        text = text or naming.local_name(iri)
        out = naming.outbound(iri)  # never a javascript: or data: link
        return Term(text, "iri", iri, path or out, path is not None, self.curie(iri))

    def properties(
        self, node: Node, depth: int = 0, sources: SourceIndex | None = None
    ) -> tuple[Property, ...]:
        """Group the outgoing triples of ``node`` by predicate (types and labels left out)."""
        grouped: dict[Node, list[Node]] = {}
        for p, o in self.dataset.predicate_objects(node, unique=True):
            if p not in (RDF.type, *LABELS):
                grouped.setdefault(p, []).append(o)
        out = []
        for p in sorted(grouped, key=str):
            values = sorted(((o, self.term(o, depth)) for o in set(grouped[p])), key=self.order)
            out.append(Property(self.term(p, predicate=True), tuple(
                Value(t, sources.numbers(node, p, o) if sources else ()) for o, t in values
            )))  # fmt: skip
        return tuple(out)

    def order(self, value: tuple[Node, Term]) -> tuple[int, str]:
        """Sort values: the page's language first; blank nodes by what they hold, not by label."""
        node, term = value
        lang = node.language if isinstance(node, Literal) else None
        rank = 0 if lang == self.lang else 1 if lang is None else 2
        return (rank, repr(term) if isinstance(node, BNode) else str(node))


class SourceIndex:
    """Number the named graphs that hold facts, in order of first use, with their provenance."""

    def __init__(self, view: View) -> None:
        self.view = view
        self.provenance = graph_iri(view.base, "provenance")
        self.order: list[URIRef] = []

    def numbers(self, s: Node, p: Node, o: Node) -> tuple[int, ...]:
        found = sorted({graph_id(g) for *_, g in self.view.dataset.quads((s, p, o, None))}, key=str)
        out = []
        for graph in found:
            if not isinstance(graph, URIRef):
                continue
            if graph not in self.order:
                self.order.append(graph)
            out.append(self.order.index(graph) + 1)
        return tuple(out)

    def source(self, graph: URIRef, number: int = 0) -> Source:
        view, dataset = self.view, self.view.dataset

        def described(p: URIRef) -> list[Node]:
            return [o for *_, o, _ in _in_graph(dataset, graph, p, self.provenance)]

        sentences = tuple(sorted(str(o) for o in described(_source_sentence(view.base))))
        attributed = described(PROV.wasAttributedTo)
        derived = described(PROV.wasDerivedFrom)
        comments = {o.language: str(o) for o in described(RDFS.comment) if isinstance(o, Literal)}
        return Source(
            number,
            view.term(graph),
            sentences,
            view.term(attributed[0]) if attributed else None,
            view.term(derived[0]) if derived else None,
            comments.get(view.lang) or comments.get("en"),
        )

    def sources(self) -> tuple[Source, ...]:
        return tuple(self.source(g, n) for n, g in enumerate(self.order, 1))


def _source_sentence(base: str) -> URIRef:
    return URIRef(f"{base.rstrip('/')}/ontology#sourceSentence")


def page_model(
    dataset: Dataset,
    iri: URIRef,
    base: str,
    lang: str,
    prefixes: Mapping[str, str] | None = None,
) -> ResourcePage:
    """Build the page of one resource (or named graph) in ``lang`` ('sv' or 'en')."""
    view = View(dataset, base, lang, prefixes)
    index = SourceIndex(view)
    properties = view.properties(iri, sources=index)
    incoming: dict[Node, list[Value]] = {}
    pointing = [(s, p, view.term(s)) for s, p in set(dataset.subject_predicates(iri))]
    for s, p, term in sorted(pointing, key=lambda i: (view.order((i[0], i[2]))[1], str(i[1]))):
        incoming.setdefault(p, []).append(Value(term, index.numbers(s, p, iri)))
    types = tuple(sorted((view.term(t) for t in set(dataset.objects(iri, RDF.type))),
                         key=lambda t: t.text))  # fmt: skip
    same_as = tuple(
        view.term(o) for p in SAME_AS for o in sorted(set(dataset.objects(iri, p)), key=str)
    )
    statements: tuple[Statement, ...] = ()
    provenance = None
    if is_graph_name(dataset, iri):
        quads = sorted(_in_graph(dataset, None, None, iri), key=lambda q: tuple(map(str, q[:3])))
        statements = tuple(
            Statement(view.term(s), view.term(p, predicate=True), view.term(o))
            for s, p, o, _ in quads
        )
        provenance = index.source(iri)
    labels = view.labels(iri)
    descriptions = naming.collect(o for p in naming.DESCRIPTIONS for o in dataset.objects(iri, p))
    return ResourcePage(
        iri=str(iri),
        path=view.local_path(str(iri)) or naming.resource_path(str(iri)),
        label=view.label(iri),
        labels={k: labels[k] for k in _LANGS if k in labels},
        description=descriptions.get(lang) or descriptions.get(""),
        types=types,
        properties=properties,
        incoming=tuple(
            Property(view.term(p, predicate=True), tuple(v)) for p, v in incoming.items()
        ),
        same_as=same_as,
        sources=index.sources(),
        statements=statements,
        provenance=provenance,
    )


#: The kinds of resource a visitor starts from, in the order the landing page lists them.
MAIN_KINDS = (
    ("http://www.w3.org/ns/org#FormalOrganization", "http://www.w3.org/ns/org#Organization"),
    (str(SCHEMA.MonetaryGrant),),
    (str(SCHEMA.Person),),
)
_MAIN = """SELECT ?r ?class (COUNT(?x) AS ?n) WHERE {
  VALUES ?class { CLASSES }
  ?r a ?class FILTER(STRSTARTS(STR(?r), SPACE))
  { ?r ?p ?x } UNION { ?x ?p ?r }
} GROUP BY ?r ?class"""


def main_resources(
    run: Callable[[str], QueryResult], base: str, per_kind: int = 5
) -> tuple[str, ...]:
    """Return the organisations, grants and people under ``<base>/id/``, most linked first.

    ``run`` answers a SPARQL query (the engine), so this works whatever holds the data.
    """
    classes = [c for kind in MAIN_KINDS for c in kind]
    space = Literal(f"{base.rstrip('/')}/id/").n3()
    text = _MAIN.replace("CLASSES", " ".join(f"<{c}>" for c in classes)).replace("SPACE", space)
    links: list[dict[str, int]] = [{} for _ in MAIN_KINDS]
    for row in run(text).rows:
        kind = next(i for i, classes in enumerate(MAIN_KINDS) if str(row["class"]) in classes)
        iri, count = str(row["r"]), int(str(row["n"]))
        links[kind][iri] = max(links[kind].get(iri, 0), count)
    out: list[str] = []
    for found in links:
        ranked = sorted(found.items(), key=lambda item: (-item[1], item[0]))
        out += [iri for iri, _ in ranked[:per_kind] if iri not in out]
    return tuple(out)


def sorted_terms(terms: Iterable[Term]) -> tuple[Term, ...]:
    return tuple(sorted(terms, key=lambda t: t.text.lower()))
