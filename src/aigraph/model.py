"""The query result model: what a query asks for and what it answers, whatever answered it.

Results are engine-neutral: terms are rdflib terms (``URIRef``, ``BNode``, ``Literal``), so the
serialisers in ``formats.py`` and the web layer never know which engine answered.
``select_result`` and ``graph_result`` are the one place a result is cut at its row limit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import islice
from typing import Literal, Protocol

from rdflib.term import Identifier, Node, URIRef

from aigraph.formats import Offer

QueryForm = Literal["select", "ask", "construct", "describe"]

#: A result row: variable name -> bound term (unbound variables are absent).
Row = Mapping[str, Identifier]
#: A quad of a graph result; the graph is None for the default graph.
Quad = tuple[Node, Node, Node, Node | None]


@dataclass(frozen=True)
class DatasetSpec:
    """The RDF dataset of one query, from the protocol's default-graph-uri/named-graph-uri.

    ``None`` fields mean "not given": the endpoint's own default (default graph = union of all
    named graphs; every named graph available by name). Given IRIs restrict the dataset to
    graphs that exist here; nothing is ever fetched.
    """

    default_graphs: tuple[URIRef, ...] | None = None
    named_graphs: tuple[URIRef, ...] | None = None


class ByteStream(Protocol):
    """A serialised result arriving in chunks: iterate it once, then close it."""

    #: Total bytes the stream carries (known before the first one is sent).
    size: int

    def __iter__(self) -> Iterator[bytes]: ...

    def close(self) -> None:
        """Stop reading; whatever produced the bytes is released or stopped."""
        ...

    def on_close(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once, when the stream ends or is closed."""
        ...


class Checked(Protocol):
    """A query the guard let through (``engine.guard.CheckedQuery``): its form and its text."""

    @property
    def form(self) -> QueryForm: ...

    @property
    def source(self) -> str: ...


@dataclass(frozen=True)
class QueryResult:
    """The answer to one query, with its form and whether the row limit cut it."""

    form: QueryForm
    variables: tuple[str, ...] = ()
    rows: tuple[Row, ...] = ()
    boolean: bool | None = None
    triples: tuple[Quad, ...] = ()
    truncated: bool = False
    limit: int | None = None

    @property
    def count(self) -> int:
        """Return the number of rows, or of triples for a graph result."""
        return len(self.triples) if self.form in ("construct", "describe") else len(self.rows)


@dataclass(frozen=True)
class Answer:
    """A query's answer written in its negotiated format: what the web sends.

    Exactly one of ``body`` (the whole answer) and ``stream`` (a large answer, arriving in
    pieces from where it was written) is set. ``count``, ``truncated`` and ``limit`` describe
    the result that was written.
    """

    offer: Offer
    form: QueryForm
    count: int
    truncated: bool = False
    limit: int | None = None
    body: bytes | None = None
    stream: ByteStream | None = None

    @property
    def media_type(self) -> str:
        """Return the Content-Type of the answer."""
        return self.offer.content_type


@dataclass(frozen=True)
class QueryRequest:
    """One query as the engine receives it."""

    text: str
    dataset: DatasetSpec = field(default_factory=DatasetSpec)
    bindings: Mapping[str, Identifier] = field(default_factory=dict)
    base: str | None = None
    #: The most rows (or triples) the answer may hold; None for no limit. The engine cuts
    #: there and flags the cut: this is the only row limit (``core`` sets it).
    max_rows: int | None = None
    timeout: float | None = None
    #: The negotiated format: the answer is written in it where the query runs (a worker),
    #: and comes back as an ``Answer`` (``IsolatedEngine.answer``).
    format: Offer | None = None
    #: What the server's guard found (its ``CheckedQuery``), for the text above; None when the
    #: query has not been checked yet (the engine then checks it).
    checked: Checked | None = None


def select_result(
    variables: tuple[str, ...], rows: Iterable[Row], limit: int | None
) -> QueryResult:
    """Return a SELECT result of at most ``limit`` rows, reading one more to see if it was cut."""
    taken = list(islice(rows, None if limit is None else limit + 1))
    cut = limit is not None and len(taken) > limit
    return QueryResult(
        form="select",
        variables=variables,
        rows=tuple(taken[:limit] if cut else taken),
        truncated=cut,
        limit=limit,
    )


def graph_result(form: str, triples: Iterable[Quad], limit: int | None) -> QueryResult:
    """Return a CONSTRUCT/DESCRIBE result of at most ``limit`` triples, flagging a cut."""
    taken = list(islice(triples, None if limit is None else limit + 1))
    cut = limit is not None and len(taken) > limit
    return QueryResult(
        form="describe" if form == "describe" else "construct",
        triples=tuple(taken[:limit] if cut else taken),
        truncated=cut,
        limit=limit,
    )
