"""Canonical blank-node labels: the same quads, however ordered or labelled, in the same order.

Each connected group of blank nodes is labelled by colour refinement (1-WL) over its quads,
hash-independently, so the labels are the same across runs and processes (whatever
``PYTHONHASHSEED``). ``rdflib.compare`` (exact, but seconds for a thousand blank nodes) only
settles the rare symmetric cycles refinement cannot. A blank node shared by two graphs stays one
node; blank-node graph names are labelled too.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from typing import Any, cast

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.compare import to_canonical_graph
from rdflib.term import Node

from aigraph.model import Quad


def term_key(term: Node | None) -> tuple[int, str, str, str]:
    """Return a total, hash-independent sort key for a term (None, the default graph, first)."""
    if term is None:
        return (0, "", "", "")
    if isinstance(term, Literal):
        return (3, str(term), term.language or "", str(term.datatype or ""))
    return (2 if isinstance(term, BNode) else 1, str(term), "", "")


def quad_key(quad: Quad) -> tuple[tuple[int, str, str, str], ...]:
    s, p, o, g = quad
    return (term_key(g), term_key(s), term_key(p), term_key(o))


def canonical_quads(
    quads: Iterable[Quad], *, union: bool = False, short_labels: bool = True
) -> list[Quad]:
    """Return distinct quads, sorted, with blank nodes relabelled b0, b1, ... canonically.

    Isomorphic inputs give equal outputs. Each connected group of blank nodes is labelled on
    its own (isomorphic groups attached to the same terms are interchangeable, so their order
    does not matter). With ``union`` every quad is put in the default graph (graph None).
    Without ``short_labels`` a blank node keeps the digest of its group (``<digest>.<copy>.<n>``):
    the same group gets the same labels whatever else the data holds (for diffs).
    """
    distinct = {(s, p, o, None if union else g) for s, p, o, g in quads}
    incidence: dict[BNode, list[Quad]] = defaultdict(list)
    for quad in distinct:
        for node in {t for t in quad if isinstance(t, BNode)}:
            incidence[node].append(quad)
    by_quad = _QuadKeys()
    if not incidence:
        return sorted(distinct, key=by_quad)
    canonical = [quad for quad in distinct if not any(isinstance(t, BNode) for t in quad)]
    copies: dict[str, int] = defaultdict(int)
    texts = _TermTexts()
    for component in _components(incidence):
        labelled = _canonical_component(component, incidence, texts)
        digest = _digest("\n".join(sorted(_quad_text(quad, texts=texts) for quad in labelled)))
        prefix = f"{digest}.{copies[digest]}."
        copies[digest] += 1
        canonical.extend(
            cast(Quad, tuple(BNode(prefix + t) if isinstance(t, BNode) else t for t in quad))
            for quad in labelled
        )
    canonical.sort(key=by_quad)
    if not short_labels:
        return canonical
    labels: dict[Node, BNode] = {}  # short labels in order of first use in the sorted output

    def short(term: Any) -> Any:
        if isinstance(term, BNode) and term not in labels:
            labels[term] = BNode(f"b{len(labels)}")
        return labels.get(term, term)

    return sorted(((short(s), p, short(o), short(g)) for s, p, o, g in canonical), key=by_quad)


class _Memo(dict[Any, Any]):
    """A function of a term, computed once per term (terms recur across 60 000 quads).

    rdflib's literals with language tags equal but for case compare equal; they are kept apart.
    """

    def __init__(self, function: Callable[[Node | None], Any]) -> None:
        super().__init__()
        self.function = function

    def of(self, term: Node | None) -> Any:
        key = (term, term.language) if isinstance(term, Literal) and term.language else term
        found = self.get(key)
        if found is None:
            found = self[key] = self.function(term)
        return found


class _QuadKeys(_Memo):
    """``quad_key`` with each term's key computed once."""

    def __init__(self) -> None:
        super().__init__(term_key)

    def __call__(self, quad: Quad) -> tuple[tuple[int, str, str, str], ...]:
        s, p, o, g = quad
        return (self.of(g), self.of(s), self.of(p), self.of(o))


class _TermTexts(_Memo):
    """The text of a term other than a blank node in ``_quad_text``, written once per term."""

    def __init__(self) -> None:
        super().__init__(lambda term: json.dumps(term_key(term)))


def _components(incidence: Mapping[BNode, list[Quad]]) -> list[list[BNode]]:
    """Group blank nodes that share quads, directly or through other blank nodes."""
    parent: dict[BNode, BNode] = {node: node for node in incidence}

    def root(node: BNode) -> BNode:
        while parent[node] != node:
            parent[node] = node = parent[parent[node]]
        return node

    for node, node_quads in incidence.items():
        for quad in node_quads:
            for other in quad:
                if isinstance(other, BNode):
                    parent[root(other)] = root(node)
    groups: dict[BNode, list[BNode]] = defaultdict(list)
    for node in incidence:
        groups[root(node)].append(node)
    return list(groups.values())


def _canonical_component(
    nodes: list[BNode], incidence: Mapping[BNode, list[Quad]], texts: _TermTexts
) -> list[Quad]:
    """Return the quads of one group of blank nodes, the nodes relabelled canonically."""
    own = {node: incidence[node] for node in nodes}
    quads = {quad for node_quads in own.values() for quad in node_quads}
    colour = _refined_colours(own, texts)
    if colour is None:
        return _rdflib_canonical(quads)
    return [
        cast(Quad, tuple(BNode(colour[t]) if isinstance(t, BNode) else t for t in q)) for q in quads
    ]


def _refined_colours(
    incidence: Mapping[BNode, list[Quad]], texts: _TermTexts
) -> dict[BNode, str] | None:
    """Colour blank nodes by colour refinement (1-WL) over their quads, hash-independently.

    Nodes left with equal colours are individualised one at a time; among blank nodes that
    form no cycle equal colours mean automorphic nodes, so the pick does not change the output.
    Return None (ask the exact, slow canonicaliser) for ties among cyclic blank nodes.
    """
    colour = _refine(incidence, {node: "" for node in incidence}, texts)
    acyclic: bool | None = None
    while True:
        classes: dict[str, list[BNode]] = defaultdict(list)
        for node, value in colour.items():
            classes[value].append(node)
        ties = [members for members in classes.values() if len(members) > 1]
        if not ties:
            return colour
        if acyclic is None:
            acyclic = _is_forest(incidence)
        if not acyclic:
            return None
        chosen = min(ties, key=lambda members: (len(members), colour[members[0]]))[0]
        colour[chosen] = _digest(colour[chosen] + "!")
        colour = _refine(incidence, colour, texts)


def _refine(
    incidence: Mapping[BNode, list[Quad]], colour: dict[BNode, str], texts: _TermTexts
) -> dict[BNode, str]:
    classes = len(set(colour.values()))
    while True:
        colour = {
            node: _digest(
                colour[node]
                + "|"
                + "\n".join(sorted(_quad_text(q, node, colour, texts) for q in quads))
            )
            for node, quads in incidence.items()
        }
        refined = len(set(colour.values()))
        if refined == classes:
            return colour
        classes = refined


def _quad_text(
    quad: Quad,
    node: BNode | None = None,
    colour: Mapping[BNode, str] | None = None,
    texts: _TermTexts | None = None,
) -> str:
    """Write a quad as text: ``node`` as @, other blank nodes by colour (or by label)."""
    colour = colour or {}
    texts = _TermTexts() if texts is None else texts
    parts = []
    for term in quad:
        if node is not None and term == node:
            parts.append("@")
        elif isinstance(term, BNode):
            parts.append("_:" + colour.get(term, term))
        else:
            parts.append(texts.of(term))
    return "\t".join(parts)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _is_forest(incidence: Mapping[BNode, list[Quad]]) -> bool:
    """Tell whether blank nodes linked by shared quads form no cycle (parallel links allowed)."""
    links = set()
    for quads in incidence.values():
        for quad in quads:
            nodes = sorted({t for t in quad if isinstance(t, BNode)}, key=str)
            if len(nodes) > 2:
                return False
            if len(nodes) == 2:
                links.add((nodes[0], nodes[1]))
    # A connected group is a tree exactly when it has one link fewer than nodes.
    return len(links) == len(incidence) - 1


def _rdflib_canonical(quads: set[Quad]) -> list[Quad]:
    """Relabel with rdflib's exact but slow canonicaliser (for symmetric cycles of blank nodes).

    It takes one graph, so each predicate stands for its (graph, predicate) pair, numbered in
    sorted order: blank nodes shared between graphs keep one label.
    """
    pairs = sorted({(g, p) for _, p, _, g in quads}, key=lambda gp: tuple(map(term_key, gp)))
    codes = {pair: URIRef(f"urn:x-aigraph:pair:{index}") for index, pair in enumerate(pairs)}
    decode: dict[Node, tuple[Node | None, Node]] = {code: pair for pair, code in codes.items()}
    encoded = Graph(store="SimpleMemory", bind_namespaces="none")
    for s, p, o, g in quads:
        encoded.add((s, codes[(g, p)], o))
    return [(s, decode[c][1], o, decode[c][0]) for s, c, o in to_canonical_graph(encoded)]
