"""End-to-end: a real ``aigraph serve`` on a loopback port, met the way users meet it."""

from __future__ import annotations

import http.client
import json
import threading
import time
from urllib.parse import urlencode, urlsplit

import pytest
from rdflib import Graph, URIRef
from SPARQLWrapper import CSV, JSON, JSONLD, N3, RDFXML, TSV, TURTLE, XML, SPARQLWrapper
from SPARQLWrapper.SPARQLExceptions import QueryBadFormed

from conftest import LiveServer
from loopback import Listener

BASE = "https://w3id.org/aigraph"
VINNOVA = f"{BASE}/id/organisation/vinnova"
SELECT = f"SELECT ?p ?o WHERE {{ <{VINNOVA}> ?p ?o }}"


def wrapper(live_server: str, query: str, fmt: str, method: str = "GET") -> SPARQLWrapper:
    sparql = SPARQLWrapper(live_server + "/sparql")
    sparql.setQuery(query)
    sparql.setReturnFormat(fmt)
    sparql.setMethod(method)
    return sparql


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_sparqlwrapper_select_json(live_server, method):
    result = wrapper(live_server, SELECT, JSON, method).queryAndConvert()
    assert result["head"]["vars"] == ["p", "o"]
    values = {b["o"]["value"] for b in result["results"]["bindings"]}
    assert "http://www.wikidata.org/entity/Q4355568" in values


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_sparqlwrapper_select_xml_csv_tsv(live_server, method):
    xml = wrapper(live_server, SELECT, XML, method).queryAndConvert()
    assert "Q4355568" in xml.toxml()
    csv = wrapper(live_server, SELECT, CSV, method).queryAndConvert()
    assert csv.decode().splitlines()[0] == "p,o"
    tsv = wrapper(live_server, SELECT, TSV, method).queryAndConvert()
    assert tsv.decode().splitlines()[0] == "?p\t?o"


def test_sparqlwrapper_ask(live_server):
    result = wrapper(live_server, f"ASK {{ <{VINNOVA}> ?p ?o }}", JSON).queryAndConvert()
    assert result["boolean"] is True


@pytest.mark.parametrize("fmt", [TURTLE, N3, RDFXML, JSONLD])
@pytest.mark.parametrize("form", ["CONSTRUCT", "DESCRIBE"])
def test_sparqlwrapper_graph_results(live_server, fmt, form):
    query = (
        f"CONSTRUCT {{ <{VINNOVA}> ?p ?o }} WHERE {{ <{VINNOVA}> ?p ?o }}"
        if form == "CONSTRUCT"
        else f"DESCRIBE <{VINNOVA}>"
    )
    graph = wrapper(live_server, query, fmt).queryAndConvert()
    if not isinstance(graph, Graph):
        parsed = Graph()
        parsed.parse(data=graph, format="json-ld" if fmt == JSONLD else "turtle")
        graph = parsed
    assert (URIRef(VINNOVA), None, None) in graph


def test_sparqlwrapper_named_query(live_server, core):
    text = core.named["funding"].text
    result = wrapper(live_server, text, JSON, "POST").queryAndConvert()
    values = {v["value"] for b in result["results"]["bindings"] for v in b.values()}
    assert any(v.startswith("100000000") for v in values)


def test_sparqlwrapper_reports_syntax_errors(live_server):
    with pytest.raises(QueryBadFormed) as caught:
        wrapper(live_server, "SELECT * WHERE { ?s ?p }", JSON).queryAndConvert()
    assert "line" in str(caught.value)


def raw(live_server: str, method: str, path: str, body: bytes = b"", headers=None, timeout=30):
    """Send one raw HTTP request, as curl would, and return (status, headers, body)."""
    parts = urlsplit(live_server)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for name, value in (headers or {}).items():
            conn.putheader(name, value)
        if body or method == "POST":
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders()
        if body:
            conn.send(body)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


MALFORMED = [
    ("invalid UTF-8", "GET", "/sparql?query=SELECT%20%FF", b"", {}, 400),
    ("null byte", "GET", "/sparql?query=ASK%20%7B%7D%00", b"", {}, 400),
    (
        "nested braces",
        "POST",
        "/sparql",
        ("ASK " + "{" * 5000 + "}" * 5000).encode(),
        {"Content-Type": "application/sparql-query"},
        400,
    ),
    (
        "nested parens",
        "POST",
        "/sparql",
        ("SELECT * WHERE { FILTER(" + "(" * 5000 + "1" + ")" * 5000 + ") }").encode(),
        {"Content-Type": "application/sparql-query"},
        400,
    ),
    (
        "10 MB body",
        "POST",
        "/sparql",
        b"#" * (10 * 1024 * 1024),
        {"Content-Type": "application/sparql-query"},
        413,
    ),
    ("unknown Accept", "GET", "/sparql?query=ASK%7B%7D", b"", {"Accept": "image/x-nothing"}, 406),
    # An Accept header with nothing readable in it is treated as absent: the default format.
    ("garbage Accept", "GET", "/sparql?query=ASK%7B%7D", b"", {"Accept": ";;;,,q=x/"}, 200),
    ("huge header", "GET", "/sparql?query=ASK%7B%7D", b"", {"X-Big": "a" * 100_000}, 431),
    (
        "body of invalid UTF-8",
        "POST",
        "/sparql",
        b"ASK { \xc3\x28 }",
        {"Content-Type": "application/sparql-query"},
        400,
    ),
    (
        "form body of invalid UTF-8",
        "POST",
        "/sparql",
        b"query=ASK%20%7B%FF%7D",
        {"Content-Type": "application/x-www-form-urlencoded"},
        400,
    ),
    ("wrong method", "PATCH", "/sparql", b"", {}, 405),
]


@pytest.mark.parametrize(
    "name, method, path, body, headers, status", MALFORMED, ids=[m[0] for m in MALFORMED]
)
def test_malformed_input_gets_a_clear_4xx(live_server, name, method, path, body, headers, status):
    got, response_headers, payload = raw(live_server, method, path, body, headers)
    assert got == status, payload
    if got >= 400:
        error = json.loads(payload)
        assert error["status"] == got and error["message"] and error["request_id"]
        assert "Traceback" not in error["message"]
    # the server is still up
    assert raw(live_server, "GET", "/healthz")[0] == 200


@pytest.fixture()
def listener():
    listening = Listener()
    yield listening
    listening.close()


@pytest.fixture(scope="module")
def secret_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("secret") / "secret.ttl"
    path.write_text('<urn:secret:s> <urn:secret:p> "TOP-SECRET-4711" .\n')
    return path


def outbound_queries(port: int, secret_uri: str) -> list[str]:
    url = f"http://127.0.0.1:{port}/data"
    return [
        f"SELECT * WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ SERVICE SILENT <{url}> {{ ?s ?p ?o }} }}",
        f"SELECT * FROM <{url}> WHERE {{ ?s ?p ?o }}",
        f"SELECT * FROM NAMED <{url}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ GRAPH <{url}> {{ ?s ?p ?o }} }}",
        f"LOAD <{url}>",
        f"SELECT * FROM <{secret_uri}> WHERE {{ ?s ?p ?o }}",
        f"SELECT * FROM NAMED <{secret_uri}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ GRAPH <{secret_uri}> {{ ?s ?p ?o }} }}",
        f"CONSTRUCT {{ ?s ?p ?o }} FROM <{secret_uri}> WHERE {{ ?s ?p ?o }}",
        f"LOAD <{secret_uri}>",
    ]


def test_no_outbound_access_and_no_local_files(live_server, listener, secret_file):
    for query in outbound_queries(listener.port, secret_file.as_uri()):
        status, _, payload = raw(
            live_server,
            "POST",
            "/sparql",
            query.encode(),
            {"Content-Type": "application/sparql-query"},
        )
        assert status in (200, 400, 403), (query, payload)
        assert b"TOP-SECRET-4711" not in payload, query
        assert b"urn:secret" not in payload, query
    for query in outbound_queries(listener.port, secret_file.as_uri())[:5]:
        raw(live_server, "GET", "/sparql?" + urlencode({"query": query}))
    for param in ("default-graph-uri", "named-graph-uri"):
        for target in (f"http://127.0.0.1:{listener.port}/g", secret_file.as_uri()):
            query = "SELECT * WHERE { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } }"
            status, _, payload = raw(
                live_server, "GET", "/sparql?" + urlencode({"query": query, param: target})
            )
            assert status == 200 and b"TOP-SECRET" not in payload
    time.sleep(0.3)
    assert listener.connections == 0


# A cartesian product over all triples: CPU-bound for hours, in constant memory, so it meets
# the time limit (ORDER BY RAND() over it meets the memory bound first: test_operations.py).
EXPLOSIVE = """SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"""


@pytest.mark.parametrize("engine", ["oxigraph", "rdflib"])
def test_timeout_stops_the_work_and_others_are_served(engine):
    """Functional only; how fast cheap queries are meanwhile: benchmarks/timeout_isolation.py."""
    import psutil

    server = LiveServer(
        "--timeout", "2", "--engine", engine, "--no-validate", env={"AIGRAPH_EXECUTORS": "2"}
    )
    try:
        process = psutil.Process(server.pid)
        workers_before = {c.pid for c in process.children(recursive=True)}
        outcome: dict[str, object] = {}

        def explode() -> None:
            outcome["status"], _, outcome["body"] = raw(
                server.url,
                "POST",
                "/sparql",
                EXPLOSIVE.encode(),
                {"Content-Type": "application/sparql-query"},
                timeout=60,
            )

        thread = threading.Thread(target=explode)
        thread.start()
        cheap, answered_meanwhile = [], []
        time.sleep(0.3)
        while thread.is_alive():
            status, _, _ = raw(server.url, "GET", "/sparql?query=ASK%7B%3Fs%20%3Fp%20%3Fo%7D")
            cheap.append(status)
            if thread.is_alive():
                answered_meanwhile.append(status)
            time.sleep(0.1)
        thread.join()
        assert outcome["status"] == 503, outcome
        body = json.loads(outcome["body"])
        assert body["error"] == "query-timeout" and "2" in body["message"]
        assert cheap and all(status == 200 for status in cheap), cheap
        # Cheap queries were answered while the explosive one still ran (not queued behind it).
        assert answered_meanwhile and all(s == 200 for s in answered_meanwhile), cheap
        # The worker that ran it was killed and replaced: its process is gone, the pool is full.
        workers_after = {c.pid for c in process.children(recursive=True)}
        killed = workers_before - workers_after
        assert killed, (workers_before, workers_after)
        assert all(_ended(pid) for pid in killed), killed
        stats = json.loads(raw(server.url, "GET", "/stats")[2])
        assert stats["timeouts"] == 1
        # The pool is full again (counted by the pool: the process tree may hold others briefly).
        assert stats["engine_stats"]["workers"] == 2, stats
        assert stats["engine_stats"]["restarts"] >= 1, stats
    finally:
        server.stop()


def _ended(pid: int) -> bool:
    """Tell if a process has ended (a zombie nobody reaped yet has ended too)."""
    import psutil

    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_bad_data_refuses_to_start(tmp_path):
    bad = tmp_path / "bad.ttl"
    bad.write_text("@prefix ex: <http://example.org/> .\nex:a ex:b ex:c .\nex:d ex:e .\n")
    with pytest.raises(RuntimeError) as caught:
        LiveServer("--data", str(bad), "--no-validate")
    assert "bad.ttl:3" in str(caught.value)


def test_user_data_without_our_shapes(tmp_path):
    data = tmp_path / "mine.nt"
    data.write_text('<http://example.org/a> <http://example.org/b> "c" .\n')
    refused = None
    try:
        LiveServer("--data", str(data))
    except RuntimeError as exc:
        refused = str(exc)
    assert refused is not None and "conform" in refused
    server = LiveServer("--data", str(data), "--no-validate")
    try:
        status, _, payload = raw(
            server.url, "GET", "/sparql?query=SELECT%20%3Fo%7B%3Fs%20%3Fp%20%3Fo%7D"
        )
        assert status == 200 and b'"c"' in payload
    finally:
        server.stop()
