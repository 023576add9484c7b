"""The fast engine: an embedded pyoxigraph ``Store`` holding a copy of the loaded dataset.

Oxigraph calls ``SERVICE`` endpoints over HTTP whenever a query asks, so every query passes the
guard first and only the guard's rewritten text reaches oxigraph; a query with ``SERVICE`` never
does. ``FROM``/``FROM NAMED`` only select graphs of the store (checked: nothing is fetched).
Results are converted to rdflib terms, with ``xsd:string`` literals as plain literals as rdflib
reads them, so both engines give equal answers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from os import PathLike
from typing import Any

import pyoxigraph as ox
from rdflib import BNode, Dataset, Literal, URIRef
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID, Graph
from rdflib.namespace import XSD
from rdflib.term import Identifier, Node

from aigraph.engine import guard
from aigraph.engine.base import (
    QueryForm,
    QueryRequest,
    QueryResult,
    checked_query,
    graph_result,
    select_result,
)
from aigraph.errors import BadRequest, DataError, EngineUnavailable, QueryRefused, QuerySyntaxError

_POSITION = re.compile(r"error at (\d+):(\d+): ?(.*)", re.DOTALL)
_XSD_STRING = str(XSD.string)


class OxigraphEngine:
    """Run SPARQL queries with pyoxigraph; the default graph is the union of all graphs."""

    name = "oxigraph"

    def __init__(
        self,
        dataset: Dataset | None = None,
        *,
        store: ox.Store | None = None,
        max_nesting: int = 200,
    ) -> None:
        self._store = store if store is not None else ox.Store()
        #: Whether the store's default graph holds the union of all graphs (see load_dataset).
        self._union_in_default = dataset is not None
        self._quads = len(self._store) if dataset is None else load_dataset(self._store, dataset)
        self.max_nesting = max_nesting
        graphs = self._store.named_graphs()
        self._names = tuple(sorted(URIRef(g.value) for g in graphs if isinstance(g, ox.NamedNode)))

    @classmethod
    def from_store(
        cls, path: str | PathLike[str], *, read_only: bool = True, **options: Any
    ) -> OxigraphEngine:
        """Open an on-disk oxigraph store (read-only by default) instead of loading a dataset."""
        try:
            store = ox.Store.read_only(str(path)) if read_only else ox.Store(str(path))
        except OSError as exc:
            raise DataError(f"cannot open the oxigraph store: {exc}", path=str(path)) from exc
        return cls(store=store, **options)

    def check(self, text: str) -> guard.CheckedQuery:
        """Run the lexical guard with this engine's limits; oxigraph never runs SERVICE."""
        checked = guard.check(text, max_nesting=self.max_nesting)
        return checked

    def query(self, request: QueryRequest) -> QueryResult:
        """Run one query; raise an ``AigraphError`` for anything the user can fix."""
        checked = checked_query(self, request)
        if checked.services:  # unreachable with no allow-list; kept as the last line of defence
            raise QueryRefused("SERVICE is only available with the rdflib engine")
        options = self._options(request, checked)
        try:
            answer = self._store.query(checked.text, **options)
            return _result(checked.form, answer, request.max_rows)
        except SyntaxError as exc:
            raise _syntax_error(exc, checked) from exc
        except RuntimeError as exc:
            raise BadRequest(_runtime_message(str(exc))) from exc
        except OSError as exc:
            raise _os_error(exc) from None

    def graph_names(self) -> Sequence[URIRef]:
        """Return the IRIs of the named graphs, sorted."""
        return self._names

    def triple_count(self) -> int:
        """Return the number of quads of the store."""
        return self._quads

    def graph_count(self) -> int:
        return len(self._names)

    def close(self) -> None:
        """Drop the store (an on-disk store is closed when it is garbage collected)."""
        self._store = ox.Store()

    def _options(self, request: QueryRequest, checked: guard.CheckedQuery) -> dict[str, Any]:
        options: dict[str, Any] = {"base_iri": request.base}
        spec = request.dataset
        union = not self._union_in_default  # only an opened store needs oxigraph's (bag) union
        if spec.default_graphs is None and spec.named_graphs is None:
            # The union flag would override the query's FROM clauses: only set it without them.
            options["use_default_graph_as_union"] = union and not checked.has_dataset_clause
        else:
            if spec.default_graphs is None:
                options["use_default_graph_as_union"] = union
            else:
                options["default_graph"] = _named_nodes(spec.default_graphs)
            named = self._names if spec.named_graphs is None else spec.named_graphs
            options["named_graphs"] = _named_nodes(named)
        if request.bindings:
            try:
                options["substitutions"] = {
                    ox.Variable(name): to_oxigraph(term) for name, term in request.bindings.items()
                }
            except ValueError as exc:  # not an IRI (or variable name) oxigraph accepts
                raise BadRequest(f"cannot bind a query variable: {exc}") from exc
        return options


def load_dataset(store: ox.Store, dataset: Dataset, *, union_default: bool = True) -> int:
    """Copy every quad of an rdflib dataset into an oxigraph store; return how many.

    With ``union_default`` each triple is also put in the store's default graph, which then is
    the union of all graphs as a set. (Oxigraph's own union default graph is a bag: a triple in
    two graphs would match twice, where rdflib and the SPARQL merge match it once.)
    """
    blanks: dict[BNode, ox.BlankNode] = {}
    graphs: dict[Node | None, Any] = {}
    count = 0

    def quads() -> Iterator[ox.Quad]:
        nonlocal count
        default = ox.DefaultGraph()
        for s, p, o, g in dataset.quads((None, None, None, None)):
            name = g.identifier if isinstance(g, Graph) else g
            if name not in graphs:
                graphs[name] = _graph_name(name, blanks)
            triple = (to_oxigraph(s, blanks), to_oxigraph(p, blanks), to_oxigraph(o, blanks))
            count += 1
            yield ox.Quad(*triple, graphs[name])
            if union_default and graphs[name] != default:
                yield ox.Quad(*triple, default)

    try:
        store.bulk_extend(quads())
        for graph in dataset.graphs():  # keep empty named graphs, as rdflib lists them
            if graph.identifier != DATASET_DEFAULT_GRAPH_ID and graph.identifier not in graphs:
                store.add_graph(_graph_name(graph.identifier, blanks))
    except ValueError as exc:
        raise DataError(f"cannot copy the data into oxigraph: {exc}") from exc
    return count


def _graph_name(name: Node | None, blanks: dict[BNode, ox.BlankNode]) -> Any:
    if name is None or name == DATASET_DEFAULT_GRAPH_ID:
        return ox.DefaultGraph()
    return to_oxigraph(name, blanks)


def to_oxigraph(term: Node, blanks: dict[BNode, ox.BlankNode] | None = None) -> Any:
    """Convert an rdflib term to a pyoxigraph term."""
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype is not None:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    if isinstance(term, BNode):
        if blanks is None:
            return _blank(term)
        if term not in blanks:
            blanks[term] = _blank(term)
        return blanks[term]
    raise BadRequest(f"cannot use {term!r} as an RDF term")


def _blank(term: BNode) -> ox.BlankNode:
    try:
        return ox.BlankNode(str(term))
    except ValueError:
        return ox.BlankNode()


def to_rdflib(term: Any) -> Identifier | None:
    """Convert a pyoxigraph term to an rdflib term (the default graph is None)."""
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.Literal):
        datatype = term.datatype.value
        if term.language:
            return Literal(term.value, lang=term.language)
        if datatype == _XSD_STRING:
            return Literal(term.value)
        return Literal(term.value, datatype=URIRef(datatype))
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.DefaultGraph) or term is None:
        return None
    raise QueryRefused("results with RDF 1.2 triple terms are not supported")


def _named_nodes(iris: Iterable[str]) -> list[ox.NamedNode]:
    try:
        return [ox.NamedNode(str(iri)) for iri in iris]
    except ValueError as exc:
        raise BadRequest(f"not a valid graph IRI: {exc}") from exc


def _result(form: QueryForm, answer: Any, limit: int | None) -> QueryResult:
    if isinstance(answer, ox.QueryBoolean):
        return QueryResult(form="ask", boolean=bool(answer), limit=limit)
    if isinstance(answer, ox.QueryTriples):
        triples = (
            (to_rdflib(t.subject), to_rdflib(t.predicate), to_rdflib(t.object), None)
            for t in answer
        )
        return graph_result(form, triples, limit)  # type: ignore[arg-type]
    names = tuple(v.value for v in answer.variables)
    return select_result(names, (_row(solution, names) for solution in answer), limit)


def _row(solution: ox.QuerySolution, names: tuple[str, ...]) -> Mapping[str, Identifier]:
    row: dict[str, Identifier] = {}
    for index, name in enumerate(names):
        value = solution[index]
        if value is not None:
            row[name] = to_rdflib(value)  # type: ignore[assignment]
    return row


def _syntax_error(exc: SyntaxError, checked: guard.CheckedQuery) -> QuerySyntaxError:
    message = str(exc)
    found = _POSITION.match(message)
    if not found:
        return QuerySyntaxError(_short(message))
    line, column = checked.original_position(int(found.group(1)), int(found.group(2)))
    return QuerySyntaxError(_short(found.group(3)), line=line, column=column)


def _short(reason: str) -> str:
    """Shorten oxigraph's "expected one of <every token>" to something a person can read."""
    reason = " ".join(reason.split())
    if "Prefix not found" in reason:
        return "undefined prefix"
    return reason if len(reason) <= 160 else reason[:157] + "..."


def _runtime_message(message: str) -> str:
    unselected = re.search(r"does not contains variable (\?\S+) in its SELECT projection", message)
    if unselected:
        return f"cannot bind {unselected.group(1)}: the query does not select it"
    return scrub(message.splitlines()[0][:300]) if message else "the query failed"


#: What oxigraph says when a SERVICE call fails: it must not reach the client as such, or
#: the endpoint would tell open ports from closed ones and echo other servers' answers.
_NETWORK_ERROR = re.compile(
    r"https?://|returned by|payload|connect|lookup|address|resolve|os error (?:13|1[01]\d)\b"
    r"|timed out|refused|unreachable|network|socket|tls|certificate|dns",
    re.IGNORECASE,
)
_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://\S*", re.IGNORECASE)
_HOST_PORT = re.compile(r"\[?[\w.:-]+\]?:\d{1,5}\b|\b\d{1,3}(?:\.\d{1,3}){3}\b")


def scrub(message: str) -> str:
    """Remove URLs, host names with ports and IP addresses from an engine's message."""
    return _HOST_PORT.sub("<address>", _URL.sub("<url>", message))


def _os_error(exc: OSError) -> Exception:
    """Map an engine I/O error to a message naming no host, port or remote answer."""
    if _NETWORK_ERROR.search(str(exc)):
        return QueryRefused(guard.SERVICE_MESSAGE)
    return EngineUnavailable(f"the oxigraph store failed: {scrub(str(exc).splitlines()[0])}")
