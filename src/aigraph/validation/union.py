"""The union of a dataset's graphs as one graph, read in place: what pySHACL validates."""

from __future__ import annotations

from rdflib import Dataset, Graph
from rdflib.paths import Path as PropertyPath
from rdflib.term import Node


class UnionGraph(Graph):
    """A graph that reads the union of all graphs of a dataset in place.

    Triples added to it go to its own store, so the dataset is neither copied nor changed.
    """

    def __init__(self, dataset: Dataset) -> None:
        super().__init__(bind_namespaces="core")
        self._base = dataset.store
        self._added = False  # whether this graph's own store may hold triples
        self._length: tuple[int, int] | None = None  # (own triples, total) when last counted
        for prefix, namespace in dataset.namespaces():
            self.bind(prefix, namespace, override=False)

    def add(self, triple):  # type: ignore[no-untyped-def,override]
        self._added = True
        return super().add(triple)

    def addN(self, quads):  # type: ignore[no-untyped-def,override]  # noqa: N802 - rdflib's name
        self._added = True
        return super().addN(quads)

    def triples(self, triple):  # type: ignore[no-untyped-def,override]
        """Yield the matching triples of the dataset's union, then those added here."""
        s, p, o = triple
        if isinstance(p, PropertyPath):
            for s2, o2 in p.eval(self, s, o):
                yield s2, p, o2
            return
        for found, _ in self._base.triples((s, p, o), None):
            yield found
        if self._added:
            for found in super().triples(triple):
                if not self._in_base(found):
                    yield found

    def triples_choices(self, triple, context=None):  # type: ignore[no-untyped-def,override]
        """Yield triples matching any of the choices in the one list-valued position."""
        choices = next((i for i, part in enumerate(triple) if isinstance(part, list)), None)
        if choices is None:
            yield from self.triples(triple)
            return
        for choice in triple[choices]:
            pattern = list(triple)
            pattern[choices] = choice
            yield from self.triples(tuple(pattern))

    def __len__(self) -> int:
        own = super().__len__()
        if self._length is None or self._length[0] != own:
            added = sum(1 for t in super().triples((None, None, None)) if not self._in_base(t))
            self._length = (own, added)
        return self._base.__len__(context=None) + self._length[1]  # type: ignore[call-arg]

    def _in_base(self, triple: tuple[Node, Node, Node]) -> bool:
        return any(True for _ in self._base.triples(triple, None))  # type: ignore[arg-type]
