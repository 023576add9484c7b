"""The engine interface: what the endpoint, the named queries and the CLI ask of a query engine.

The result model it speaks (``QueryRequest``, ``QueryResult``, ...) lives in ``aigraph.model``
and is re-exported here for the engines.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from rdflib.term import URIRef

from aigraph.engine.guard import CheckedQuery
from aigraph.model import (
    Answer,
    ByteStream,
    DatasetSpec,
    Quad,
    QueryForm,
    QueryRequest,
    QueryResult,
    Row,
    graph_result,
    select_result,
)


class Engine(Protocol):
    """A read-only SPARQL 1.1 query engine over a fixed dataset."""

    name: str

    def check(self, text: str) -> CheckedQuery:
        """Run the lexical guard with this engine's limits; raise for a refused query."""
        ...

    def query(self, request: QueryRequest) -> QueryResult:
        """Run the query; raise an ``AigraphError`` subclass for anything the user can fix.

        ``request.checked``, when it is a ``CheckedQuery``, is trusted: the engine does not
        scan the text again.
        """
        ...

    def graph_names(self) -> Sequence[URIRef]:
        """Return the IRIs of the named graphs of the dataset."""
        ...

    def triple_count(self) -> int:
        """Return the number of distinct quads of the dataset."""
        ...

    def graph_count(self) -> int:
        """Return the number of named graphs (for monitoring: cheaper than ``graph_names``)."""
        ...

    def close(self) -> None:
        """Release processes, files and connections."""
        ...


def checked_query(engine: Engine, request: QueryRequest) -> CheckedQuery:
    """Return the guard's answer for ``request``: the one it carries, else ``engine``'s check."""
    if isinstance(request.checked, CheckedQuery):
        return request.checked
    return engine.check(request.text)


__all__ = [
    "Answer",
    "ByteStream",
    "CheckedQuery",
    "DatasetSpec",
    "Engine",
    "QueryForm",
    "QueryRequest",
    "QueryResult",
    "Quad",
    "Row",
    "checked_query",
    "graph_result",
    "select_result",
]
