"""Send RDF files to a SPARQL 1.1 Graph Store HTTP Protocol endpoint (``aigraph load --to``).

Every file is parsed here first, so a malformed file sends nothing at all. A triples file
replaces its own graph (PUT ``?graph=``); a TriG or N-Quads file is POSTed graph by graph.
Every triple is also POSTed to the union target, which then is the union of all graphs as a
set, as the embedded engines see it: the store's default graph (``?default``), or, for a store
whose Graph Store has no default graph of its own (Virtuoso), the named graph
``backend_default_graph``, which ``serve --backend`` then reads as the default graph.

Credentials (``push_user``, ``push_password``) answer the store's Basic or Digest challenge
(Virtuoso's ``/sparql-graph-crud-auth`` asks for Digest); they come from settings or the
environment, never from the URL.
"""

from __future__ import annotations

import hashlib
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from aigraph import graph
from aigraph.engine.store_engine import LoadedFile
from aigraph.errors import DataError, EngineUnavailable, UsageError
from aigraph.formats import graph_offer
from aigraph.store import _DATASET_FORMATS, _format_of, _syntax_reason

#: Markup of an HTML error page (Virtuoso's), dropped from the message.
_TAG = re.compile(r"<[^>]*>|<!DOCTYPE[^>]*>|&[a-z]+;", re.IGNORECASE)
#: Media type of what is sent: N-Triples, one graph per request.
_NT = graph_offer("nt").media_type


@dataclass(frozen=True)
class Target:
    """A Graph Store endpoint, how to log in to it, and where the union of the graphs goes."""

    url: str
    timeout: float
    user: str = ""
    password: str = ""
    #: The named graph that holds the union; empty: the store's default graph.
    union_graph: str = ""

    def __post_init__(self) -> None:
        parts = urllib.parse.urlsplit(self.url)
        if parts.scheme not in ("http", "https"):
            raise UsageError(f"cannot reach {self.url}: only an http or https URL names a store")
        if parts.username or parts.password:
            raise UsageError(
                "put no credentials in the store URL (they would show in process lists "
                "and logs): set AIGRAPH_PUSH_USER and AIGRAPH_PUSH_PASSWORD instead"
            )
        if self.password and not self.user:
            raise UsageError("a push password needs a user: set AIGRAPH_PUSH_USER")


def push_files(target: Target, paths: Iterable[str | Path]) -> list[LoadedFile]:
    """Send the files of ``paths`` to ``target``; return what was sent, file by file."""
    files = list(graph.expand(paths))
    parsed = [(path, _parse(path)) for path in files]
    opener = _opener(target)
    union = f"graph={_quote(target.union_graph)}" if target.union_graph else "default"
    sent = []
    for path, (quads, digest) in parsed:
        started = time.monotonic()
        if _format_of(path) in _DATASET_FORMATS:
            for name, triples in _by_graph(quads).items():
                where = union if name is None else f"graph={_quote(name)}"
                _send(opener, target, "POST", where, triples)
            loaded_into = None
        else:
            loaded_into = str(graph.graph_iri_for(path))
            _send(opener, target, "PUT", f"graph={_quote(loaded_into)}", _triples(quads))
        _send(opener, target, "POST", union, _triples(quads))
        seconds = round(time.monotonic() - started, 3)
        sent.append(LoadedFile(str(path.resolve()), digest, len(quads), seconds, loaded_into))
    return sent


def _parse(path: Path) -> tuple[list[ox.Quad], str]:
    fmt = _format_of(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read: {exc.strerror}", path=str(path)) from exc
    try:
        quads = list(ox.parse(data, format=fmt, base_iri=path.resolve().as_uri()))
    except SyntaxError as exc:
        raise DataError(_syntax_reason(exc), path=str(path), line=exc.lineno) from exc
    return quads, hashlib.sha256(data).hexdigest()


def _triples(quads: Iterable[ox.Quad]) -> list[ox.Triple]:
    return [ox.Triple(q.subject, q.predicate, q.object) for q in quads]


def _by_graph(quads: Iterable[ox.Quad]) -> dict[str | None, list[ox.Triple]]:
    """Group quads by graph IRI (``None``: the file's default graph), in file order."""
    groups: dict[str | None, list[ox.Triple]] = {}
    for quad in quads:
        name = quad.graph_name
        key = name.value if isinstance(name, ox.NamedNode) else None
        groups.setdefault(key, []).append(ox.Triple(quad.subject, quad.predicate, quad.object))
    return groups


def _quote(iri: str) -> str:
    return urllib.parse.quote(iri, safe="")


def _opener(target: Target) -> urllib.request.OpenerDirector:
    """An opener that answers a Basic or Digest challenge with the target's credentials."""
    handlers: list[urllib.request.BaseHandler] = []
    if target.user:
        passwords = urllib.request.HTTPPasswordMgrWithDefaultRealm()
        passwords.add_password(None, target.url, target.user, target.password)
        handlers += [
            urllib.request.HTTPDigestAuthHandler(passwords),
            urllib.request.HTTPBasicAuthHandler(passwords),
        ]
    return urllib.request.build_opener(*handlers)


def _send(
    opener: urllib.request.OpenerDirector,
    target: Target,
    method: str,
    query: str,
    triples: list[ox.Triple],
) -> None:
    url = target.url
    where = f"{url}{'&' if '?' in url else '?'}{query}"
    body = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES) or b""
    headers = {"Content-Type": _NT}
    request = urllib.request.Request(where, data=body, method=method, headers=headers)  # noqa: S310 - http(s) only, checked by Target
    try:
        with opener.open(request, timeout=target.timeout) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        detail = " ".join(_TAG.sub(" ", exc.read().decode("utf-8", "replace")).split())[:300]
        if exc.code == 401:
            detail = "the store wants a user and password: set AIGRAPH_PUSH_USER and "
            detail += "AIGRAPH_PUSH_PASSWORD" + (" (these were refused)" if target.user else "")
        if query == "default":
            detail += (
                " (if the store has no default graph to write to, as Virtuoso's Graph Store, "
                "name a graph for the union: --default-graph IRI, AIGRAPH_BACKEND_DEFAULT_GRAPH)"
            )
        raise EngineUnavailable(f"{where} answered {exc.code}: {detail}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise EngineUnavailable(f"cannot reach {url}: {getattr(exc, 'reason', exc)}") from None
