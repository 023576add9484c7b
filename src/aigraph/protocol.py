"""The SPARQL 1.1 Protocol query operation: turn an HTTP request into what to run.

Pure: takes the method, headers, URL parameters and body, and returns a ``ProtocolRequest``
or raises the error the protocol prescribes. The web layer only passes Werkzeug's parsed
request in and the answer out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl

from rdflib import URIRef

from aigraph.errors import BadRequest, Forbidden, MethodNotAllowed, UnsupportedMediaType
from aigraph.model import DatasetSpec

FORM = "application/x-www-form-urlencoded"
SPARQL_QUERY = "application/sparql-query"
SPARQL_UPDATE = "application/sparql-update"
READ_ONLY = "SPARQL Update is not allowed: this endpoint is read-only"

#: Parameters that name graphs and may be given more than once.
_REPEATABLE = {"default-graph-uri", "named-graph-uri"}


@dataclass(frozen=True)
class ProtocolRequest:
    """A query operation: the query text (None: no query given), dataset and format."""

    query: str | None
    dataset: DatasetSpec
    formats: tuple[str, ...]
    params: Mapping[str, str]


def parse(
    method: str,
    content_type: str | None,
    url_params: Sequence[tuple[str, str]],
    body: bytes,
) -> ProtocolRequest:
    """Parse one request to the SPARQL endpoint.

    ``url_params`` are the decoded pairs of the URL's query string, in order; ``body`` is the
    raw request body (already bounded by the body-size limit).
    """
    method = method.upper()
    if method in ("GET", "HEAD"):
        return _build(url_params, body_query=None)
    if method != "POST":
        raise MethodNotAllowed(f"method {method} is not allowed; use GET or POST")
    mime, charset = _media_type(content_type)
    if mime == FORM:
        parsed = _build(url_params, form=_form_pairs(body, charset))
    elif mime == SPARQL_QUERY:
        parsed = _build(url_params, body_query=_decode(body, charset, "query"))
    else:
        parsed = None
    if parsed is not None:
        if parsed.query is None:
            raise BadRequest("no query given; send it as the 'query' form field")
        return parsed
    if mime == SPARQL_UPDATE:
        raise Forbidden(READ_ONLY)
    given = mime or "no Content-Type"
    raise UnsupportedMediaType(
        f"cannot take a POST body of {given}; send the query as {FORM} (query=...) "
        f"or as {SPARQL_QUERY}"
    )


def url_pairs(raw_query_string: bytes) -> list[tuple[str, str]]:
    """Decode a URL query string strictly: invalid UTF-8 is a 400, not a silent U+FFFD."""
    try:
        text = raw_query_string.decode("ascii")
        return parse_qsl(text, keep_blank_values=True, errors="strict")
    except UnicodeError:
        raise BadRequest(
            "the URL's query string is not valid UTF-8 once percent-decoded; encode it as UTF-8"
        ) from None


def _media_type(content_type: str | None) -> tuple[str, str | None]:
    if not content_type:
        return "", None
    mime, _, rest = content_type.partition(";")
    charset = None
    for part in rest.split(";"):
        key, _, value = part.strip().partition("=")
        if key.lower() == "charset":
            charset = value.strip().strip('"').lower()
    return mime.strip().lower(), charset


def _decode(body: bytes, charset: str | None, what: str) -> str:
    if charset not in (None, "utf-8", "utf8"):
        raise UnsupportedMediaType(
            f"the {what} must be encoded in UTF-8, not {charset}; send charset=utf-8"
        )
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(
            f"the {what} is not valid UTF-8 (byte {exc.start}); encode it as UTF-8"
        ) from None


def _form_pairs(body: bytes, charset: str | None) -> list[tuple[str, str]]:
    text = _decode(body, charset, "form body")
    try:
        return parse_qsl(text, keep_blank_values=True, strict_parsing=False, errors="strict")
    except UnicodeDecodeError:
        raise BadRequest("the form body is not valid UTF-8 once percent-decoded") from None


def _build(
    url_params: Sequence[tuple[str, str]],
    form: Sequence[tuple[str, str]] = (),
    body_query: str | None = None,
) -> ProtocolRequest:
    pairs = list(url_params) + list(form)
    names = [k for k, _ in pairs]
    if "update" in names:
        raise Forbidden(READ_ONLY)
    queries = [v for k, v in pairs if k == "query"]
    if body_query is not None:
        queries.append(body_query)
    if len(queries) > 1:
        raise BadRequest(
            "the query was given more than once; give exactly one query "
            "(one 'query' parameter, or the request body)"
        )
    for value in (v for _, v in pairs):
        if "\x00" in value:
            raise BadRequest("the request contains a NUL character; remove it")
    query = queries[0] if queries else None
    if query is not None and not query.strip():
        raise BadRequest("the query is empty; give a SPARQL query in 'query'")
    single = {k: v for k, v in pairs if k not in _REPEATABLE and k != "query"}
    return ProtocolRequest(
        query=query,
        dataset=_dataset(pairs),
        formats=tuple(v for k, v in pairs if k == "format" and v),
        params=single,
    )


def _dataset(pairs: Sequence[tuple[str, str]]) -> DatasetSpec:
    default = tuple(URIRef(v) for k, v in pairs if k == "default-graph-uri")
    named = tuple(URIRef(v) for k, v in pairs if k == "named-graph-uri")
    if not default and not named:
        return DatasetSpec()
    return DatasetSpec(default_graphs=default, named_graphs=named)
