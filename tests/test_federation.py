"""`serve --allow-service URL_PREFIX`: SERVICE reaches allow-listed endpoints only, enforced at
the connection.

A second SPARQL endpoint on loopback (an Oxigraph server holding the bundled data) is the
allowed target. Every other target is refused without a connection: the ``Listener`` of
tests/loopback.py counts what reaches it. One test switches the guard off to show that the
broker alone refuses, and one reads the descriptors of the worker processes to show that only
the SERVICE process holds the broker's channel.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from rdflib import Dataset

import oxigraph_server
from aigraph.core import Aigraph
from aigraph.engine import broker, guard
from aigraph.engine.federation import FederatedEngine, Federating
from aigraph.errors import EngineUnavailable, QueryRefused, UsageError
from aigraph.settings import Settings
from conftest import LiveServer
from loopback import Listener

VINNOVA = "https://w3id.org/aigraph/id/organisation/vinnova"
LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
JSON = "application/sparql-results+json"


def service_query(endpoint: str) -> str:
    return f"SELECT ?name WHERE {{ SERVICE <{endpoint}> {{ <{VINNOVA}> <{LABEL}> ?name }} }}"


@pytest.fixture(scope="module")
def second(tmp_path_factory) -> Iterator[str]:
    """The query endpoint of a second SPARQL server on loopback, with the bundled data."""
    with oxigraph_server.bundled_server(tmp_path_factory.mktemp("second")) as url:
        yield url


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    found = Listener(reply=b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    yield found
    found.close()


@pytest.fixture(scope="module")
def redirector(listener) -> Iterator[str]:
    """An endpoint that answers every request with a redirect to the listener."""

    class Redirect(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(302)
            self.send_header("Location", f"{listener.url}/sparql?{self.path.partition('?')[2]}")
            self.end_headers()

        do_POST = do_GET  # noqa: N815 - the name http.server calls

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/sparql"
    server.shutdown()
    server.server_close()


class Recorder:
    """An endpoint on loopback that answers every request with one row and keeps its target."""

    ROW = json.dumps(
        {
            "head": {"vars": ["name"]},
            "results": {"bindings": [{"name": {"type": "literal", "value": "Remote"}}]},
        }
    ).encode()

    def __init__(self) -> None:
        self.targets: list[str] = []
        found = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                found.targets.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", JSON)
                self.send_header("Content-Length", str(len(Recorder.ROW)))
                self.end_headers()
                self.wfile.write(Recorder.ROW)

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self.do_GET()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.sparql = f"{self.base}/sparql"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def recorder() -> Iterator[Recorder]:
    found = Recorder()
    yield found
    found.close()


@pytest.fixture(scope="module")
def live(second, redirector, recorder) -> Iterator[LiveServer]:
    """`aigraph serve --allow-service SECOND --allow-service REDIRECTOR --allow-service REC`."""
    server = LiveServer(
        *("--allow-service", second, "--allow-service", redirector),
        *("--allow-service", recorder.sparql),
        env={"AIGRAPH_SERVICE_MAX_CALLS": "5"},
    )
    yield server
    server.stop()


def post(base: str, query: str) -> tuple[int, dict]:
    data = urllib.parse.urlencode({"query": query}).encode()
    request = urllib.request.Request(f"{base}/sparql", data=data, headers={"Accept": JSON})
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_service_to_the_allowed_endpoint_works(live, second) -> None:
    status, body = post(live.url, service_query(second))
    assert status == 200, body
    names = {b["name"]["value"] for b in body["results"]["bindings"]}
    assert "Vinnova" in names


def test_service_joins_local_and_remote_data(live, second) -> None:
    query = (
        f"SELECT ?label ?name WHERE {{ SERVICE <{second}> {{ <{VINNOVA}> <{LABEL}> ?name }} "
        f"<{VINNOVA}> <{LABEL}> ?label FILTER(?label = ?name) }}"
    )
    status, body = post(live.url, query)
    assert status == 200, body
    assert body["results"]["bindings"], body


@pytest.mark.parametrize("target", ["listener", "own", "unlisted", "prefix-lookalike"])
def test_every_other_target_is_refused_without_a_connection(live, listener, second, target) -> None:
    before = listener.connections
    endpoint = {
        "listener": f"{listener.url}/sparql",
        "own": f"{live.url}/sparql",
        "unlisted": "http://unlisted.example/sparql",
        "prefix-lookalike": second.replace("127.0.0.1", "localhost"),
    }[target]
    requests = sparql_requests(live)
    status, body = post(live.url, service_query(endpoint))
    assert status == 400, body
    assert "allow-list" in body["message"]
    assert listener.connections == before
    assert sparql_requests(live) == requests + 1  # ours, and none from a SERVICE call to itself


def sparql_requests(server: LiveServer) -> int:
    """How many requests to /sparql the server's access log shows, once it stops growing."""
    seen = -1
    for _ in range(30):
        count = sum('"path": "/sparql"' in line for line in list(server.lines))
        if count == seen:
            return count
        seen = count
        time.sleep(0.2)
    return seen


def test_a_redirect_is_refused_and_never_followed(live, listener, redirector) -> None:
    before = listener.connections
    status, body = post(live.url, service_query(redirector))
    assert status == 502, body
    assert "redirect" in body["message"]
    assert listener.connections == before


def test_the_service_description_lists_the_allowed_endpoints(live, second, redirector) -> None:
    request = urllib.request.Request(f"{live.url}/sparql", headers={"Accept": "text/turtle"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        text = answer.read().decode()
    assert "BasicFederatedQuery" in text
    assert f"<{second}>" in text and f"<{redirector}>" in text


OUTSIDE = ["/sparql/../x", "/sparql%2F..%2F..%2Fadmin", "/sparqlfoo", "/sparql/%2e%2E/x"]


@pytest.mark.parametrize("path", OUTSIDE)
def test_a_path_outside_the_prefix_never_reaches_the_endpoint(live, recorder, path) -> None:
    before = len(recorder.targets)
    status, body = post(live.url, service_query(recorder.base + path))
    assert status == 400, body
    assert "allow-list" in body["message"]
    assert len(recorder.targets) == before


def per_row_query(endpoint: str, rows: int) -> str:
    """A query whose SERVICE pattern rdflib calls once for each of ``rows`` rows."""
    values = " ".join(str(i) for i in range(rows))
    return (
        f"SELECT ?i ?name WHERE {{ VALUES ?i {{ {values} }} "
        f"OPTIONAL {{ SERVICE <{endpoint}> {{ ?s ?p ?name }} }} }}"
    )


def test_a_query_makes_at_most_service_max_calls_calls(live, recorder) -> None:
    before = len(recorder.targets)
    status, body = post(live.url, per_row_query(recorder.sparql, 5))  # the live server's limit
    assert status == 200, body
    assert [b["name"]["value"] for b in body["results"]["bindings"]] == ["Remote"] * 5
    assert len(recorder.targets) == before + 5
    status, body = post(live.url, per_row_query(recorder.sparql, 300))
    assert status == 400, body
    assert body["error"] == "query-refused"
    assert "more than 5 times (service_max_calls)" in body["message"]
    assert len(recorder.targets) == before + 10  # the sixth call was never made


def test_the_broker_counters_are_in_metrics(live, recorder) -> None:
    def counters() -> dict[str, float]:
        with urllib.request.urlopen(f"{live.url}/metrics", timeout=30) as answer:
            text = answer.read().decode()
        assert "# TYPE aigraph_service_connections_total counter" in text
        return {
            name: float(value)
            for name, _, value in (line.partition(" ") for line in text.splitlines())
            if name in ("aigraph_service_connections_total", "aigraph_service_refused_total")
        }

    before = counters()
    assert post(live.url, service_query(recorder.sparql))[0] == 200
    assert post(live.url, service_query(f"{recorder.base}/sparqlfoo"))[0] == 400
    after = counters()
    assert (
        after["aigraph_service_connections_total"]
        == before["aigraph_service_connections_total"] + 1
    )
    assert after["aigraph_service_refused_total"] == before["aigraph_service_refused_total"] + 1


# -- the connection is where the allow-list is enforced --


@pytest.fixture(scope="module")
def unguarded_core(second) -> Iterator[Aigraph]:
    """A core whose workers were forked with the guard switched off."""
    with guard.unguarded():
        core = Aigraph.open(Settings(executors=1, allow_service=second))
    yield core
    core.close()


def test_with_the_guard_off_the_broker_alone_refuses(unguarded_core, listener, second) -> None:
    engine = unguarded_core.engine
    assert isinstance(engine, Federating)
    before, refused = listener.connections, engine.broker.refused
    with guard.unguarded():
        with pytest.raises(QueryRefused) as caught:
            unguarded_core.query(service_query(f"{listener.url}/sparql"))
    assert "not allow-listed" in caught.value.message
    assert listener.connections == before
    assert engine.broker.refused == refused + 1
    answer = unguarded_core.query(service_query(second))
    assert any(str(row["name"]) == "Vinnova" for row in answer.rows)


@pytest.fixture(scope="module")
def unguarded_recorded(recorder) -> Iterator[Aigraph]:
    """A core, its workers forked with the guard off, allowed to call the recorder's /sparql."""
    with guard.unguarded():
        core = Aigraph.open(Settings(executors=1, allow_service=recorder.sparql))
    yield core
    core.close()


@pytest.mark.parametrize("path", [*OUTSIDE, "/sparql/..;/x", "/sparql/."])
def test_with_the_guard_off_a_path_outside_the_prefix_is_refused(
    unguarded_recorded, recorder, path
) -> None:
    before = len(recorder.targets)
    with guard.unguarded():
        with pytest.raises(QueryRefused) as caught:
            unguarded_recorded.query(service_query(recorder.base + path))
    assert "not allow-listed" in caught.value.message
    assert len(recorder.targets) == before


@pytest.mark.parametrize(
    ("path", "sent"), [("/sp%61rql", "/sparql"), ("/sparql/%7Ea%2fb", "/sparql/~a%2Fb")]
)
def test_the_request_line_names_the_checked_normalised_path(
    unguarded_recorded, recorder, path, sent
) -> None:
    before = len(recorder.targets)
    with guard.unguarded():
        answer = unguarded_recorded.query(service_query(recorder.base + path))
    assert [str(row["name"]) for row in answer.rows] == ["Remote"]
    assert [t.partition("?")[0] for t in recorder.targets[before:]] == [sent]


def test_the_service_side_enforces_the_path_where_it_writes_the_request(recorder) -> None:
    """A broker that lets the whole host through: the path is still held to the prefix."""
    the_broker = broker.Broker((f"{recorder.base}/",), 2.0)
    engine = FederatedEngine(Dataset(), channel=the_broker.client, prefixes=(recorder.sparql,))
    try:
        before = len(recorder.targets)
        for path in ("/admin", "/sparql/../admin", "/sparqlfoo"):
            with pytest.raises(QueryRefused):
                engine.urlopen(urllib.request.Request(f"{recorder.base}{path}?query=x"))
        assert len(recorder.targets) == before  # connected, but no request was written
        assert engine.urlopen(urllib.request.Request(f"{recorder.sparql}?query=x")).status == 200
        assert recorder.targets[before:] == ["/sparql?query=x"]
    finally:
        the_broker.close()


def test_only_the_service_process_holds_the_broker_channel(unguarded_core) -> None:
    engine = unguarded_core.engine
    assert isinstance(engine, Federating)
    channel = f"socket:[{os.fstat(engine.broker.client.fileno()).st_ino}]"

    def sockets(pid: int) -> set[str]:
        folder = f"/proc/{pid}/fd"
        return {os.readlink(f"{folder}/{fd}") for fd in os.listdir(folder)}

    assert all(channel in sockets(pid) for pid in engine.federation.worker_pids())
    for pid in engine.federation.worker_pids():  # the SERVICE process is confined: seccomp on
        with open(f"/proc/{pid}/status") as status:
            assert "Seccomp:\t2" in status.read()
    assert all(channel not in sockets(pid) for pid in engine.usual.worker_pids())


def test_queries_without_service_run_in_the_usual_pool(unguarded_core) -> None:
    engine = unguarded_core.engine
    assert isinstance(engine, Federating)
    usual, federation = engine.usual.stats()["queries"], engine.federation.stats()["queries"]
    unguarded_core.query("SELECT * WHERE { ?s ?p ?o } LIMIT 1")
    assert engine.usual.stats()["queries"] == usual + 1
    assert engine.federation.stats()["queries"] == federation


@pytest.fixture(scope="module")
def awkward() -> Iterator[dict[str, str]]:
    """Two endpoints: one answers a big body, one answers after 3 s."""

    class Awkward(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.startswith("/slow"):
                time.sleep(3)
            body = b'{"head": {"vars": ["name"]}, "results": {"bindings": []}}' + b" " * 5000
            self.send_response(200)
            self.send_header("Content-Type", JSON)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.do_GET()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Awkward)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    yield {"big": f"{base}/big", "slow": f"{base}/slow"}
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(("which", "said"), [("big", "larger than 1000 bytes"), ("slow", "0.5 s")])
def test_service_calls_are_bounded_in_size_and_time(awkward, which, said) -> None:
    settings = Settings(
        executors=1,
        allow_service=" ".join(awkward.values()),
        service_max_bytes=1000,
        service_timeout=0.5,
    )
    core = Aigraph.open(settings)
    try:
        with pytest.raises(EngineUnavailable) as caught:
            core.query(service_query(awkward[which]))
        assert said in caught.value.message
    finally:
        core.close()


# -- the broker's rules, directly --


@pytest.mark.parametrize(
    ("prefix", "url", "target"),
    [
        ("http://h/sparql", "http://h/sparql?query=x", "/sparql?query=x"),
        ("http://h/sparql", "http://h/sparql/sub", "/sparql/sub"),
        ("http://h/sparql", "http://h/sparqlfoo", None),
        ("http://h/sparql", "http://h/sparql/../x", None),
        ("http://h/sparql", "http://h/sparql/./x", None),
        ("http://h/sparql", "http://h/sparql%2F..%2F..%2Fadmin", None),
        ("http://h/sparql", "http://h/sparql/%2E%2e/x", None),
        ("http://h/sparql", "http://h/sparql/..;x=1/x", None),
        ("http://h/sparql", "http://h/sparql\\..\\x", None),
        ("http://h/sparql", "http://h/sparql#frag", None),
        ("http://h/sparql", "http://h/sparql x", None),
        ("http://h/sparql", "http://h/sp%61rql", "/sparql"),
        ("http://h/api/", "http://h/api/x", "/api/x"),
        ("http://h/api/", "http://h/api", None),
        ("http://h", "http://h/anything", "/anything"),
        ("http://h:80/", "http://h", "/"),
    ],
)
def test_broker_matches_the_path_at_a_segment_boundary(prefix, url, target) -> None:
    found = broker.allowed(url, (prefix,))
    assert (found.request_target if found else None) == target


def test_broker_matches_scheme_host_port_and_prefix() -> None:
    prefixes = ("https://query.wikidata.org/sparql",)
    assert broker.allowed("https://query.wikidata.org/sparql?query=x", prefixes)
    assert not broker.allowed("http://query.wikidata.org/sparql", prefixes)
    assert not broker.allowed("https://query.wikidata.org:8443/sparql", prefixes)
    assert not broker.allowed("https://query.wikidata.org.evil.example/sparql", prefixes)
    assert not broker.allowed("https://user:pw@query.wikidata.org/sparql", prefixes)
    assert not broker.allowed("https://query.wikidata.org/other", prefixes)


def test_broker_refuses_a_name_that_resolves_to_a_local_address(listener) -> None:
    name = socket.gethostname()
    address = socket.getaddrinfo(name, None)[0][4][0]
    if not broker._public(str(address)):
        prefix = f"http://{name}:{listener.port}/"
        before = listener.connections
        with pytest.raises(QueryRefused) as caught:
            broker.open_connection(f"{prefix}sparql", [prefix], 2.0)
        assert "private or local address" in caught.value.message
        assert listener.connections == before
    literal = f"http://127.0.0.1:{listener.port}/"
    with broker.open_connection(f"{literal}sparql", [literal], 2.0) as sock:
        assert sock.getpeername()[1] == listener.port


def test_allow_service_with_a_backend_is_a_usage_error() -> None:
    with pytest.raises(UsageError) as caught:
        Aigraph.open(Settings(backend="http://127.0.0.1:9/query", allow_service="http://a.b/"))
    assert "in memory" in caught.value.message


def test_allow_service_with_a_store_is_a_usage_error(tmp_path) -> None:
    store = tmp_path / "store"
    oxigraph_server.load_bundled("--store", store)
    with pytest.raises(UsageError) as caught:
        Aigraph.open(Settings(store=str(store), allow_service="http://a.b/", executors=1))
    assert "in memory" in caught.value.message and "--store" in caught.value.message


@pytest.mark.parametrize(
    "prefix", ["ftp://example.org/", "http://h/a/../b", "http://h/sparql?x=1", "http://h/#x"]
)
def test_allow_service_must_be_http_urls_without_dot_segments_or_query(prefix) -> None:
    with pytest.raises(UsageError) as caught:
        broker.check_prefixes([prefix])
    assert prefix in caught.value.message
