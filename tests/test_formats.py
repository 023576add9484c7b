"""Content negotiation (a parametrised Accept table) and the SPARQL result serialisers."""

from __future__ import annotations

import ast
import json
from collections.abc import Iterable, Iterator, Mapping
from io import BytesIO
from pathlib import Path
from xml.etree import ElementTree

import click
import pyoxigraph
import pytest
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import Namespace
from rdflib.query import Result

from aigraph.errors import EngineUnavailable, NotAcceptable, UsageError
from aigraph.formats import (
    DESCRIBED,
    GRAPH,
    HTML,
    JSON,
    READ_SUFFIXES,
    RESULTS,
    Offer,
    find_offer,
    negotiate,
    offers_for,
)
from aigraph.model import QueryResult
from aigraph.results import (
    SPARQL_RESULTS_NS,
    parse_results,
    serialize,
    serialize_graph,
    serialize_result,
)

XSD = Namespace("http://www.w3.org/2001/XMLSchema#")  # a plain Namespace: pytest-friendly

R, G, P = "results", "graph", "page"
TABLES = {R: RESULTS, G: GRAPH, P: (*GRAPH, HTML)}
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/webp,*/*;q=0.8"

# (table, Accept header, format=, expected offer name or error class)
NEGOTIATION = [
    # missing, empty and garbage headers mean the default
    (R, None, None, "json"),
    (G, None, None, "turtle"),
    (R, "", None, "json"),
    (G, "   ", None, "turtle"),
    (R, "garbage", None, "json"),
    (G, ";;;,,,", None, "turtle"),
    (R, "*/json", None, "json"),  # invalid range, skipped like Werkzeug does
    (G, "text/turtle;q=abc", None, "turtle"),  # invalid q: the item is skipped
    (G, "\x00\xff\u2603/\u2603", None, "turtle"),
    # wildcards
    (R, "*/*", None, "json"),
    (G, "*/*", None, "turtle"),
    (G, "*", None, "turtle"),  # a bare "*" as old clients send it
    (R, "text/*", None, "csv"),  # not xml via its text/xml alias: aliases need exact names
    (G, "application/*", None, "nt"),
    # exact types, case and parameters
    (R, "application/sparql-results+xml", None, "xml"),
    (R, "text/tab-separated-values", None, "tsv"),
    (G, "application/n-quads", None, "nquads"),
    (G, "TEXT/TURTLE", None, "turtle"),
    (G, "application/trig; charset=utf-8", None, "trig"),
    # aliases
    (R, "application/json", None, "json"),
    (R, "application/xml", None, "xml"),
    (G, "application/xml", None, "rdfxml"),
    (G, "text/plain", None, "nt"),
    (G, "application/json", None, "jsonld"),
    # q-values: highest wins, ties go to the default, then table order
    (R, "application/sparql-results+xml;q=0.9, text/csv", None, "csv"),
    (G, "application/rdf+xml;q=0.5, application/ld+json;q=0.6", None, "jsonld"),
    (G, "application/n-triples, text/turtle", None, "turtle"),
    (R, "text/tab-separated-values, text/csv", None, "csv"),
    (R, "text/csv;q=0.9, text/tab-separated-values", None, "tsv"),
    # specificity: the most specific range sets the q, and wins ties between offers
    (G, "text/turtle;q=0.1, */*", None, "nt"),  # turtle's own range lowers it below */*
    (G, "text/turtle;q=0.1, application/*;q=0.5", None, "nt"),
    (R, "text/*;q=0.9, text/csv;q=0.1", None, "tsv"),
    (G, "*/*;q=0.1, application/ld+json", None, "jsonld"),
    (G, "text/*, application/ld+json", None, "jsonld"),
    # q=0 excludes, even through */* or an alias
    (G, "text/turtle;q=0, */*", None, "nt"),
    (R, "application/sparql-results+json;q=0, */*", None, "xml"),
    (R, "application/sparql-results+json;q=0, application/json", None, NotAcceptable),
    (R, "application/*;q=0, text/*", None, "csv"),
    (G, "*/*;q=0", None, NotAcceptable),
    # a browser: application/xml is an alias of the XML formats
    (R, BROWSER, None, "xml"),
    (G, BROWSER, None, "rdfxml"),
    # nothing acceptable
    (R, "text/html", None, NotAcceptable),
    (G, "image/png, text/html;q=0.5", None, NotAcceptable),
    (R, "text/turtle", None, NotAcceptable),
    # an explicit format= wins over Accept; names, aliases and media types work
    (R, "text/csv", "json", "json"),
    (G, "text/html", "ttl", "turtle"),
    (G, None, "N-Triples", "nt"),
    (G, "text/turtle", "json-ld", "jsonld"),
    (R, None, "xml", "xml"),
    (G, None, "xml", "rdfxml"),
    (R, None, "text/tab-separated-values", "tsv"),
    (R, "text/csv", " ", "csv"),  # a blank format= is no format
    # format= of the other table is 406; unknown names are usage errors
    (G, None, "csv", NotAcceptable),
    (G, "*/*", "json", NotAcceptable),
    (R, None, "turtle", NotAcceptable),
    (R, None, "nquads", NotAcceptable),
    (R, None, "yaml", UsageError),
    (G, "*/*", "bogus", UsageError),
    # HTML is an offer like the others where a page and data share a URL
    (P, BROWSER, None, "html"),
    (P, "text/html", None, "html"),
    (P, "application/xhtml+xml", None, "html"),
    (P, "*/*", None, "turtle"),  # curl gets data, not the page
    (P, None, None, "turtle"),
    (P, "text/html;q=0", None, NotAcceptable),
    (P, "text/html;q=0, */*", None, "turtle"),
    (P, "text/html;q=0, application/xhtml+xml, */*;q=0.5", None, "turtle"),
    (P, "text/html;q=0.5, text/turtle;q=0.4", None, "html"),
    (P, "text/*", None, "turtle"),
    (P, "text/turtle", "html", "html"),
    (G, None, "html", UsageError),  # no page where there is none
]


@pytest.mark.parametrize(("table", "accept", "fmt", "expected"), NEGOTIATION)
def test_negotiate(table: str, accept: str | None, fmt: str | None, expected: object) -> None:
    offers = TABLES[table]
    if isinstance(expected, str):
        assert negotiate(accept, offers, None, fmt).name == expected
    else:
        assert isinstance(expected, type)
        with pytest.raises(expected):
            negotiate(accept, offers, None, fmt)


def test_negotiate_honours_a_given_default() -> None:
    csv = find_offer("csv")
    assert csv is not None
    assert negotiate(None, RESULTS, csv).name == "csv"
    assert negotiate("*/*", RESULTS, csv).name == "csv"
    assert negotiate("application/sparql-results+json", RESULTS, csv).name == "json"


def test_not_acceptable_lists_what_can_be_produced() -> None:
    with pytest.raises(NotAcceptable) as info:
        negotiate("text/html", GRAPH)
    assert info.value.status == 406
    for offer in GRAPH:
        assert offer.media_type in info.value.message
    assert info.value.details["available"] == [offer.media_type for offer in GRAPH]


def test_wrong_table_and_unknown_format_messages() -> None:
    with pytest.raises(NotAcceptable) as info:
        negotiate(None, GRAPH, None, "csv")
    assert "format=turtle" in info.value.message
    with pytest.raises(UsageError) as usage:
        negotiate(None, RESULTS, None, "yaml")
    assert "format=json" in usage.value.message and usage.value.status == 400


def test_tables() -> None:
    assert [o.media_type for o in RESULTS] == [
        "application/sparql-results+json",
        "application/sparql-results+xml",
        "text/csv",
        "text/tab-separated-values",
    ]
    assert GRAPH[0].media_type == "text/turtle"
    assert {o.name for o in GRAPH if o.quads} == {"trig", "nquads", "jsonld"}
    assert offers_for("ask") is RESULTS and offers_for("describe") is GRAPH
    assert RESULTS[0].content_type == "application/sparql-results+json; charset=utf-8"
    assert find_offer("application/n-quads") == find_offer("nq")


def test_html_and_json_are_offers_outside_the_data_tables() -> None:
    assert HTML.media_type == "text/html" and "application/xhtml+xml" in HTML.media_types
    assert find_offer("html") is None  # format=html only where a page is offered
    assert JSON.content_type == "application/json; charset=utf-8"


# -- one format table -----------------------------------------------------------------------------

SOURCE = Path(__file__).resolve().parent.parent / "src" / "aigraph"
#: Modules that may spell a media type or data-file suffix of the table as a string, and why.
ALLOWED: dict[str, str] = {
    "formats.py": "the format table itself",
    "web/strings/__init__.py": "the words of the pages are .json files, not RDF data",
}


def test_every_list_of_formats_derives_from_the_table() -> None:
    from aigraph import cli, graph, store
    from aigraph.describe import common
    from aigraph.engine import ENGINES
    from aigraph.site import build
    from aigraph.web import linked_data, publishing

    assert graph.FORMATS == {s: o.rdflib for s, o in READ_SUFFIXES.items()}
    assert store.OX_FORMATS == {
        s: getattr(pyoxigraph.RdfFormat, o.oxigraph) for s, o in READ_SUFFIXES.items()
    }
    assert set(READ_SUFFIXES) == {".ttl", ".nt", ".nq", ".trig", ".jsonld", ".json", ".rdf",
                                  ".owl", ".xml"}  # fmt: skip
    assert common.DUMP_FORMATS is GRAPH
    assert common.RESULT_FORMATS[:4] == tuple(o.w3c for o in RESULTS)
    assert [o.file_type_iri for o in GRAPH][0].endswith("/file-type/RDF_TURTLE")
    assert build.RDF_FILES == tuple((o.extension, o.media_type) for o in DESCRIBED)
    assert publishing.CATALOG_OFFERS is DESCRIBED and DESCRIBED[0].name == "rdfxml"
    assert publishing.DESCRIBED_SUFFIXES == ("rdf", "ttl", "jsonld", "nt")
    assert linked_data.HTML is HTML
    assert all(o.label and o.w3c for o in (*RESULTS, *GRAPH))
    assert all(o.rdflib and o.oxigraph and o.file_type for o in GRAPH)
    assert {o.name for o in GRAPH if o.graphs} == {"trig", "nquads"}  # read as datasets
    assert store._DATASET_FORMATS == {pyoxigraph.RdfFormat.TRIG, pyoxigraph.RdfFormat.N_QUADS}
    choices = {
        (command.name, param.name): list(param.type.choices)
        for command in cli.cli.commands.values()
        for param in command.params
        if isinstance(param.type, click.Choice)
    }
    assert choices[("export", "fmt")] == [o.name for o in GRAPH]
    assert choices[("serve", "engine")] == choices[("query", "engine")] == list(ENGINES)


def _strings(tree: ast.AST) -> Iterator[ast.Constant]:
    """Yield the string constants of ``tree`` that are not docstrings."""
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if id(node) not in docstrings:
                yield node


def test_no_other_module_spells_a_media_type_or_suffix_of_the_table() -> None:
    media_types = {o.media_type for o in (*RESULTS, *GRAPH, HTML, JSON)}
    suffixes = set(READ_SUFFIXES)
    found = []
    for path in sorted(SOURCE.rglob("*.py")):
        shown = path.relative_to(SOURCE).as_posix()
        if shown in ALLOWED:
            continue
        for node in _strings(ast.parse(path.read_text(encoding="utf-8"))):
            parts = {p.split(";")[0].strip().lower() for p in node.value.split(",")}
            named = sorted(parts & media_types) + sorted({node.value.lower()} & suffixes)
            if named:
                found.append(f"{shown}:{node.lineno}: {', '.join(named)}")
    assert not found, "use aigraph.formats instead of spelling these:\n" + "\n".join(found)


# -- serialisers --------------------------------------------------------------------------------

EX = "http://example.org/"
NODE = BNode("internal-label-never-shown")
TRICKY = 'a, "quoted"\nvalue'
ROWS = (
    {
        "s": URIRef(EX + "a"),
        "label": Literal("AI-fabriken", lang="sv"),
        "n": Literal("42", datatype=XSD.integer),
        "node": NODE,
        "text": Literal(TRICKY),
    },
    {
        "s": URIRef(EX + "b"),
        "n": Literal("2025-01-02", datatype=XSD.date),
        "node": NODE,
        "text": Literal("tab\there", datatype=XSD.string),
    },
)
SELECT = QueryResult(form="select", variables=("s", "label", "n", "node", "unbound", "text"),
                     rows=ROWS)  # fmt: skip
TRUNCATED = QueryResult(form="select", variables=SELECT.variables, rows=ROWS, truncated=True,
                        limit=2)  # fmt: skip
ASK_TRUE = QueryResult(form="ask", boolean=True)
ASK_FALSE = QueryResult(form="ask", boolean=False)


def offer(name: str) -> Offer:
    found = find_offer(name, RESULTS)
    assert found is not None
    return found


def _rows_of(parsed: Result) -> list[dict[str, object]]:
    return [{str(k): v for k, v in row.asdict().items()} for row in parsed]


def _comparable(rows: Iterable[Mapping[str, object]]) -> list[dict[str, object]]:
    """Drop blank nodes (relabelled) and write xsd:string literals as simple literals.

    RDF 1.1 makes them one term, but rdflib compares them unequal.
    """
    out = []
    for row in rows:
        out.append(
            {
                var: Literal(str(v)) if isinstance(v, Literal) and v.datatype == XSD.string else v
                for var, v in row.items()
                if not isinstance(v, BNode)
            }
        )
    return out


def test_json_structure() -> None:
    doc = json.loads(serialize_result(SELECT, offer("json")))
    assert doc["head"] == {"vars": ["s", "label", "n", "node", "unbound", "text"]}
    first, second = doc["results"]["bindings"]
    assert first["s"] == {"type": "uri", "value": EX + "a"}
    assert first["label"] == {"type": "literal", "value": "AI-fabriken", "xml:lang": "sv"}
    assert first["n"] == {"type": "literal", "value": "42", "datatype": str(XSD.integer)}
    assert first["text"] == {"type": "literal", "value": TRICKY}  # no datatype: xsd:string
    assert second["text"] == {"type": "literal", "value": "tab\there"}
    assert first["node"] == second["node"] == {"type": "bnode", "value": "b0"}
    assert "unbound" not in first
    assert "truncated" not in doc and "limit" not in doc


def test_json_parses_back_with_rdflib() -> None:
    parsed = Result.parse(BytesIO(serialize_result(SELECT, offer("json"))), format="json")
    assert [str(v) for v in parsed.vars] == list(SELECT.variables)
    rows = _rows_of(parsed)
    assert _comparable(rows) == _comparable(ROWS)
    assert rows[0]["node"] == rows[1]["node"]


def test_json_truncation_flag() -> None:
    doc = json.loads(serialize_result(TRUNCATED, offer("json")))
    assert doc["truncated"] is True and doc["limit"] == 2
    assert len(doc["results"]["bindings"]) == 2


def test_xml_is_valid_and_parses_back_with_rdflib() -> None:
    data = serialize_result(SELECT, offer("xml"))
    root = ElementTree.fromstring(data)
    assert root.tag == f"{{{SPARQL_RESULTS_NS}}}sparql"
    names = [v.get("name") for v in root.iter(f"{{{SPARQL_RESULTS_NS}}}variable")]
    assert names == list(SELECT.variables)
    parsed = Result.parse(BytesIO(data), format="xml")
    rows = _rows_of(parsed)
    assert _comparable(rows) == _comparable(ROWS)
    assert rows[0]["node"] == rows[1]["node"]
    assert b"truncated" not in data
    assert b"truncated" in serialize_result(TRUNCATED, offer("xml"))


def test_xml_escapes_markup_and_control_characters() -> None:
    nasty = QueryResult(
        form="select",
        variables=("x",),
        rows=({"x": Literal("<b>&amp;</b> \r\x01 \"'", lang="en")},),
    )
    data = serialize_result(nasty, offer("xml"))
    literal = ElementTree.fromstring(data).find(f".//{{{SPARQL_RESULTS_NS}}}literal")
    assert literal is not None
    assert literal.text == "<b>&amp;</b> \r\ufffd \"'"


CSV_EXPECTED = (
    "s,label,n,node,unbound,text\r\n"
    'http://example.org/a,AI-fabriken,42,_:b0,,"a, ""quoted""\nvalue"\r\n'
    "http://example.org/b,,2025-01-02,_:b0,,tab\there\r\n"
)

TSV_EXPECTED = (
    "?s\t?label\t?n\t?node\t?unbound\t?text\n"
    '<http://example.org/a>\t"AI-fabriken"@sv\t42\t_:b0\t\t"a, \\"quoted\\"\\nvalue"\n'
    '<http://example.org/b>\t\t"2025-01-02"^^<http://www.w3.org/2001/XMLSchema#date>\t_:b0'
    '\t\t"tab\\there"\n'
)


def test_csv_exact() -> None:
    assert serialize_result(SELECT, offer("csv")).decode() == CSV_EXPECTED


def test_tsv_exact() -> None:
    assert serialize_result(SELECT, offer("tsv")).decode() == TSV_EXPECTED


def test_tsv_short_forms_only_where_exact() -> None:
    lexical = [
        ("1.5", XSD.decimal),
        ("1.5E3", XSD.double),
        ("true", XSD.boolean),
        ("INF", XSD.double),
        ("1", XSD.boolean),
        ("-07", XSD.integer),
    ]
    # normalize=False keeps the lexical forms (rdflib would rewrite "1.5E3" as "1500.0")
    values = [Literal(lex, datatype=dt, normalize=False) for lex, dt in lexical]
    values.append(URIRef("http://example.org/a%20b>"))
    rows = tuple({"x": v} for v in values)
    text = serialize_result(QueryResult(form="select", variables=("x",), rows=rows), offer("tsv"))
    assert text.decode().splitlines()[1:] == [
        "1.5",
        "1.5E3",
        "true",
        f'"INF"^^<{XSD.double}>',
        f'"1"^^<{XSD.boolean}>',
        "-07",
        "<http://example.org/a%20b\\u003E>",
    ]


@pytest.mark.parametrize(
    ("name", "true_text", "false_text"),
    [
        ("csv", "_askResult\r\ntrue\r\n", "_askResult\r\nfalse\r\n"),
        ("tsv", "?_askResult\ntrue\n", "?_askResult\nfalse\n"),
    ],
)
def test_ask_tables(name: str, true_text: str, false_text: str) -> None:
    assert serialize_result(ASK_TRUE, offer(name)).decode() == true_text
    assert serialize_result(ASK_FALSE, offer(name)).decode() == false_text


@pytest.mark.parametrize("name", ["json", "xml"])
def test_ask_documents(name: str) -> None:
    for result in (ASK_TRUE, ASK_FALSE):
        data = serialize_result(result, offer(name))
        assert Result.parse(BytesIO(data), format=name).askAnswer is result.boolean
        assert parse_results(data, offer(name).media_type) == result
    assert json.loads(serialize_result(ASK_TRUE, offer("json"))) == {"head": {}, "boolean": True}


def test_empty_select() -> None:
    empty = QueryResult(form="select", variables=("x",))
    assert json.loads(serialize_result(empty, offer("json")))["results"] == {"bindings": []}
    assert serialize_result(empty, offer("csv")) == b"x\r\n"
    assert serialize_result(empty, offer("tsv")) == b"?x\n"


def test_serialize_result_refuses_graph_offers_and_graph_results() -> None:
    with pytest.raises(ValueError):
        serialize_result(SELECT, GRAPH[0])
    with pytest.raises(ValueError):
        serialize_result(QueryResult(form="construct"), RESULTS[0])


@pytest.mark.parametrize("name", ["json", "xml"])
def test_parse_results_round_trip(name: str) -> None:
    back = parse_results(serialize_result(TRUNCATED, offer(name)), offer(name).media_type)
    assert back.variables == SELECT.variables
    assert _comparable(back.rows) == _comparable(ROWS)
    assert back.rows[0]["node"] == back.rows[1]["node"]
    assert back.truncated is (name == "json")  # only JSON carries the flag


@pytest.mark.parametrize(
    ("data", "media_type"),
    [
        (b"{", "application/sparql-results+json"),
        (b"[]", "application/json"),
        (b'{"boolean": "yes"}', "application/sparql-results+json"),
        (b"<unclosed", "application/sparql-results+xml"),
        (b"<other/>", "application/sparql-results+xml"),
        (b"a,b\r\n", "text/csv"),
        (b"<html/>", "text/html"),
    ],
)
def test_parse_results_rejects_bad_answers(data: bytes, media_type: str) -> None:
    with pytest.raises(EngineUnavailable):
        parse_results(data, media_type)


def test_graph_results_serialise_through_export() -> None:
    triples = (
        (URIRef(EX + "a"), URIRef(EX + "p"), Literal("x", lang="en"), None),
        (URIRef(EX + "a"), URIRef(EX + "q"), BNode(), None),
    )
    result = QueryResult(form="construct", triples=triples)
    turtle = serialize(result, GRAPH[0], prefixes={"ex": EX})
    assert b"@prefix ex: <http://example.org/> ." in turtle
    expected = Graph()
    for s, p, o, _ in triples:
        expected.add((s, p, o))
    for graph_offer, rdflib_format in zip(
        GRAPH, ["turtle", "nt", "json-ld", "xml", "trig", "nquads"], strict=True
    ):
        data = serialize_graph(triples, graph_offer)
        assert data == serialize_graph(expected, graph_offer)
        back = Graph().parse(data=data, format=rdflib_format)
        assert isomorphic(back, expected), graph_offer.name


def test_graph_results_get_readable_prefixes() -> None:
    """Well-known vocabularies by their usual prefix, other namespaces by a word of their IRI."""
    schema, aig = "http://schema.org/", "https://w3id.org/aigraph/ontology#"
    triples = (
        (URIRef(EX + "a"), URIRef(schema + "name"), Literal("a"), None),
        (URIRef(EX + "a"), URIRef(aig + "hostedBy"), URIRef(EX + "b"), None),
        (URIRef(EX + "b"), URIRef("http://vocab.example.net/terms/v2#size"), Literal(2), None),
        (URIRef(EX + "b"), URIRef("http://www.w3.org/ns/dcat#keyword"), Literal("k"), None),
    )
    turtle = serialize_graph(triples, GRAPH[0]).decode()
    prefixes = {line.split()[1] for line in turtle.splitlines() if line.startswith("@prefix")}
    assert {"schema:", "aig:", "dcat:", "v2:"} <= prefixes, turtle
    assert not [p for p in prefixes if p[:2] == "ns" and p[2:-1].isdigit()], turtle
    xml = serialize_graph(triples, find_offer("rdfxml", GRAPH)).decode()  # type: ignore[arg-type]
    assert 'xmlns:schema="http://schema.org/"' in xml and "xmlns:ns1" not in xml, xml
    # Given prefixes win over a graph's own, which win over the well-known ones.
    graph = Graph(bind_namespaces="none")
    graph.bind("s", schema)
    graph.bind("ex", EX)
    for s, p, o, _ in triples:
        graph.add((s, p, o))
    chosen = serialize_graph(graph, GRAPH[0], prefixes={"sdo": schema}).decode()
    assert "@prefix sdo: <http://schema.org/>" in chosen and "@prefix s:" not in chosen, chosen
    assert "@prefix ex: <http://example.org/>" in chosen, chosen
