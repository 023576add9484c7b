"""An engine that answers from an existing SPARQL 1.1 store over HTTP, through SPARQLWrapper.

Also runs one query against any endpoint for ``aigraph query --endpoint`` (``remote_query``).

The guard runs first (no SERVICE, no update ever reaches the store). SELECT and ASK ask for
SPARQL JSON results, CONSTRUCT and DESCRIBE for N-Triples, which is read line by line and no
further than the row limit. Parameters are bound with a trailing ``VALUES`` clause. The
protocol's dataset becomes ``default-graph-uri``/``named-graph-uri`` parameters; the store's
own default graph is used when none is given (``aigraph load --to`` fills it with the union of
all graphs, as the embedded engines see it).

Stores differ in what a query without a dataset sees; ``default_graph`` and ``graphs`` make
them agree. Virtuoso's default graph is the union of *every* graph, its system graphs too, and
its Graph Store has no default graph to fill: there ``load --to`` writes the union into the
named graph ``default_graph``, and a query without FROM is sent with that graph as its default
graph and the data graphs (the named graphs under the ``graphs`` prefixes) as its named graphs.
The store's own limits are read from its answer: a result the store cut at its row cap
(Virtuoso's ``X-SPARQL-MaxRows``) is flagged as cut, and a partial answer the store returns at
its time limit (``X-SQL-State: S1TAT``) is a timeout, never an answer. The query timeout is also
sent as the ``timeout`` parameter (milliseconds), which Virtuoso honours and others ignore.

Errors: the store's 400 becomes a ``QuerySyntaxError`` (with line and column when the message
has them) or a ``BadRequest``, carrying the store's message; a timeout is a ``QueryTimeout``;
anything else (5xx, refused connection, a wrong URL) is ``EngineUnavailable``.
"""

from __future__ import annotations

import json
import re
import socket
import urllib.error
from collections.abc import Mapping, Sequence
from dataclasses import replace
from http.client import HTTPException
from io import BytesIO
from itertools import islice
from typing import Any

import pyoxigraph as ox
from rdflib import Graph, Literal, URIRef
from rdflib.term import Identifier
from SPARQLWrapper import JSON, N3, POST, TURTLE, SPARQLWrapper
from SPARQLWrapper.SPARQLExceptions import SPARQLWrapperException

from aigraph.engine import guard
from aigraph.engine.base import (
    DatasetSpec,
    QueryRequest,
    QueryResult,
    checked_query,
    graph_result,
    select_result,
)
from aigraph.engine.guard import query_form
from aigraph.engine.oxigraph_engine import to_rdflib
from aigraph.errors import (
    BadRequest,
    EngineUnavailable,
    QueryRefused,
    QuerySyntaxError,
    QueryTimeout,
)
from aigraph.formats import RESULTS, graph_offer
from aigraph.results import parse_results
from aigraph.settings import Settings

#: What a graph answer is asked for in: N-Triples (streamed line by line), else Turtle.
_NT, _TURTLE = graph_offer("nt"), graph_offer("turtle")

_POSITION = re.compile(r"(?:error )?at (?:line )?(\d+)(?::| column )(\d+):? ?(.*)", re.DOTALL)
_GRAPHS = "SELECT DISTINCT ?g WHERE { GRAPH ?g { } }"
_GRAPHS_USED = "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"
#: Virtuoso's syntax errors: "SP030: SPARQL compiler, line 1: syntax error at ...".
_LINE = re.compile(r"SPARQL compiler, line (\d+): (.*?)(?:\n\s*SPARQL query:.*)?$", re.DOTALL)
#: Virtuoso's refusal of a query it estimates would run past its own time limit.
_ESTIMATE = re.compile(r"estimated execution time .* exceeds the limit", re.IGNORECASE)
#: Virtuoso's pragma for a DESCRIBE as Oxigraph answers it: the concise bounded description.
_CBD = 'define sql:describe-mode "CBD" '
#: A graph that names nothing: the default graph of a restricted store that lists no graphs.
_NO_GRAPH = "urn:aigraph:no-graph"
_COUNT = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"
#: A SPARQL variable name (VARNAME: letters, digits and underscores).
_VARIABLE = re.compile(r"\w+")


class RemoteEngine:
    """Run queries on a remote SPARQL 1.1 endpoint; the dataset is whatever the store holds."""

    name = "remote"

    def __init__(
        self,
        endpoint: str,
        *,
        max_nesting: int = 200,
        timeout: float = Settings.query_timeout,
        default_graph: str = "",
        graphs: Sequence[str] = (),
    ) -> None:
        self.endpoint = endpoint
        self.max_nesting = max_nesting
        self.timeout = timeout
        #: The named graph read as the default graph of a query without a dataset.
        self.default_graph = default_graph
        #: IRI prefixes of the named graphs that hold the data (empty: every named graph).
        self.graphs = tuple(graphs)
        self._names: tuple[URIRef, ...] | None = None
        self._server: str | None = None

    def check(self, text: str) -> guard.CheckedQuery:
        """Run the lexical guard; the remote store never runs SERVICE or updates for us."""
        checked = guard.check(text, max_nesting=self.max_nesting)
        if checked.services:
            raise QueryRefused("SERVICE is not available with a remote backend")
        return checked

    def query(self, request: QueryRequest) -> QueryResult:
        """Run one query on the store; raise an ``AigraphError`` for every failure."""
        return self._run(request, request.max_rows)

    def _run(self, request: QueryRequest, limit: int | None, *, whole: bool = False) -> QueryResult:
        checked = checked_query(self, request)
        # Risky IRI characters go as \uXXXX escapes (the guard's reading), but Virtuoso reads
        # no escapes in IRIs: it gets the text as written, which the guard read just the same.
        text = checked.source if self._virtuoso() else checked.text
        if checked.form == "describe" and self._virtuoso():
            text = _CBD + text  # Virtuoso's DESCRIBE adds incoming triples; Oxigraph's is a CBD
        wrapper = self._wrapper(text + values_clause(_checked(request.bindings)), request)
        # SPARQLWrapper guesses the form from keywords, comments included; the guard knows it.
        wrapper.queryType = checked.form.upper()
        if not whole:
            self._dataset(wrapper, request.dataset, checked)
        graph_form = checked.form in ("construct", "describe")
        if graph_form:
            wrapper.setReturnFormat(TURTLE)  # the Accept header below asks for N-Triples
            wrapper.addCustomHttpHeader("Accept", _NT.media_type)
        response = self._send(wrapper, checked)
        if response.headers.get("X-SQL-State") == "S1TAT":  # Virtuoso's partial "anytime" answer
            response.close()
            raise QueryTimeout(f"{self.endpoint} stopped the query at its time limit")
        cap = _backend_cap(response.headers.get("X-SPARQL-MaxRows"), limit)
        if cap is not None:
            limit = cap
        try:
            if graph_form:
                return _flag_cap(_graph_result(checked.form, response, limit), cap)
            media_type = response.headers.get("Content-Type", RESULTS[0].media_type)
            result = parse_results(response.read(), media_type)
        except TimeoutError:
            raise QueryTimeout(
                f"{self.endpoint} did not answer within {self._limit(request):g} s"
            ) from None
        except (OSError, HTTPException) as exc:
            raise EngineUnavailable(f"{self.endpoint} broke off the answer: {exc}") from None
        finally:
            response.close()
        return _flag_cap(_cut(result, limit), cap)

    def graph_names(self) -> Sequence[URIRef]:
        """Return the IRIs of the store's named graphs, sorted (asked once)."""
        if self._names is None:
            result = self._run(QueryRequest(_GRAPHS), None, whole=True)
            if not any("g" in row for row in result.rows):  # Virtuoso needs a pattern
                result = self._run(QueryRequest(_GRAPHS_USED), None, whole=True)
            names = sorted(URIRef(r["g"]) for r in result.rows if "g" in r)
            self._names = tuple(n for n in names if self._holds_data(n))
        return self._names

    def _virtuoso(self) -> bool:
        """Whether the store is Virtuoso (its Server header, asked once)."""
        if self._server is None:
            wrapper = self._wrapper("ASK {}", QueryRequest("ASK {}"))
            wrapper.queryType = "ASK"
            response = self._send(wrapper, guard.check("ASK {}"))
            self._server = response.headers.get("Server", "")
            response.close()
        return self._server.startswith("Virtuoso")

    def _holds_data(self, name: URIRef) -> bool:
        if str(name) == self.default_graph:
            return False
        return not self.graphs or str(name).startswith(self.graphs)

    def graph_count(self) -> int:
        return len(self.graph_names())

    def triple_count(self) -> int:
        """Return the number of quads in the store's named graphs."""
        result = self._run(QueryRequest(_COUNT), None)
        return int(result.rows[0]["n"]) if result.rows else 0

    def close(self) -> None:
        """Nothing to release: every query opens its own connection."""

    def _limit(self, request: QueryRequest) -> float:
        return request.timeout or self.timeout

    def _wrapper(self, text: str, request: QueryRequest) -> SPARQLWrapper:
        wrapper = SPARQLWrapper(self.endpoint)
        wrapper.setMethod(POST)
        wrapper.setQuery(text)
        wrapper.setReturnFormat(JSON)
        wrapper.setOnlyConneg(True)  # no format= parameter: Virtuoso would prefer it to Accept
        wrapper.timeout = self._limit(request)  # type: ignore[assignment]  # setTimeout would round to whole seconds
        wrapper.addParameter("timeout", str(int(self._limit(request) * 1000)))
        return wrapper

    def _dataset(
        self, wrapper: SPARQLWrapper, spec: DatasetSpec, checked: guard.CheckedQuery
    ) -> None:
        """Pass the protocol dataset on; a missing half defaults to all graphs, as locally.

        A store restricted by ``default_graph`` or ``graphs`` gets the dataset spelled out
        whenever the query names none itself.
        """
        restricted = bool(self.default_graph or self.graphs)
        given = spec.default_graphs is not None or spec.named_graphs is not None
        if not given and (checked.has_dataset_clause or not restricted):
            return
        every = self.graph_names()
        union = [URIRef(self.default_graph)] if self.default_graph else every
        default = (
            (union or [URIRef(_NO_GRAPH)]) if spec.default_graphs is None else spec.default_graphs
        )
        named = (every or [URIRef(_NO_GRAPH)]) if spec.named_graphs is None else spec.named_graphs
        for iri in default:
            wrapper.addParameter("default-graph-uri", str(iri))
        for iri in named:
            wrapper.addParameter("named-graph-uri", str(iri))

    def _send(self, wrapper: SPARQLWrapper, checked: guard.CheckedQuery) -> Any:
        try:
            return wrapper.query().response
        except SPARQLWrapperException as exc:
            status = _STATUS.get(type(exc).__name__, 500)
            raise _http_error(self.endpoint, status, _body(exc), checked) from None
        except urllib.error.HTTPError as exc:
            raise _http_error(self.endpoint, exc.code, exc.read(), checked) from None
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, (TimeoutError, socket.timeout)):
                raise QueryTimeout(f"{self.endpoint} did not answer in time") from None
            raise EngineUnavailable(
                f"cannot reach the backend {self.endpoint}: {exc.reason}"
            ) from None
        except TimeoutError:
            raise QueryTimeout(
                f"{self.endpoint} did not answer within {wrapper.timeout:g} s"
            ) from None
        except (OSError, HTTPException) as exc:
            raise EngineUnavailable(f"cannot reach the backend {self.endpoint}: {exc}") from None


_STATUS = {
    "QueryBadFormed": 400,
    "Unauthorized": 401,
    "EndPointNotFound": 404,
    "URITooLong": 414,
    "EndPointInternalError": 500,
}


def _body(exc: SPARQLWrapperException) -> bytes:
    # SPARQLWrapper's message is "<kind>: <explanation>\n\nResponse:\n<repr of the body>".
    head, _, body = str(exc).partition("Response:\n")
    return (body or head).strip().encode()


def _http_error(endpoint: str, status: int, body: bytes, checked: guard.CheckedQuery) -> Exception:
    """Map the store's HTTP error to ours, keeping the store's message."""
    message = _body_message(body) or f"HTTP {status}"
    if status == 400:
        found = _POSITION.search(message)
        if found:
            line, column = checked.original_position(int(found.group(1)), int(found.group(2)))
            return QuerySyntaxError(_short(found.group(3) or message), line=line, column=column)
        found = _LINE.search(message)
        if found:
            return QuerySyntaxError(_short(found.group(2)), line=int(found.group(1)))
        return BadRequest(f"the backend refused the query: {_short(message)}")
    if status in (408, 504) or _ESTIMATE.search(message):
        return QueryTimeout(f"{endpoint} timed out: {_short(message)}")
    if 400 < status < 500 and status not in (401, 403, 404, 405):
        return BadRequest(f"the backend refused the query ({status}): {_short(message)}")
    return EngineUnavailable(f"the backend {endpoint} failed ({status}): {_short(message)}")


def _short(message: str) -> str:
    message = " ".join(message.split())
    return message if len(message) <= 300 else message[:297] + "..."


def _graph_result(form: str, response: Any, limit: int | None) -> QueryResult:
    """Read N-Triples line by line, no further than one triple past the limit."""
    lines = (line for line in response if line.strip() and not line.lstrip().startswith(b"#"))
    wanted = list(islice(lines, None if limit is None else limit + 1))
    try:
        parsed = list(ox.parse(b"".join(wanted), format=ox.RdfFormat.N_TRIPLES))
    except SyntaxError as exc:
        raise EngineUnavailable(f"the backend sent malformed N-Triples: {exc}") from None
    triples = (
        (to_rdflib(t.subject), to_rdflib(t.predicate), to_rdflib(t.object), None) for t in parsed
    )
    return graph_result(form, triples, limit)  # type: ignore[arg-type]


def _checked(bindings: Mapping[str, Identifier]) -> Mapping[str, Identifier]:
    """Return ``bindings`` if each is a variable name and term the VALUES block can carry."""
    for name, term in bindings.items():
        if not _VARIABLE.fullmatch(name):
            raise BadRequest(f"cannot bind {name!r}: not a variable name")
        if isinstance(term, URIRef):
            try:
                ox.NamedNode(str(term))
            except ValueError as exc:
                raise BadRequest(f"cannot bind ?{name}: {exc}") from None
        elif not isinstance(term, Literal):
            raise BadRequest(f"cannot bind ?{name}: only IRIs and literals can be sent")
    return bindings


def _backend_cap(header: str | None, limit: int | None) -> int | None:
    """Return the store's own row cap when it cut the answer at or below ours, else None."""
    if not header or not header.strip().isdigit():
        return None
    cap = int(header)
    return cap if limit is None or cap <= limit else None


def _flag_cap(result: QueryResult, cap: int | None) -> QueryResult:
    """Flag a result the store cut at its own row cap as cut, at that many rows."""
    if cap is None or result.form == "ask" or result.count < cap:
        return result
    return replace(result, truncated=True, limit=cap)


def _cut(result: QueryResult, limit: int | None) -> QueryResult:
    if result.form != "select":
        return QueryResult(result.form, boolean=result.boolean, limit=limit)
    return select_result(result.variables, iter(result.rows), limit)


# -- any SPARQL 1.1 endpoint (`aigraph query --endpoint`) --
def values_clause(bindings: Mapping[str, Identifier]) -> str:
    """Return a trailing VALUES clause binding ``bindings`` (terms are serialised, not pasted)."""
    if not bindings:
        return ""
    names = " ".join(f"?{name}" for name in bindings)
    terms = " ".join(term.n3() for term in bindings.values())
    return f"\nVALUES ({names}) {{ ({terms}) }}\n"


def remote_query(
    endpoint: str,
    text: str,
    *,
    bindings: Mapping[str, Identifier] | None = None,
    timeout: float = Settings.endpoint_timeout,
) -> QueryResult:
    """Run ``text`` on ``endpoint``; errors carry the endpoint's status and message."""
    form = query_form(text)
    wrapper = SPARQLWrapper(endpoint)
    wrapper.setMethod(POST)
    wrapper.setTimeout(int(max(1, timeout)))
    wrapper.setQuery(text + values_clause(bindings or {}))
    wrapper.setReturnFormat(JSON if form in ("select", "ask") else N3)
    if form not in ("select", "ask"):
        wrapper.addCustomHttpHeader("Accept", f"{_NT.media_type}, {_TURTLE.media_type};q=0.9")
    try:
        response = wrapper.query().response
        data = response.read()
        media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
    except SPARQLWrapperException as exc:
        raise EngineUnavailable(_wrapper_message(endpoint, exc)) from None
    except urllib.error.HTTPError as exc:
        raise EngineUnavailable(
            f"{endpoint} answered {exc.code}: {_body_message(exc.read())}", status=exc.code
        ) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise EngineUnavailable(f"cannot reach {endpoint}: {reason}") from None
    if form in ("select", "ask"):
        return parse_results(data, media_type or RESULTS[0].media_type)
    graph = Graph()
    fmt = "nt" if "n-triples" in media_type else "turtle"
    graph.parse(BytesIO(data), format=fmt)
    return QueryResult(form=form, triples=tuple((s, p, o, None) for s, p, o in graph))


def _wrapper_message(endpoint: str, exc: SPARQLWrapperException) -> str:
    # SPARQLWrapper's message is "<kind>: <explanation>\n\nResponse:\n<body>".
    text = str(exc)
    head, _, body = text.partition("Response:")
    detail = _body_message(body.strip().encode()) if body.strip() else head.strip()
    return f"{endpoint} refused the query: {head.split(':')[0].strip()}: {detail}"


def _body_message(body: bytes) -> str:
    text = body.decode("utf-8", "replace").strip()
    if text.startswith("b'") or text.startswith('b"'):
        text = text[2:-1].encode().decode("unicode_escape", "replace")
    try:
        parsed = json.loads(text)
        if isinstance(parsed, dict) and "message" in parsed:
            return str(parsed["message"])
    except ValueError:
        pass
    return text[:500]
