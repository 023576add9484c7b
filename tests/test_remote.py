"""The remote backend against a real Oxigraph server: same answers as the embedded engine."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from rdflib import URIRef

from aigraph import content, graph, queries
from aigraph.cli import cli
from aigraph.core import Aigraph
from aigraph.engine.oxigraph_engine import OxigraphEngine
from aigraph.engine.remote import RemoteEngine
from aigraph.errors import EngineUnavailable, QuerySyntaxError, QueryTimeout
from aigraph.model import DatasetSpec, QueryRequest
from aigraph.settings import Settings
from aigraph.source import RemoteSource
from aigraph.web import create_app
from answers import canonical

pytest_plugins = ["oxigraph_server"]

NAMED = queries.load_all(content.queries_dir())


@pytest.fixture(scope="module")
def backend(oxigraph_server, runner_module) -> str:
    """The query endpoint of an Oxigraph server holding the bundled data, sent by `load --to`."""
    paths = [str(p) for p in graph.default_paths()]
    result = runner_module.invoke(cli, ["load", "--to", oxigraph_server.store, *paths])
    assert result.exit_code == 0, result.output
    return oxigraph_server.query


@pytest.fixture(scope="module")
def runner_module():
    from click.testing import CliRunner

    return CliRunner()


@pytest.fixture(scope="module")
def local() -> OxigraphEngine:
    return OxigraphEngine(graph.load(Settings()).dataset)


@pytest.fixture(scope="module")
def remote(backend) -> RemoteEngine:
    return RemoteEngine(backend)


def test_graphs_and_count_match(local, remote) -> None:
    assert list(remote.graph_names()) == list(local.graph_names())
    assert remote.triple_count() == local.triple_count()


@pytest.mark.parametrize("name", sorted(NAMED))
def test_named_queries_give_the_same_answers(name, local, remote) -> None:
    request = QueryRequest(NAMED[name].text, max_rows=1000)
    assert canonical(remote.query(request)) == canonical(local.query(request))


@pytest.mark.parametrize(
    "text",
    [
        "SELECT ?s ?p ?o WHERE { ?s ?p ?o }",
        "ASK { ?s a <http://www.w3.org/2002/07/owl#Class> }",
        "CONSTRUCT { ?s ?p ?o } WHERE { GRAPH <https://w3id.org/aigraph/graph/grant> { ?s ?p ?o } }",
        "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }",
    ],
)
def test_queries_give_the_same_answers(text, local, remote) -> None:
    request = QueryRequest(text)
    assert canonical(remote.query(request)) == canonical(local.query(request))


def test_dataset_and_bindings_are_passed_on(local, remote) -> None:
    grant = URIRef("https://w3id.org/aigraph/graph/grant")
    # An IRI, picked by order: a blank node cannot be bound in a query sent to the backend,
    # and which object an unordered LIMIT 1 gives changes from load to load.
    first = local.query(
        QueryRequest(
            f"SELECT ?o {{ GRAPH <{grant}> {{ ?s ?p ?o FILTER(isIRI(?o)) }} }} ORDER BY ?o LIMIT 1"
        )
    )
    assert isinstance(first.rows[0]["o"], URIRef)
    request = QueryRequest(
        "SELECT ?s ?p ?o WHERE { ?s ?p ?o }",
        dataset=DatasetSpec(default_graphs=(grant,)),
        bindings={"o": first.rows[0]["o"]},
    )
    answer = remote.query(request)
    assert answer.rows and all(row["o"] == first.rows[0]["o"] for row in answer.rows)
    assert canonical(answer) == canonical(local.query(request))


def test_row_limit_cuts_and_flags(remote) -> None:
    for text in ("SELECT * WHERE { ?s ?p ?o }", "CONSTRUCT WHERE { ?s ?p ?o }"):
        result = remote.query(QueryRequest(text, max_rows=7))
        assert (result.count, result.truncated) == (7, True)


def test_syntax_error_keeps_the_store_message(remote) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        remote.query(QueryRequest("SELECT * WHERE { ?s ?p }"))
    assert caught.value.status == 400
    assert caught.value.line == 1 and "expected" in caught.value.message


def test_unreachable_store_is_engine_unavailable() -> None:
    with pytest.raises(EngineUnavailable) as caught:
        RemoteEngine("http://127.0.0.1:9/query").query(QueryRequest("ASK {}"))
    assert caught.value.status == 502
    assert "cannot reach the backend http://127.0.0.1:9/query" in caught.value.message


@pytest.fixture()
def slow_endpoint() -> Iterator[str]:
    """A loopback endpoint that waits 5 s before answering."""

    class Slow(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            time.sleep(5)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/query"
    server.shutdown()
    server.server_close()


def test_slow_store_times_out(slow_endpoint) -> None:
    with pytest.raises(QueryTimeout) as caught:
        RemoteEngine(slow_endpoint, timeout=0.5).query(QueryRequest("ASK {}"))
    assert caught.value.status == 503


def _core_over(engine: RemoteEngine, settings: Settings) -> Aigraph:
    return Aigraph(settings, RemoteSource(settings), engine, NAMED)


@pytest.mark.parametrize(("endpoint", "status"), [("slow", 503), ("http://127.0.0.1:9/query", 502)])
def test_http_statuses_of_backend_failures(endpoint, status, slow_endpoint) -> None:
    url = slow_endpoint if endpoint == "slow" else endpoint
    settings = Settings(backend=url, query_timeout=0.5)
    client = create_app(core=_core_over(RemoteEngine(url, timeout=0.5), settings)).test_client()
    response = client.post(
        "/sparql", data={"query": "ASK {}"}, headers={"Accept": "application/sparql-results+json"}
    )
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.get_json()["status"] == status


def test_http_endpoint_over_backend(backend, local) -> None:
    core = Aigraph.open(Settings(backend=backend, executors=1, max_rows=1000))
    try:
        client = create_app(core=core).test_client()
        response = client.post(
            "/sparql",
            data={"query": "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }"},
            headers={"Accept": "application/sparql-results+json"},
        )
        assert response.status_code == 200, response.get_data(as_text=True)
        count = response.get_json()["results"]["bindings"][0]["n"]["value"]
        assert int(count) == len(local.query(QueryRequest("SELECT * { ?s ?p ?o }")).rows)
        bad = client.post(
            "/sparql",
            data={"query": "SELECT * WHERE { ?s ?p }"},
            headers={"Accept": "application/sparql-results+json"},
        )
        assert bad.status_code == 400, bad.get_data(as_text=True)
        assert "expected" in bad.get_json()["message"]
        refused = client.post(
            "/sparql", data={"query": "SELECT * { SERVICE <http://x/> { ?s ?p ?o } }"}
        )
        assert refused.status_code == 400, refused.get_data(as_text=True)
        assert core.triple_count == local.triple_count()
    finally:
        core.close()


def test_load_to_refuses_a_malformed_file_and_sends_nothing(
    oxigraph_server, tmp_path, runner_module, remote
) -> None:
    good = tmp_path / "good.nt"
    good.write_text("<http://example.org/a> <http://example.org/b> <http://example.org/c> .\n")
    bad = tmp_path / "bad.ttl"
    bad.write_text("@prefix ex: <http://example.org/> .\nex:a ex:b ex:c .\nex:a ex:b .\n")
    before = remote.triple_count()
    result = runner_module.invoke(cli, ["load", "--to", oxigraph_server.store, str(good), str(bad)])
    assert result.exit_code == 2, result.output
    assert f"{bad}:3:" in result.output
    assert remote.triple_count() == before


def test_resource_pages_over_a_backend_match_the_in_memory_ones(backend, core) -> None:
    """`serve --backend` serves the same resource pages, fetched through the store."""
    over_store = Aigraph.open(Settings(backend=backend, executors=1, max_rows=10000))
    try:
        remote_client = create_app(core=over_store).test_client()
        local_client = create_app(core=core).test_client()
        for path in ("/id/organisation/vinnova", "/id/person/martin-svensson"):
            got = remote_client.get(path, headers={"Accept": "text/html"})
            want = local_client.get(path, headers={"Accept": "text/html"})
            assert got.status_code == 200, got.get_data(as_text=True)[:300]
            assert got.data == want.data, path
        assert remote_client.get("/id/organisation/nobody").status_code == 404
    finally:
        over_store.close()
