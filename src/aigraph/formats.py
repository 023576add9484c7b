"""Content negotiation and the SPARQL result formats: pure functions over ``QueryResult``.

Two tables of offers, one for SELECT/ASK results and one for RDF graphs (CONSTRUCT, DESCRIBE,
dumps), drive both ``negotiate`` and the serialisers. The result formats are written by hand
to the W3C specifications (the SELECT JSON path is the hot one); graph formats go through
``export``, which makes rdflib's output deterministic.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from io import BytesIO
from typing import TYPE_CHECKING, Any

from rdflib import BNode, Literal, URIRef
from rdflib.namespace import XSD
from rdflib.query import Result, ResultException
from rdflib.term import Identifier
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

from aigraph.errors import BadRequest, EngineUnavailable, NotAcceptable, UsageError
from aigraph.model import QueryResult, Row

if TYPE_CHECKING:
    from rdflib import Graph

    from aigraph.model import Quad

SPARQL_RESULTS_NS = "http://www.w3.org/2005/sparql-results#"


@dataclass(frozen=True)
class Offer:
    """One representation the endpoint can produce, as named by Accept and by ``format=``."""

    name: str
    media_type: str
    extension: str
    names: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    quads: bool = False
    #: How pages name the format ("N-Triples"); the short name when not given.
    label: str = ""

    @property
    def title(self) -> str:
        """Return the name people read for this format."""
        return self.label or self.name.upper()

    @property
    def format_names(self) -> tuple[str, ...]:
        """Return every name ``format=`` takes for this offer, the canonical one first."""
        return (self.name, *self.names)

    @property
    def media_types(self) -> tuple[str, ...]:
        """Return the media type and the aliases an Accept header may name it by."""
        return (self.media_type, *self.aliases)

    @property
    def content_type(self) -> str:
        """Return the Content-Type header value of a response in this format."""
        return f"{self.media_type}; charset=utf-8"


#: SELECT/ASK result formats; the first is the default.
RESULTS: tuple[Offer, ...] = (
    Offer("json", "application/sparql-results+json", "srj", ("srj",), ("application/json",)),
    Offer("xml", "application/sparql-results+xml", "srx", ("srx",),
          ("application/xml", "text/xml")),
    Offer("csv", "text/csv", "csv"),
    Offer("tsv", "text/tab-separated-values", "tsv"),
)  # fmt: skip

#: RDF graph formats (CONSTRUCT, DESCRIBE, dumps, pages); the first is the default.
GRAPH: tuple[Offer, ...] = (
    Offer("turtle", "text/turtle", "ttl", ("ttl", "n3"), ("application/x-turtle", "text/n3"),
          label="Turtle"),
    Offer("nt", "application/n-triples", "nt", ("ntriples", "n-triples"), ("text/plain",),
          label="N-Triples"),
    Offer("jsonld", "application/ld+json", "jsonld", ("json-ld",), ("application/json",),
          quads=True, label="JSON-LD"),
    Offer("rdfxml", "application/rdf+xml", "rdf", ("xml", "rdf", "rdf-xml"),
          ("application/xml", "text/xml"), label="RDF/XML"),
    Offer("trig", "application/trig", "trig", (), ("application/x-trig",), quads=True,
          label="TriG"),
    Offer("nquads", "application/n-quads", "nq", ("nq", "n-quads"), ("text/x-nquads",),
          quads=True, label="N-Quads"),
)  # fmt: skip

_ALL_OFFERS = RESULTS + GRAPH


def offers_for(form: str) -> tuple[Offer, ...]:
    """Return the table of offers for a query form (select/ask or construct/describe)."""
    return RESULTS if form in ("select", "ask") else GRAPH


def find_offer(name: str, offers: Iterable[Offer] = _ALL_OFFERS) -> Offer | None:
    """Return the offer a ``format=`` name or a media type (or alias) designates, if any."""
    key = name.strip().lower()
    for offer in offers:
        if key in offer.format_names or key in offer.media_types:
            return offer
    return None


def pick_format(values: Iterable[str], offers: tuple[Offer, ...]) -> str | None:
    """Return the one ``format=`` value to use among those a client sent.

    Clients such as SPARQLWrapper send the format several times in different spellings
    (``tsv`` and ``text/tab-separated-values``) or as a comma-separated list; spellings that
    name an offer of ``offers`` count, and they must agree. Without any, the first value is
    returned so that ``negotiate`` reports it.
    """
    names = [part.strip() for value in values for part in value.split(",") if part.strip()]
    chosen = {offer.name for offer in map(lambda n: find_offer(n, offers), names) if offer}
    if len(chosen) > 1:
        raise BadRequest(
            f"'format' names different formats ({', '.join(sorted(chosen))}); give one"
        )
    if chosen:
        return chosen.pop()
    return names[0] if names else None


# -- content negotiation ------------------------------------------------------------------------

_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9a-z-]+")  # RFC 9110 token, lower-cased

#: A parsed media range: (type, subtype, q, specificity 0 for */*, 1 for type/*, 2 for type/sub).
_Range = tuple[str, str, float, int]


def negotiate(
    accept: str | None,
    offers: tuple[Offer, ...],
    default: Offer | None = None,
    explicit_format: str | None = None,
) -> Offer:
    """Choose the offer to answer with, from ``format=`` or else from the Accept header.

    ``explicit_format`` (a short name or a media type) wins over Accept; an unknown name is a
    ``UsageError``, a name of the other table (``csv`` for CONSTRUCT) is ``NotAcceptable``.
    Each offer gets the q of the most specific range matching its media type, or of a range
    naming one of its aliases exactly (parameters other than q are ignored); an offer whose own
    media type is named with q=0 is never chosen, even through ``*/*`` or an alias. The
    highest q wins, then the more specific range, then ``default``, then table order. A
    missing, empty or wholly unparseable header means the default; a header whose ranges match
    nothing is ``NotAcceptable``.
    """
    default = default or offers[0]
    if explicit_format is not None and explicit_format.strip():
        return _by_format(explicit_format, offers)
    ranges = _parse_accept(accept)
    if not ranges:
        return default
    ordered = (default, *(offer for offer in offers if offer is not default))
    best: Offer | None = None
    best_key: tuple[float, int, int] | None = None
    for index, offer in enumerate(ordered):
        q, specificity = _offer_quality(offer, ranges)
        key = (q, specificity, -index)
        if q > 0 and (best_key is None or key > best_key):
            best, best_key = offer, key
    if best is None:
        raise NotAcceptable(
            f"Cannot produce any media type the Accept header allows ({accept!r}); "
            f"available: {_describe(offers)}",
            accept=accept,
            available=[offer.media_type for offer in offers],
        )
    return best


def _by_format(name: str, offers: tuple[Offer, ...]) -> Offer:
    offer = find_offer(name, offers)
    if offer is not None:
        return offer
    if find_offer(name) is not None:
        raise NotAcceptable(
            f"format={name!r} is not available for this kind of result; "
            f"available: {_describe(offers)}",
            format=name,
            available=[offer.name for offer in offers],
        )
    raise UsageError(
        f"Unknown format {name!r}; use one of: {_describe(offers)}",
        format=name,
        available=[offer.name for offer in offers],
    )


def _describe(offers: tuple[Offer, ...]) -> str:
    return ", ".join(f"{offer.media_type} (format={offer.name})" for offer in offers)


def _parse_accept(accept: str | None) -> list[_Range]:
    """Parse with Werkzeug, then keep the well-formed ranges (as Werkzeug does when matching)."""
    if not accept or not accept.strip():
        return []
    try:
        parsed = parse_accept_header(accept, MIMEAccept)
    except (ValueError, TypeError, IndexError):  # garbage is treated as no preference
        return []
    ranges: list[_Range] = []
    for item, q in parsed:
        mime = item.split(";", 1)[0].strip().lower()
        if mime == "*":  # some old clients send a bare "*"
            mime = "*/*"
        kind, _, sub = mime.partition("/")
        if not (_TOKEN.fullmatch(kind) and _TOKEN.fullmatch(sub)) or (kind == "*" != sub):
            continue
        specificity = 0 if kind == "*" else 1 if sub == "*" else 2
        ranges.append((kind, sub, float(q), specificity))
    return ranges


def _range_quality(media_type: str, ranges: list[_Range]) -> tuple[float, int] | None:
    """Return (q, specificity) of the most specific ranges matching the type, or None."""
    kind, _, sub = media_type.partition("/")
    found: tuple[float, int] | None = None
    for r_kind, r_sub, q, specificity in ranges:
        matches = r_kind == "*" or (r_kind == kind and (r_sub == "*" or r_sub == sub))
        if matches and (found is None or (specificity, q) > (found[1], found[0])):
            found = (q, specificity)
    return found


def _offer_quality(offer: Offer, ranges: list[_Range]) -> tuple[float, int]:
    best = _range_quality(offer.media_type, ranges) or (0.0, 0)
    if best[0] == 0 and best[1] == 2:
        return best  # the client named this very type and refused it
    # An alias counts only where named exactly: the response is labelled with the media type,
    # so text/* must not pick SPARQL XML through its text/xml alias.
    for alias in offer.aliases:
        found = _range_quality(alias, ranges)
        if found is not None and found[1] == 2 and found > best:
            best = found
    return best


# -- serialisation ------------------------------------------------------------------------------


def serialize(
    result: QueryResult,
    offer: Offer,
    *,
    base: str | None = None,
    prefixes: Mapping[str, str] | None = None,
) -> bytes:
    """Serialise any query result: a results table for SELECT/ASK, a graph otherwise."""
    if result.form in ("select", "ask"):
        return serialize_result(result, offer)
    return serialize_graph(result.triples, offer, base=base, prefixes=prefixes)


def serialize_result(result: QueryResult, offer: Offer) -> bytes:
    """Serialise a SELECT or ASK result in one of the ``RESULTS`` formats.

    CSV and TSV have no ASK form in the specification; like Jena and others, an ASK result is
    written as a single column ``_askResult`` (``?_askResult`` in TSV) holding ``true`` or
    ``false``. A truncated SELECT result carries ``"truncated": true`` and ``"limit"`` at the
    top level of the JSON (clients ignore unknown keys) and a comment in the XML.
    """
    if result.form not in ("select", "ask"):
        raise ValueError(f"serialize_result takes SELECT/ASK results, not {result.form}")
    writer = _RESULT_WRITERS.get(offer.name) if offer in RESULTS else None
    if writer is None:
        raise ValueError(f"{offer.media_type} is not a SPARQL results format")
    return writer(result)


def serialize_graph(
    source: Graph | Iterable[Quad],
    offer: Offer,
    base: str | None = None,
    prefixes: Mapping[str, str] | None = None,
) -> bytes:
    """Serialise quads or an rdflib graph/dataset in one of the ``GRAPH`` formats.

    Output is deterministic (see ``aigraph.export``); triples-only formats get the union of
    all graphs.
    """
    from aigraph import export  # export builds on the GRAPH table above

    return export.serialize_quads(source, offer, base=base, prefixes=prefixes)


class _BNodeLabels:
    """Give blank nodes short labels, stable within one result: b0, b1, ... by first use."""

    def __init__(self) -> None:
        self._labels: dict[BNode, str] = {}

    def __call__(self, node: BNode) -> str:
        label = self._labels.get(node)
        if label is None:
            label = self._labels[node] = f"b{len(self._labels)}"
        return label


def _plain_datatype(literal: Literal) -> str | None:
    """Return the datatype IRI to write, None for simple (xsd:string) and language literals."""
    datatype = literal.datatype
    if literal.language or datatype is None or datatype == XSD.string:
        return None
    return str(datatype)


# JSON (SPARQL 1.1 Query Results JSON Format)


def _json_term(term: Identifier, labels: _BNodeLabels) -> dict[str, str]:
    if isinstance(term, URIRef):
        return {"type": "uri", "value": str(term)}
    if isinstance(term, Literal):
        out = {"type": "literal", "value": str(term)}
        if term.language:
            out["xml:lang"] = term.language
        else:
            datatype = _plain_datatype(term)
            if datatype is not None:
                out["datatype"] = datatype
        return out
    if isinstance(term, BNode):
        return {"type": "bnode", "value": labels(term)}
    raise TypeError(f"not an RDF term: {term!r}")


def _write_json(result: QueryResult) -> bytes:
    doc: dict[str, Any]
    if result.form == "ask":
        doc = {"head": {}, "boolean": bool(result.boolean)}
    else:
        labels = _BNodeLabels()
        bindings = [
            {var: _json_term(term, labels) for var, term in row.items()} for row in result.rows
        ]
        doc = {"head": {"vars": list(result.variables)}, "results": {"bindings": bindings}}
        if result.truncated:
            doc["truncated"] = True
            if result.limit is not None:
                doc["limit"] = result.limit
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    return text.encode("utf-8", "replace")


# XML (SPARQL Query Results XML Format, second edition)

_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_XML_TEXT = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
_XML_ATTR = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\r": "&#13;", "\n": "&#10;",
     "\t": "&#9;"}
)  # fmt: skip


def _xml_escape(text: str, table: dict[int, str] = _XML_TEXT) -> str:
    # Characters XML 1.0 cannot carry at all are replaced rather than producing a broken file.
    return _XML_INVALID.sub("\ufffd", text).translate(table)


def _xml_term(term: Identifier, labels: _BNodeLabels) -> str:
    if isinstance(term, URIRef):
        return f"<uri>{_xml_escape(term)}</uri>"
    if isinstance(term, Literal):
        if term.language:
            attr = f' xml:lang="{_xml_escape(term.language, _XML_ATTR)}"'
        else:
            datatype = _plain_datatype(term)
            attr = "" if datatype is None else f' datatype="{_xml_escape(datatype, _XML_ATTR)}"'
        return f"<literal{attr}>{_xml_escape(term)}</literal>"
    if isinstance(term, BNode):
        return f"<bnode>{labels(term)}</bnode>"
    raise TypeError(f"not an RDF term: {term!r}")


def _write_xml(result: QueryResult) -> bytes:
    out = ['<?xml version="1.0" encoding="utf-8"?>\n', f'<sparql xmlns="{SPARQL_RESULTS_NS}">\n']
    if result.form == "ask":
        out.append("  <head/>\n")
        out.append(f"  <boolean>{'true' if result.boolean else 'false'}</boolean>\n")
    else:
        out.append("  <head>\n")
        out.extend(
            f'    <variable name="{_xml_escape(v, _XML_ATTR)}"/>\n' for v in result.variables
        )
        out.append("  </head>\n")
        if result.truncated:
            limit = "" if result.limit is None else f" to the first {result.limit} rows"
            out.append(f"  <!-- truncated{limit} -->\n")
        out.append("  <results>\n")
        labels = _BNodeLabels()
        for row in result.rows:
            out.append("    <result>\n")
            out.extend(
                f'      <binding name="{_xml_escape(var, _XML_ATTR)}">'
                f"{_xml_term(term, labels)}</binding>\n"
                for var, term in row.items()
            )
            out.append("    </result>\n")
        out.append("  </results>\n")
    out.append("</sparql>\n")
    return "".join(out).encode("utf-8", "replace")


# CSV and TSV (SPARQL 1.1 Query Results CSV and TSV Formats)

_ASK_COLUMN = "_askResult"


def _csv_field(text: str) -> str:
    if any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _csv_term(term: Identifier | None, labels: _BNodeLabels) -> str:
    if term is None:
        return ""
    if isinstance(term, BNode):
        return _csv_field(f"_:{labels(term)}")
    return _csv_field(str(term))


def _write_csv(result: QueryResult) -> bytes:
    if result.form == "ask":
        return f"{_ASK_COLUMN}\r\n{'true' if result.boolean else 'false'}\r\n".encode()
    labels = _BNodeLabels()
    lines = [",".join(_csv_field(v) for v in result.variables)]
    for row in result.rows:
        lines.append(",".join(_csv_term(row.get(v), labels) for v in result.variables))
    return ("\r\n".join(lines) + "\r\n").encode("utf-8", "replace")


_TSV_STRING = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"})
_TSV_IRI = re.compile(r'[\x00-\x20<>"{}|^`\\]')
_SHORT_FORMS = {
    str(XSD.integer): re.compile(r"[+-]?[0-9]+"),
    str(XSD.decimal): re.compile(r"[+-]?[0-9]*\.[0-9]+"),
    str(XSD.double): re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)[eE][+-]?[0-9]+"),
    str(XSD.boolean): re.compile(r"true|false"),
}


def _tsv_iri(iri: str) -> str:
    return "<" + _TSV_IRI.sub(lambda m: f"\\u{ord(m.group()):04X}", iri) + ">"


def _tsv_term(term: Identifier | None, labels: _BNodeLabels) -> str:
    """Write a term in Turtle syntax, numbers and booleans in their short form where exact."""
    if term is None:
        return ""
    if isinstance(term, URIRef):
        return _tsv_iri(term)
    if isinstance(term, BNode):
        return f"_:{labels(term)}"
    if not isinstance(term, Literal):
        raise TypeError(f"not an RDF term: {term!r}")
    quoted = '"' + str(term).translate(_TSV_STRING) + '"'
    if term.language:
        return f"{quoted}@{term.language}"
    datatype = _plain_datatype(term)
    if datatype is None:
        return quoted
    short = _SHORT_FORMS.get(datatype)
    if short is not None and short.fullmatch(term):
        return str(term)
    return f"{quoted}^^{_tsv_iri(datatype)}"


def _write_tsv(result: QueryResult) -> bytes:
    if result.form == "ask":
        return f"?{_ASK_COLUMN}\n{'true' if result.boolean else 'false'}\n".encode()
    labels = _BNodeLabels()
    lines = ["\t".join(f"?{v}" for v in result.variables)]
    for row in result.rows:
        lines.append("\t".join(_tsv_term(row.get(v), labels) for v in result.variables))
    return ("\n".join(lines) + "\n").encode("utf-8", "replace")


_RESULT_WRITERS: dict[str, Callable[[QueryResult], bytes]] = {
    "json": _write_json,
    "xml": _write_xml,
    "csv": _write_csv,
    "tsv": _write_tsv,
}


# -- parsing (answers of remote endpoints) ------------------------------------------------------


def parse_results(data: bytes, media_type: str) -> QueryResult:
    """Parse a SPARQL JSON or XML results document into a ``QueryResult``.

    Malformed documents and other media types raise ``EngineUnavailable``: they come from an
    endpoint that did not answer as SPARQL requires. The JSON ``truncated``/``limit``
    extension written by ``serialize_result`` is read back.
    """
    offer = find_offer(media_type.split(";", 1)[0], RESULTS)
    if offer is None or offer.name not in ("json", "xml"):
        raise EngineUnavailable(f"the endpoint answered with unexpected type {media_type!r}")
    try:
        if offer.name == "json":
            return _parse_json(json.loads(data))
        return _parse_xml(data)
    # How json, ElementTree (ParseError is a SyntaxError) and rdflib fail on bad input.
    except (ValueError, KeyError, TypeError, AttributeError, SyntaxError, ResultException) as exc:
        raise EngineUnavailable(f"the endpoint sent malformed {offer.media_type}: {exc}") from exc


def _parse_json_term(value: Mapping[str, str]) -> Identifier:
    kind = value["type"]
    if kind == "uri":
        return URIRef(value["value"])
    if kind == "bnode":
        return BNode(value["value"])
    if kind in ("literal", "typed-literal"):
        lang = value.get("xml:lang")
        datatype = None if lang else value.get("datatype")
        return Literal(value["value"], lang=lang, datatype=datatype)
    raise ValueError(f"unknown term type {kind!r}")


def _parse_json(doc: Mapping[str, Any]) -> QueryResult:
    if "boolean" in doc:
        if not isinstance(doc["boolean"], bool):
            raise ValueError(f"boolean is {doc['boolean']!r}")
        return QueryResult(form="ask", boolean=doc["boolean"])
    variables = tuple(doc["head"].get("vars", ()))
    rows: tuple[Row, ...] = tuple(
        {var: _parse_json_term(term) for var, term in binding.items()}
        for binding in doc["results"]["bindings"]
    )
    truncated = doc.get("truncated") is True
    return QueryResult(
        form="select",
        variables=variables,
        rows=rows,
        truncated=truncated,
        limit=doc.get("limit") if truncated else None,
    )


def _parse_xml(data: bytes) -> QueryResult:
    parsed = Result.parse(BytesIO(data), format="xml")
    if parsed.type == "ASK":
        return QueryResult(form="ask", boolean=bool(parsed.askAnswer))
    variables = tuple(str(v) for v in parsed.vars or ())
    rows: tuple[Row, ...] = tuple(
        {str(var): term for var, term in binding.items() if term is not None}
        for binding in parsed.bindings
    )
    return QueryResult(form="select", variables=variables, rows=rows)
