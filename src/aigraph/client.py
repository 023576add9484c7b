"""Run a query against any SPARQL 1.1 endpoint through SPARQLWrapper."""

from __future__ import annotations

import json
import urllib.error
from collections.abc import Mapping
from io import BytesIO

from rdflib import Graph
from rdflib.term import Identifier
from SPARQLWrapper import JSON, N3, POST, SPARQLWrapper
from SPARQLWrapper.SPARQLExceptions import SPARQLWrapperException

from .engine.base import QueryResult
from .engine.guard import query_form
from .errors import EngineUnavailable
from .formats import parse_results
from .settings import Settings


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
        wrapper.addCustomHttpHeader("Accept", "application/n-triples, text/turtle;q=0.9")
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
        return parse_results(data, media_type or "application/sparql-results+json")
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
