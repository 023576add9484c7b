"""The SPARQL result formats: pure functions over ``QueryResult``, to bytes and back.

The result formats are written by hand to the W3C specifications (the SELECT JSON path is the
hot one); graph formats go through ``export``, which makes rdflib's output deterministic.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from io import BytesIO
from typing import TYPE_CHECKING, Any

from rdflib import BNode, Literal, URIRef
from rdflib.namespace import XSD
from rdflib.query import Result, ResultException
from rdflib.term import Identifier

from aigraph import export
from aigraph.errors import EngineUnavailable
from aigraph.formats import RESULTS, Offer, find_offer
from aigraph.model import QueryResult, Row

if TYPE_CHECKING:
    from rdflib import Graph

    from aigraph.model import Quad

SPARQL_RESULTS_NS = "http://www.w3.org/2005/sparql-results#"


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
