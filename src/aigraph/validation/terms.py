"""Write RDF terms for people: prefixed names, SHACL paths, blank nodes as paths from an IRI."""

from __future__ import annotations

from collections.abc import Iterator

from rdflib import RDF, SH, XSD, BNode, Graph, Literal, URIRef
from rdflib.term import Node

from aigraph.validation.locate import LOCAL_NAME


class Names:
    """Write IRIs in prefixed form with the prefixes of the data and shapes files."""

    def __init__(self, *graphs: Graph) -> None:
        self._prefix: dict[str, str] = {}
        for graph in graphs:
            for prefix, namespace in graph.namespaces():
                self._prefix.setdefault(str(namespace), prefix)
        self._cache: dict[str, str] = {}

    def bindings(self) -> Iterator[tuple[str, str]]:
        return ((prefix, ns) for ns, prefix in self._prefix.items())

    def iri(self, iri: str) -> str:
        """Return ``prefix:local`` when a known namespace allows it, else ``<iri>``."""
        if iri not in self._cache:
            best = max((ns for ns in self._prefix if iri.startswith(ns)), key=len, default=None)
            local = iri[len(best) :] if best is not None else ""
            if best is not None and LOCAL_NAME.fullmatch(local):
                self._cache[iri] = f"{self._prefix[best]}:{local}"
            else:
                self._cache[iri] = f"<{iri}>"
        return self._cache[iri]

    def literal(self, literal: Literal) -> str:
        text = Literal(str(literal)).n3()
        if literal.language:
            return f"{text}@{literal.language}"
        if literal.datatype and literal.datatype != XSD.string:
            return f"{text}^^{self.iri(literal.datatype)}"
        return text

    def term(self, node: Node, graph: Graph) -> str:
        """Write ``node``; a blank node as the shortest path to it from an IRI of ``graph``."""
        if isinstance(node, URIRef):
            return self.iri(node)
        if isinstance(node, Literal):
            return self.literal(node)
        root, predicates = bnode_path(graph, node)
        if root is None:
            return "[ ]"
        nested = "[ ]"
        for predicate in reversed(predicates[1:]):
            nested = f"[ {self.iri(str(predicate))} {nested} ]"
        return f"{self.iri(root)} {self.iri(str(predicates[0]))} {nested}"

    def path(self, node: Node, graph: Graph) -> str:
        """Write a SHACL property path in SPARQL property-path syntax."""
        if isinstance(node, URIRef):
            return self.iri(node)
        if (node, RDF.first, None) in graph:
            return "/".join(self._sub_path(item, graph) for item in graph.items(node))
        for predicate, before, after in _PATH_FORMS:
            inner = graph.value(node, predicate)
            if inner is None:
                continue
            if predicate == SH.alternativePath:
                return "(" + "|".join(self._sub_path(i, graph) for i in graph.items(inner)) + ")"
            return f"{before}{self._sub_path(inner, graph)}{after}"
        return self.term(node, graph)

    def _sub_path(self, node: Node, graph: Graph) -> str:
        text = self.path(node, graph)
        simple = isinstance(node, URIRef) or text.startswith("(")
        return text if simple else f"({text})"


_PATH_FORMS = (
    (SH.inversePath, "^", ""),
    (SH.alternativePath, "", ""),
    (SH.zeroOrMorePath, "", "*"),
    (SH.oneOrMorePath, "", "+"),
    (SH.zeroOrOnePath, "", "?"),
)


def bnode_path(graph: Graph, node: Node, limit: int = 12) -> tuple[URIRef | None, list[Node]]:
    """Return the IRI nearest to blank node ``node`` and the predicates leading from it."""
    came_from: dict[Node, tuple[Node, Node] | None] = {node: None}
    frontier = [node]
    for _ in range(limit):
        reached: list[Node] = []
        for target in frontier:
            # IRIs first, then by name: blank-node labels differ from run to run.
            incoming = sorted(graph.subject_predicates(target), key=_incoming_order)
            for subject, predicate in incoming:
                if subject in came_from:
                    continue
                came_from[subject] = (predicate, target)
                if isinstance(subject, URIRef):
                    return subject, _walk_back(came_from, subject)
                reached.append(subject)
        if not reached:
            break
        frontier = reached
    return None, []


def _incoming_order(subject_predicate: tuple[Node, Node]) -> tuple[bool, str, str]:
    subject, predicate = subject_predicate
    blank = isinstance(subject, BNode)
    return blank, "" if blank else str(subject), str(predicate)


def _walk_back(came_from: dict[Node, tuple[Node, Node] | None], root: Node) -> list[Node]:
    predicates = []
    step = came_from[root]
    while step is not None:
        predicate, target = step
        predicates.append(predicate)
        step = came_from[target]
    return predicates
