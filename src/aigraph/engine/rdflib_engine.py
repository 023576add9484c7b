"""The reference engine: rdflib's SPARQL evaluator over the loaded ``Dataset``, made safe.

rdflib on its own reads documents named by ``FROM``/``FROM NAMED`` and calls ``SERVICE``
endpoints over HTTP. Here no query ever reaches rdflib's dataset loading: the evaluation
context is built by this module from the graphs already loaded (unknown graph IRIs are empty),
``SPARQL_LOAD_GRAPHS`` is off for good measure, and ``SERVICE`` is refused in the parsed
algebra unless its endpoint IRI is allow-listed.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from functools import lru_cache
from typing import Any, cast

import rdflib.plugins.sparql
from pyparsing import ParseBaseException, ParseResults
from rdflib import Dataset, Graph, URIRef, Variable
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID
from rdflib.plugins.sparql.evaluate import evalPart
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.plugins.sparql.processor import prepareQuery
from rdflib.plugins.sparql.sparql import Query, QueryContext
from rdflib.term import Identifier

from aigraph.engine import guard
from aigraph.engine.base import (
    DatasetSpec,
    QueryRequest,
    QueryResult,
    checked_query,
    graph_result,
    select_result,
)
from aigraph.errors import BadRequest, EngineUnavailable, QueryRefused, QuerySyntaxError

# Never read a document because a query names it (FROM, FROM NAMED).
rdflib.plugins.sparql.SPARQL_LOAD_GRAPHS = False

_UNKNOWN_PREFIX = re.compile(r"Unknown namespace prefix : (\S*)")
_SERVICE_FAILED = "a SERVICE endpoint of the allow-list did not answer the query"


class RdflibEngine:
    """Run SPARQL queries with rdflib; the default graph is the union of all graphs."""

    name = "rdflib"

    def __init__(
        self,
        dataset: Dataset,
        *,
        max_nesting: int = 200,
        service_allowlist: Collection[str] = (),
    ) -> None:
        self._dataset = dataset
        self.max_nesting = max_nesting
        self.service_allowlist = frozenset(service_allowlist)
        self._named = {
            g.identifier: g
            for g in dataset.graphs()
            if g.identifier != DATASET_DEFAULT_GRAPH_ID and isinstance(g.identifier, URIRef)
        }
        self._quads = sum(len(g) for g in dataset.graphs())

    def check(self, text: str) -> guard.CheckedQuery:
        """Run the lexical guard with this engine's limits."""
        return guard.check(
            text, max_nesting=self.max_nesting, service_allowlist=self.service_allowlist
        )

    def query(self, request: QueryRequest) -> QueryResult:
        """Run one query; raise an ``AigraphError`` for anything the user can fix."""
        checked_query(self, request)
        parsed = _parse(request.text, request.base)
        self._refuse_services(parsed.algebra)
        ctx = self._context(parsed, request)
        limit = request.max_rows
        try:
            answer = evalPart(ctx, parsed.algebra)
            return _result(parsed, answer, limit)
        except RecursionError as exc:
            raise QueryRefused("the query is nested too deeply to evaluate") from exc
        except OSError:
            # Only an allow-listed SERVICE call reaches the network; its failure is told the
            # same way whatever the cause, naming no host, port or answer.
            raise EngineUnavailable(_SERVICE_FAILED) from None
        except Exception as exc:  # rdflib reports a SERVICE's bad status so
            if str(exc).startswith("Service"):
                raise EngineUnavailable(_SERVICE_FAILED) from None
            raise

    def graph_names(self) -> Sequence[URIRef]:
        """Return the IRIs of the named graphs, sorted."""
        return sorted(self._named)

    def triple_count(self) -> int:
        """Return the number of quads of the dataset."""
        return self._quads

    def graph_count(self) -> int:
        return len(self._named)

    def close(self) -> None:
        """Nothing to release: the dataset belongs to the caller."""

    def _refuse_services(self, algebra: CompValue) -> None:
        for node in _walk(algebra):
            if node.name == "ServiceGraphPattern":
                term = node.get("term")
                if not isinstance(term, URIRef) or str(term) not in self.service_allowlist:
                    raise QueryRefused(guard.SERVICE_MESSAGE)

    def _context(self, parsed: Query, request: QueryRequest) -> QueryContext:
        """Build the evaluation context: the dataset of the request, never loading anything."""
        bindings = {Variable(k): v for k, v in request.bindings.items()}
        algebra = parsed.algebra
        if algebra.name == "SelectQuery":
            unselected = set(bindings) - set(algebra.PV)
            if unselected:
                raise BadRequest(_unselected_message(unselected))
        spec = _dataset_spec(request.dataset, algebra.get("datasetClause"))
        # Variable keys are strs; rdflib's Mapping[str, ...] is just invariant in its key type.
        ctx = QueryContext(self._dataset, initBindings=cast(Mapping[str, Identifier], bindings))
        if spec.default_graphs is not None:
            ctx.graph = self._merge(spec.default_graphs)
        else:
            ctx.graph = self._dataset
        if spec.named_graphs is not None:
            ctx._dataset = self._only(spec.named_graphs)  # noqa: SLF001 - rdflib has no setter
        ctx.prologue = parsed.prologue
        return ctx

    def _merge(self, iris: Iterable[URIRef]) -> Graph:
        known = [self._named[i] for i in dict.fromkeys(iris) if i in self._named]
        if len(known) == 1:
            return known[0]
        merged = Graph()
        for graph in known:
            merged += graph
        return merged

    def _only(self, iris: Iterable[URIRef]) -> Dataset:
        chosen = Dataset()
        for iri in dict.fromkeys(iris):
            target = chosen.graph(iri)
            if iri in self._named:
                target += self._named[iri]
        return chosen


def _dataset_spec(given: DatasetSpec, clause: list[CompValue] | None) -> DatasetSpec:
    """Return the dataset to use: the protocol's if given, else the query's FROM clauses."""
    if given.default_graphs is not None or given.named_graphs is not None:
        return given
    if not clause:
        return given
    return DatasetSpec(
        default_graphs=tuple(c.default for c in clause if c.get("default") is not None),
        named_graphs=tuple(c.named for c in clause if c.get("named") is not None),
    )


@lru_cache(maxsize=256)
def _parse(text: str, base: str | None) -> Query:
    """Parse and translate a query (cached: evaluation does not change the algebra)."""
    try:
        return prepareQuery(text, base=base)
    except ParseBaseException as exc:
        message = str(exc).split("  (at char")[0]
        raise QuerySyntaxError(message, line=exc.lineno, column=exc.col) from exc
    except RecursionError as exc:
        raise QueryRefused("the query is nested too deeply to parse") from exc
    except Exception as exc:  # rdflib raises bare Exception for bad prefixes
        raise _translation_error(exc, text) from exc


def _translation_error(exc: Exception, text: str) -> QuerySyntaxError:
    message = str(exc) or type(exc).__name__
    prefix = _UNKNOWN_PREFIX.search(message)
    if prefix:
        name = prefix.group(1)
        found = re.search(rf"(?<![\w:]){re.escape(name)}:", text)
        if found:
            line = text.count("\n", 0, found.start()) + 1
            column = found.start() - (text.rfind("\n", 0, found.start()) + 1) + 1
            return QuerySyntaxError(f"undefined prefix {name}:", line=line, column=column)
        return QuerySyntaxError(f"undefined prefix {name}:")
    return QuerySyntaxError(message.splitlines()[0][:300])


def _unselected_message(variables: Iterable[Variable]) -> str:
    names = ", ".join(f"?{v}" for v in sorted(variables))
    return f"cannot bind {names}: the query does not select it"


def _walk(node: Any) -> Iterator[CompValue]:
    """Yield every algebra node below ``node`` (the guard bounds the depth)."""
    if isinstance(node, CompValue):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, (list, tuple, ParseResults)):
        for value in node:
            yield from _walk(value)


def _result(parsed: Query, answer: Any, limit: int | None) -> QueryResult:
    kind = parsed.algebra.name
    if kind == "AskQuery":
        return QueryResult(form="ask", boolean=bool(answer["askAnswer"]), limit=limit)
    if kind in ("ConstructQuery", "DescribeQuery"):
        graph: Graph = answer["graph"]
        form = "construct" if kind == "ConstructQuery" else "describe"
        return graph_result(form, ((s, p, o, None) for s, p, o in graph), limit)
    variables = tuple(parsed.algebra.PV)
    names = tuple(str(v) for v in variables)
    rows = (_row(solution, variables, names) for solution in answer["bindings"])
    return select_result(names, rows, limit)


def _row(
    solution: Mapping[Any, Identifier], variables: tuple[Any, ...], names: tuple[str, ...]
) -> dict[str, Identifier]:
    row: dict[str, Identifier] = {}
    for var, name in zip(variables, names, strict=True):
        value = solution.get(var)
        if value is not None:
            row[name] = value
    return row
