"""Deterministic, lossless RDF serialisation of datasets and graph results.

The same data always gives the same bytes, across runs and processes (whatever
``PYTHONHASHSEED``):

- blank nodes get canonical labels over the whole dataset (``canonical.py``);
- statements are sorted and prefixes bound in a fixed order;
- where rdflib's serialisers iterate hash-ordered sets, the input is arranged so the order does
  not matter (Turtle, RDF/XML), the order is fixed afterwards (N-Triples, N-Quads, TriG), or
  the format is written here (JSON-LD, expanded, with lexical values: rdflib's writer turns
  numbers into lossy native JSON numbers).

Formats that hold one graph (Turtle, N-Triples, RDF/XML) get the union of all graphs; TriG,
N-Quads and JSON-LD keep graph names.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from io import BytesIO
from typing import Any

from rdflib import BNode, Dataset, Graph, Literal, URIRef
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID, ConjunctiveGraph
from rdflib.namespace import OWL, RDF, RDFS, XSD, NamespaceManager, split_uri
from rdflib.plugins.serializers.nquads import _nq_row
from rdflib.plugins.serializers.nt import _nt_row
from rdflib.plugins.serializers.trig import TrigSerializer
from rdflib.plugins.serializers.turtle import _GEN_QNAME_FOR_DT, TurtleSerializer
from rdflib.term import _PLAIN_LITERAL_TYPES, Node

from aigraph.canonical import canonical_quads, term_key
from aigraph.errors import NotAcceptable, UsageError
from aigraph.formats import GRAPH, Offer, find_offer
from aigraph.model import Quad
from aigraph.settings import CANONICAL_BASE

#: Media type and file extension of each export format, from the one GRAPH table.
MEDIA_TYPES: Mapping[str, str] = {offer.name: offer.media_type for offer in GRAPH}
EXTENSIONS: Mapping[str, str] = {offer.name: offer.extension for offer in GRAPH}
FORMATS: tuple[str, ...] = tuple(offer.name for offer in GRAPH)

#: Prefixes bound in every output (given prefixes of the same name take precedence).
STANDARD_PREFIXES: Mapping[str, str] = {
    "owl": str(OWL),
    "rdf": str(RDF),
    "rdfs": str(RDFS),
    "xsd": str(XSD),
}
#: Prefixes of aigraph's and well-known vocabularies, for namespaces neither the caller nor
#: the graph names (query results carry no prefixes of their own).
WELL_KNOWN_PREFIXES: Mapping[str, str] = {
    **STANDARD_PREFIXES,
    "aig": f"{CANONICAL_BASE}/ontology#",
    "adms": "http://www.w3.org/ns/adms#",
    "dc": "http://purl.org/dc/elements/1.1/",
    "dcat": "http://www.w3.org/ns/dcat#",
    "dcatap": "http://data.europa.eu/r5r/",
    "dcterms": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "formats": "http://www.w3.org/ns/formats/",
    "locn": "http://www.w3.org/ns/locn#",
    "odrl": "http://www.w3.org/ns/odrl/2/",
    "org": "http://www.w3.org/ns/org#",
    "prov": "http://www.w3.org/ns/prov#",
    "schema": "http://schema.org/",
    "sd": "http://www.w3.org/ns/sparql-service-description#",
    "sh": "http://www.w3.org/ns/shacl#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "spdx": "http://spdx.org/rdf/terms#",
    "time": "http://www.w3.org/2006/time#",
    "vann": "http://purl.org/vocab/vann/",
    "vcard": "http://www.w3.org/2006/vcard/ns#",
    "void": "http://rdfs.org/ns/void#",
    "wd": "http://www.wikidata.org/entity/",
}
#: Prefixes rdflib makes up (``ns1``, ``schema1`` beside ``schema``): never taken from a graph.
GENERATED_PREFIX = re.compile(r"ns\d+|_.*|.*\D\d+")


def export(dataset: Graph, fmt: str, *, prefixes: Mapping[str, str] | None = None) -> bytes:
    """Serialise a whole dataset deterministically in ``fmt`` (a name of ``FORMATS``)."""
    offer = find_offer(fmt, GRAPH)
    if offer is None:
        raise UsageError(
            f"Unknown export format {fmt!r}; use one of: {', '.join(FORMATS)}",
            format=fmt,
            available=list(FORMATS),
        )
    return serialize_quads(dataset, offer, prefixes=prefixes)


def export_all(
    dataset: Graph, fmts: Iterable[str], *, prefixes: Mapping[str, str] | None = None
) -> dict[str, bytes]:
    """Return ``{fmt: export(dataset, fmt)}``, canonicalising the data once for the formats of
    triples and once for those of quads rather than once per format."""
    offers: list[tuple[str, Offer]] = []
    for fmt in fmts:
        offer = find_offer(fmt, GRAPH)
        if offer is None:
            return {fmt: export(dataset, fmt)}  # raises the UsageError that names the formats
        offers.append((fmt, offer))
    quads = list(_quads_of(dataset))
    bindings = choose_prefixes(prefixes or {}, graph_prefixes(dataset), WELL_KNOWN_PREFIXES)
    canonical: dict[bool, list[Quad]] = {}
    out = {}
    for fmt, offer in offers:
        union = not offer.quads
        if union not in canonical:
            canonical[union] = canonical_quads(quads, union=union)
        out[fmt] = _WRITERS[offer.name](canonical[union], None, bindings)
    return out


def serialize_quads(
    source: Graph | Iterable[Quad],
    offer: Offer,
    *,
    base: str | None = None,
    prefixes: Mapping[str, str] | None = None,
) -> bytes:
    """Serialise quads (graph None = default graph) or an rdflib graph/dataset in ``offer``."""
    quads = canonical_quads(_quads_of(source), union=not offer.quads)
    own = graph_prefixes(source) if isinstance(source, Graph) else {}
    bindings = choose_prefixes(prefixes or {}, own, WELL_KNOWN_PREFIXES)
    writer = _WRITERS[offer.name]
    return writer(quads, base, bindings)


def graph_prefixes(graph: Graph) -> dict[str, str]:
    """Return the prefixes bound in ``graph``, leaving out those rdflib generated."""
    return {
        prefix: str(namespace)
        for prefix, namespace in graph.namespaces()
        if prefix and not GENERATED_PREFIX.fullmatch(prefix)
    }


def choose_prefixes(*layers: Mapping[str, str]) -> dict[str, str]:
    """Merge prefix tables, earlier layers first: one prefix per namespace and vice versa."""
    chosen: dict[str, str] = {}
    for layer in layers:
        for prefix in sorted(layer):
            namespace = layer[prefix]
            if prefix not in chosen and namespace not in chosen.values():
                chosen[prefix] = namespace
    return chosen


def _quads_of(source: Graph | Iterable[Quad]) -> Iterable[Quad]:
    if not isinstance(source, Graph):
        return source
    if not isinstance(source, ConjunctiveGraph):
        return ((s, p, o, None) for s, p, o in source)
    default = source.default_graph if isinstance(source, Dataset) else source.default_context
    default_ids = {DATASET_DEFAULT_GRAPH_ID, default.identifier}
    out = []
    for s, p, o, c in source.quads((None, None, None, None)):
        name = c.identifier if isinstance(c, Graph) else c
        out.append((s, p, o, None if name is None or name in default_ids else name))
    return out


# -- writers ------------------------------------------------------------------------------------


def _graph(quads: list[Quad], bindings: Mapping[str, str]) -> Graph:
    """Build a graph whose store iterates in insertion (sorted) order, prefixes bound first."""
    graph = Graph(store="SimpleMemory", bind_namespaces="none")
    _bind(graph, quads, bindings)
    for s, p, o, _ in quads:
        graph.add((s, p, o))
    return graph


def _bind(graph: Graph, quads: list[Quad], bindings: Mapping[str, str]) -> None:
    """Bind the given prefixes, then a prefix named after its namespace for each other one.

    Predicates and classes need a prefix in Turtle and RDF/XML; rdflib would otherwise invent
    ``ns1``, ``ns2``, ... in whatever order it meets them.
    """
    for prefix in sorted(bindings):
        graph.bind(prefix, bindings[prefix], override=True, replace=True)
    manager = graph.namespace_manager
    bound = {str(namespace) for _, namespace in manager.namespaces()}
    taken = {prefix for prefix, _ in manager.namespaces()}
    needed = {p for _, p, _, _ in quads} | {o for _, p, o, _ in quads if p == RDF.type}
    for iri in sorted(t for t in needed if isinstance(t, URIRef)):
        try:
            namespace = split_uri(iri)[0]
        except ValueError:  # not splittable into a QName; written as a full IRI
            continue
        if namespace not in bound:
            prefix = _prefix_for(namespace, taken)
            graph.bind(prefix, namespace, override=True, replace=True)
            bound.add(namespace)
            taken.add(prefix)


def _prefix_for(namespace: str, taken: set[str]) -> str:
    """Name a namespace by the last word of its path, else of its host name.

    ``https://w3id.org/aigraph/ontology#`` is ``ontology``, ``http://example.org/`` ``example``.
    """
    host, _, path = namespace.split("://", 1)[-1].partition("/")
    words = re.findall(r"[A-Za-z]\w*", host)[:-1] + re.findall(r"[A-Za-z][A-Za-z0-9]*", path)
    stem = next((w.lower() for w in reversed(words) if w.lower() not in ("www", "ns")), "vocab")
    prefix, number = stem, 1
    while prefix in taken:
        number += 1
        prefix = f"{stem}{number}"
    return prefix


def _write_lines(text: str) -> bytes:
    lines = set()
    for line in text.splitlines():
        if line.endswith("  ."):  # rdflib writes default-graph N-Quads with a double space
            line = line[:-3] + " ."
        if line.strip():
            lines.add(line)
    return "".join(f"{line}\n" for line in sorted(lines)).encode("utf-8")


def _write_nt(quads: list[Quad], base: str | None, bindings: Mapping[str, str]) -> bytes:
    # rdflib's own line writer, without first building a graph of the quads.
    return _write_lines("".join(_nt_row((s, p, o)) for s, p, o, _ in quads))


def _dataset(quads: list[Quad], bindings: Mapping[str, str]) -> Dataset:
    dataset = Dataset()
    dataset.namespace_manager = NamespaceManager(dataset, bind_namespaces="none")
    _bind(dataset, quads, bindings)
    for s, p, o, g in quads:
        # rdflib's stubs want a Graph; add() also takes a graph name (it resolves it itself).
        dataset.add((s, p, o, dataset.default_graph if g is None else g))  # type: ignore[arg-type]
    return dataset


def _write_nquads(quads: list[Quad], base: str | None, bindings: Mapping[str, str]) -> bytes:
    # rdflib's own line writer (and its "replace" encoding), without first building a dataset.
    text = "".join(_nq_row((s, p, o), g) for s, p, o, g in quads)
    return _write_lines(text.encode("utf-8", "replace").decode("utf-8"))


class _ExactLiterals:
    """Write a literal in Turtle's short form only when it keeps the literal's lexical form.

    rdflib writes ``"100000000"^^xsd:decimal`` as ``100000000.0`` and ``"007"^^xsd:integer``
    as ``7``: the same value, but another RDF term, so the dump would not be lossless.
    """

    def label(self, node: Node, position: int) -> str:
        # Only literals of these datatypes have a short form (the others are written quoted).
        if isinstance(node, Literal) and node.datatype in _PLAIN_LITERAL_TYPES:
            short = node._literal_n3(use_plain=True)  # noqa: SLF001 - rdflib's own writer
            if short.startswith('"') or short == str(node):
                return super().label(node, position)  # type: ignore[misc]
            return node._literal_n3(  # noqa: SLF001 - rdflib's own writer
                use_plain=False,
                qname_callback=lambda dt: self.get_pname(dt, _GEN_QNAME_FOR_DT),  # type: ignore[attr-defined]
            )
        return super().label(node, position)  # type: ignore[misc]


class _TurtleWriter(_ExactLiterals, TurtleSerializer):
    pass


class _TrigWriter(_ExactLiterals, TrigSerializer):
    pass


def _write_turtle(quads: list[Quad], base: str | None, bindings: Mapping[str, str]) -> bytes:
    stream = BytesIO()
    _TurtleWriter(_graph(quads, bindings)).serialize(stream, base=base, encoding="utf-8")
    return stream.getvalue()


def _write_rdfxml(quads: list[Quad], base: str | None, bindings: Mapping[str, str]) -> bytes:
    try:
        return _graph(quads, bindings).serialize(format="xml", base=base, encoding="utf-8")
    except ValueError as exc:
        raise NotAcceptable(f"This graph cannot be written as RDF/XML: {exc}") from exc


def _write_trig(quads: list[Quad], base: str | None, bindings: Mapping[str, str]) -> bytes:
    dataset = _dataset(quads, bindings)
    serializer = _TrigWriter(dataset)
    # rdflib lists graphs in hash order; the default graph comes first, then graphs by name.
    serializer.contexts.sort(
        key=lambda c: term_key(None if c.identifier == DATASET_DEFAULT_GRAPH_ID else c.identifier)
    )
    stream = BytesIO()
    serializer.serialize(stream, base=base, encoding="utf-8")
    return stream.getvalue()


def _jsonld_id(term: Node) -> str:
    return term.n3() if isinstance(term, BNode) else str(term)


def _jsonld_value(term: Node) -> dict[str, str]:
    if not isinstance(term, Literal):
        return {"@id": _jsonld_id(term)}
    value = {"@value": str(term)}
    if term.language:
        value["@language"] = term.language
    elif term.datatype is not None and term.datatype != XSD.string:
        value["@type"] = str(term.datatype)
    return value


def _write_jsonld(quads: list[Quad], base: str | None, bindings: Mapping[str, str]) -> bytes:
    """Write expanded, flattened JSON-LD: one node object per subject, named graphs nested."""
    graphs: dict[Node | None, dict[str, dict[str, Any]]] = {}
    for s, p, o, g in quads:
        node_id = _jsonld_id(s)
        node = graphs.setdefault(g, {}).setdefault(node_id, {"@id": node_id})
        node.setdefault(str(p), []).append(_jsonld_value(o))
    top = graphs.pop(None, {})
    for name, nodes in graphs.items():
        if name is None:  # the default graph was popped above
            continue
        name_id = _jsonld_id(name)
        holder = top.setdefault(name_id, {"@id": name_id})
        holder["@graph"] = list(nodes.values())
    document = [top[key] for key in sorted(top)]
    text = json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True)
    return (text + "\n").encode("utf-8")


_WRITERS = {
    "turtle": _write_turtle,
    "nt": _write_nt,
    "jsonld": _write_jsonld,
    "rdfxml": _write_rdfxml,
    "trig": _write_trig,
    "nquads": _write_nquads,
}
