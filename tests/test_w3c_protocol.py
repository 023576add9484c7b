"""The W3C SPARQL 1.1 Protocol test suite, run against a real ``aigraph serve``.

Each test of ``reference/w3c-sparql11/protocol/manifest.ttl`` is read with rdflib, its HTTP
requests are sent as the manifest describes them (method, path with ``/sparql/`` replaced by
``/sparql``, headers, body in its stated encoding) to a server on loopback that holds the
manifest's data files in the named graphs its queries use, and each response is checked against
the expected status class, result format (by Content-Type and by parsing the body) and boolean.

The endpoint is read-only. The update tests that expect a store to accept an update are
answered differently, by design (``READ_ONLY_DEVIATIONS``): each update is refused with 403, and
the query that follows it, which on a writable store would find what the update wrote, finds
nothing (``false``). Every other test passes as the manifest says.
"""

from __future__ import annotations

import http.client
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from rdflib import RDF, RDFS, BNode, Dataset, Graph, Literal, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.query import Result

from conftest import LiveServer

HERE = Path(__file__).resolve().parent / "reference" / "w3c-sparql11" / "protocol"
MANIFEST = HERE / "manifest.ttl"

MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
HT = Namespace("http://www.w3.org/2011/http#")
CNT = Namespace("http://www.w3.org/2011/content#")
UT = Namespace("http://www.w3.org/2009/sparql/tests/test-update#")
HTS = Namespace("http://www.w3.org/2011/http-statusCodes#")

#: The update tests that expect a writable store (2xx for the update, then a query that finds
#: what it wrote). aigraph is read-only: the update gets 403 and the query finds nothing.
READ_ONLY_DEVIATIONS = frozenset(
    {
        "update_dataset_default_graph",
        "update_dataset_default_graphs",
        "update_dataset_named_graphs",
        "update_dataset_full",
        "update_post_form",
        "update_post_direct",
        "update_base_uri",
    }
)
#: aigraph's documented answer to an update (``update=`` or ``application/sparql-update``).
READ_ONLY_STATUS = 403

#: Media types each expected format may come in, with the rdflib parser that reads them: the
#: manifest names XML or JSON for booleans, XML, JSON, CSV or TSV for tables, and RDF/XML,
#: Turtle or N-Triples (or RDFa, which aigraph does not serve) for graphs.
BOOLEAN_TYPES = {"application/sparql-results+json": "json", "application/sparql-results+xml": "xml"}
TABULAR_TYPES = {**BOOLEAN_TYPES, "text/csv": "csv", "text/tab-separated-values": "tsv"}
RDF_TYPES = {"application/rdf+xml": "xml", "text/turtle": "turtle", "application/n-triples": "nt"}


@dataclass(frozen=True)
class Expected:
    """What the manifest expects of one response."""

    status_classes: frozenset[int]  # 2 for hts:StatusCode2xx, ...
    format: str | None  # "boolean", "tabular", "RDF"
    boolean: bool | None


@dataclass(frozen=True)
class ProtocolRequest:
    """One HTTP request of a test, as the manifest describes it."""

    method: str
    path: str
    headers: tuple[tuple[str, str], ...]
    body: bytes | None
    expected: Expected

    @property
    def content_type(self) -> str:
        found = [v for k, v in self.headers if k.lower() == "content-type"]
        return found[0].split(";")[0].strip().lower() if found else ""

    @property
    def is_update(self) -> bool:
        """Return whether this request sends a SPARQL Update (by either of its two forms)."""
        if self.content_type == "application/sparql-update":
            return True
        params = parse_qsl(urlsplit(self.path).query)
        if self.content_type == "application/x-www-form-urlencoded" and self.body:
            params += parse_qsl(self.body.decode("utf-8"))
        return any(name == "update" for name, _ in params)


@dataclass(frozen=True)
class ProtocolTest:
    """One test of the manifest: its local name, its title and its requests, in order."""

    name: str
    title: str
    requests: tuple[ProtocolRequest, ...]


def _items(graph: Graph, head: object) -> list:
    return list(Collection(graph, head)) if isinstance(head, BNode | URIRef) else []


def _expected(graph: Graph, response: object) -> Expected:
    classes = frozenset(
        int(str(code).removeprefix(str(HTS.StatusCode))[0])
        for code in graph.objects(response, MF.expectedStatus)
    )
    form = graph.value(response, MF.expectedFormat)
    boolean = graph.value(response, MF.expectedBoolean)
    return Expected(
        status_classes=classes,
        format=str(form) if form is not None else None,
        boolean=boolean.toPython() if isinstance(boolean, Literal) else None,
    )


def _request(graph: Graph, node: object) -> ProtocolRequest:
    path = str(graph.value(node, HT.absolutePath))
    assert path.startswith("/sparql/"), path
    headers = tuple(
        (str(graph.value(h, HT.fieldName)), str(graph.value(h, HT.fieldValue)))
        for h in _items(graph, graph.value(node, HT.headers))
    )
    body_node = graph.value(node, HT.body)
    body = None
    if body_node is not None:
        encoding = str(graph.value(body_node, CNT.characterEncoding) or "UTF-8")
        body = str(graph.value(body_node, CNT.chars)).encode(encoding)
    return ProtocolRequest(
        method=str(graph.value(node, HT.methodName)),
        path="/sparql" + path.removeprefix("/sparql/"),
        headers=headers,
        body=body,
        expected=_expected(graph, graph.value(node, HT.resp)),
    )


def read_manifest() -> tuple[list[ProtocolTest], dict[URIRef, Path]]:
    """Return the manifest's tests in order, and the data files by the graph name they need."""
    graph = Graph().parse(MANIFEST, format="turtle")
    manifest = graph.value(predicate=RDF.type, object=MF.Manifest)
    tests = []
    for entry in _items(graph, graph.value(manifest, MF.entries)):
        action = graph.value(entry, MF.action)
        tests.append(
            ProtocolTest(
                name=str(entry).rpartition("#")[2],
                title=str(graph.value(entry, MF.name)),
                requests=tuple(
                    _request(graph, r) for r in _items(graph, graph.value(action, HT.requests))
                ),
            )
        )
    data: dict[URIRef, Path] = {}
    for loaded in graph.objects(predicate=UT.graphData):
        name = URIRef(str(graph.value(loaded, RDFS.label)))
        data[name] = HERE / Path(urlsplit(str(graph.value(loaded, UT.graph))).path).name
    return tests, data


TESTS, GRAPH_DATA = read_manifest()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """An ``aigraph serve`` holding each data file in the named graph the manifest gives it."""
    dataset = Dataset()
    for name, path in GRAPH_DATA.items():
        dataset.graph(name).parse(path, format="nt")
    trig = tmp_path_factory.mktemp("w3c-protocol") / "data.trig"
    dataset.serialize(trig, format="trig")
    live = LiveServer("--data", str(trig), "--no-validate")
    yield live
    live.stop()


def send(server: LiveServer, request: ProtocolRequest) -> tuple[int, str, bytes]:
    """Send ``request`` as the manifest gives it; return status, Content-Type and body."""
    address = urlsplit(server.url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=60)
    try:
        connection.request(
            request.method, request.path, body=request.body, headers=dict(request.headers)
        )
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read()
    finally:
        connection.close()


def check_format(expected: Expected, content_type: str, body: bytes) -> None:
    """Check the body is in the expected format (by its Content-Type and by parsing it)."""
    media_type = content_type.split(";")[0].strip().lower()
    shown = f"{content_type}: {body[:2000]!r}"
    if expected.format == "RDF":
        assert media_type in RDF_TYPES, shown
        Graph().parse(data=body, format=RDF_TYPES[media_type])
        return
    types = BOOLEAN_TYPES if expected.format == "boolean" else TABULAR_TYPES
    assert expected.format in ("boolean", "tabular"), expected.format
    assert media_type in types, shown
    result = Result.parse(io.BytesIO(body), format=types[media_type])
    assert result.type == ("ASK" if expected.format == "boolean" else "SELECT"), shown
    if expected.boolean is not None:
        assert result.askAnswer is expected.boolean, shown


def run_as_manifest_says(server: LiveServer, request: ProtocolRequest) -> None:
    status, content_type, body = send(server, request)
    assert status // 100 in request.expected.status_classes, f"{status}: {body[:2000]!r}"
    if request.expected.format is not None:
        check_format(request.expected, content_type, body)


def run_read_only(server: LiveServer, request: ProtocolRequest) -> None:
    """Run a request of a deviating update test: the update is refused, nothing is written."""
    status, content_type, body = send(server, request)
    if request.is_update:
        assert status == READ_ONLY_STATUS, f"{status}: {body[:2000]!r}"
        return
    # The query that would find what the update wrote: answered, and it finds nothing.
    assert request.expected.boolean is True
    assert status // 100 in request.expected.status_classes, f"{status}: {body[:2000]!r}"
    check_format(Expected(request.expected.status_classes, "boolean", False), content_type, body)


@pytest.mark.parametrize("test", TESTS, ids=[t.name for t in TESTS])
def test_w3c_protocol(server: LiveServer, test: ProtocolTest) -> None:
    assert test.requests, f"{test.name} has no requests"
    for request in test.requests:
        if test.name in READ_ONLY_DEVIATIONS:
            run_read_only(server, request)
        else:
            run_as_manifest_says(server, request)


def test_the_deviations_are_exactly_the_updates_expecting_success() -> None:
    expecting_success = {
        t.name
        for t in TESTS
        if any(r.is_update and 2 in r.expected.status_classes for r in t.requests)
    }
    assert expecting_success == READ_ONLY_DEVIATIONS


def test_the_manifest_is_read_whole() -> None:
    assert len(TESTS) == 34
    assert sum("update" not in t.name for t in TESTS) == 20
    assert set(GRAPH_DATA) == {
        URIRef(f"http://kasei.us/2009/09/sparql/data/data{n}.rdf") for n in (1, 2, 3)
    }
    assert all(path.is_file() for path in GRAPH_DATA.values())
