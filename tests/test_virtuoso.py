"""`serve --backend` and `load --to` against two real engines: Oxigraph server and Virtuoso 7.

Every test runs over both (the ``backend`` fixture is parametrised): the same queries, pages,
catalogue statistics, named queries, limits and timeouts give the same answers as the
embedded engine, and the two backends give the same bytes. Virtuoso's quirks are handled by
settings, not by the tests: its Graph Store has no default graph (``backend_default_graph``
holds the union), its default graph without FROM is every graph, its system graphs included
(``backend_graphs`` names the data graphs), its Graph Store wants Digest authentication
(``AIGRAPH_PUSH_USER``/``AIGRAPH_PUSH_PASSWORD``), and it cuts answers at its own
``ResultSetMaxRows`` and stops queries at its own time limit.
"""

from __future__ import annotations

import dataclasses
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from click.testing import CliRunner

import oxigraph_server
from aigraph import content, graph, queries
from aigraph.cli import cli
from aigraph.core import Aigraph
from aigraph.engine.oxigraph_engine import OxigraphEngine
from aigraph.engine.remote import RemoteEngine
from aigraph.errors import QuerySyntaxError, QueryTimeout
from aigraph.model import QueryRequest
from aigraph.settings import Settings
from aigraph.web import create_app
from answers import canonical
from virtuoso import MAX_ROWS, VirtuosoServer

pytest_plugins = ["virtuoso"]

NAMED = queries.load_all(content.queries_dir())
DATA_GRAPHS = "https://w3id.org/aigraph/graph/"
UNION = "urn:aigraph:union"
PATHS = [str(p) for p in graph.default_paths()]
#: A query that runs for seconds on each engine and then ends by itself. Oxigraph counts the
#: filtered join of the data with itself in about 0.2 s, so it does that sixteen times (about
#: 4 s); Virtuoso counts it in about 0.4 s, so it gets a join of three (about a minute, under
#: its cost-estimate limit), which its own anytime limit stops at our timeout.
SLOW = {
    "oxigraph": "SELECT (COUNT(*) AS ?n) WHERE { VALUES ?k { 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 } "
    "?a ?b ?c . ?d ?e ?f FILTER(STR(?c) < CONCAT(STR(?f), STR(?k))) }",
    "virtuoso": "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i "
    "FILTER(STR(?c) < STR(?f) && STR(?f) < STR(?i)) }",
}


@dataclass(frozen=True)
class Backend:
    """One loaded backend: its engine name, query endpoint and the settings to serve it."""

    name: str
    query: str
    settings: dict[str, Any] = field(default_factory=dict)

    def engine(self, **options: Any) -> RemoteEngine:
        return RemoteEngine(
            self.query,
            default_graph=self.settings.get("backend_default_graph", ""),
            graphs=tuple(self.settings.get("backend_graphs", "").split()),
            **options,
        )

    def core(self, **options: Any) -> Aigraph:
        return Aigraph.open(Settings(backend=self.query, executors=1, **self.settings, **options))


def load_virtuoso(server: VirtuosoServer) -> None:
    """`aigraph load --to` Virtuoso's Graph Store: Digest login from the environment."""
    args = ["load", "--to", server.store, "--default-graph", UNION, *PATHS]
    result = CliRunner().invoke(cli, args, env=server.credentials())
    assert result.exit_code == 0, result.output
    assert server.password not in result.output


@pytest.fixture(scope="module", params=["oxigraph", "virtuoso"])
def backend(request, tmp_path_factory) -> Iterator[Backend]:
    if request.param == "oxigraph":
        with oxigraph_server.bundled_server(tmp_path_factory.mktemp("oxigraph")) as url:
            yield Backend("oxigraph", url)
        return
    server = request.getfixturevalue("virtuoso_server")
    load_virtuoso(server)
    yield Backend(
        "virtuoso",
        server.query,
        {"backend_default_graph": UNION, "backend_graphs": DATA_GRAPHS},
    )


@pytest.fixture(scope="module")
def local() -> OxigraphEngine:
    return OxigraphEngine(graph.load(Settings()).dataset)


# -- the engine: same answers as the embedded one --


def test_graphs_and_count_match(backend, local) -> None:
    engine = backend.engine()
    assert list(engine.graph_names()) == list(local.graph_names())
    assert engine.triple_count() == local.triple_count()


@pytest.mark.parametrize("name", sorted(NAMED))
def test_named_queries_give_the_same_answers(backend, name, local) -> None:
    request = QueryRequest(NAMED[name].text, max_rows=1000)
    assert canonical(backend.engine().query(request)) == canonical(local.query(request))


@pytest.mark.parametrize(
    "text",
    [
        "SELECT ?s ?p ?o WHERE { ?s ?p ?o }",
        "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }",
        "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g",
        "ASK { ?s a <http://www.w3.org/2002/07/owl#Class> }",
        "CONSTRUCT { ?s ?p ?o } WHERE { GRAPH <https://w3id.org/aigraph/graph/grant> { ?s ?p ?o } }",
        "DESCRIBE <https://w3id.org/aigraph/id/organisation/vinnova>",
        "SELECT ?o FROM <https://w3id.org/aigraph/graph/grant> WHERE { ?s a ?o }",
    ],
)
def test_queries_give_the_same_answers(backend, text, local) -> None:
    request = QueryRequest(text)
    assert canonical(backend.engine().query(request)) == canonical(local.query(request))


def test_virtuoso_needs_the_restriction(backend, local) -> None:
    """Without the settings, Virtuoso's default graph holds its system graphs too."""
    plain = RemoteEngine(backend.query)
    count = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    rows = plain.query(QueryRequest(count)).rows
    want = local.query(QueryRequest(count)).rows
    if backend.name == "virtuoso":
        assert int(rows[0]["n"]) > int(want[0]["n"])  # system graphs and the union graph
    else:
        assert rows == want


def test_syntax_error_is_a_syntax_error_with_its_line(backend) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        backend.engine().query(QueryRequest("SELECT * WHERE {\n ?s ?p }"))
    assert caught.value.status == 400 and caught.value.line == 2


# -- limits and timeouts --


def test_row_limit_cuts_and_flags(backend) -> None:
    for text in ("SELECT * WHERE { ?s ?p ?o }", "CONSTRUCT WHERE { ?s ?p ?o }"):
        result = backend.engine().query(QueryRequest(text, max_rows=7))
        assert (result.count, result.truncated, result.limit) == (7, True, 7)


def test_the_store_s_own_row_cap_is_flagged(backend) -> None:
    """Virtuoso cuts at its ResultSetMaxRows; a cut answer is never passed off as whole."""
    text = f"SELECT * WHERE {{ ?a ?b ?c . ?d ?e ?f }} LIMIT {MAX_ROWS + 500}"
    result = backend.engine().query(QueryRequest(text, max_rows=2 * MAX_ROWS))
    if backend.name == "virtuoso":
        assert (result.count, result.truncated, result.limit) == (MAX_ROWS, True, MAX_ROWS)
    else:
        assert (result.count, result.truncated) == (MAX_ROWS + 500, False)


def test_a_slow_query_times_out_on_both(backend) -> None:
    with pytest.raises(QueryTimeout) as caught:
        backend.engine(timeout=0.5).query(QueryRequest(SLOW[backend.name]))
    assert caught.value.status == 503


# -- served: the HTTP endpoint, pages, statistics, named queries --


@pytest.fixture(scope="module")
def served(backend) -> Iterator[tuple[Backend, Aigraph]]:
    core = backend.core(max_rows=10000)
    yield backend, core
    core.close()


_PAGES: dict[str, dict[str, bytes]] = {}


@pytest.mark.parametrize(
    "path",
    [
        "/id/organisation/vinnova",
        "/id/person/martin-svensson",
        "/graph/grant",
        "/queries/funding?format=json",
        "/queries/regional-nodes?format=csv",
        "/catalog",
        "/.well-known/void#turtle",
        "/",
    ],
)
def test_pages_and_named_queries_are_the_same_on_both(served, path) -> None:
    backend, core = served
    path, _, kind = path.partition("#")
    accept = "text/turtle" if kind == "turtle" else "text/html"
    got = create_app(core=core).test_client().get(path, headers={"Accept": accept})
    assert got.status_code == 200, got.get_data(as_text=True)[:300]
    _PAGES.setdefault(path + kind, {})[backend.name] = got.data
    seen = _PAGES[path + kind]
    if len(seen) == 2:
        if path.startswith("/graph/"):  # rows in the order of the stores' blank-node labels
            assert sorted(seen["oxigraph"].splitlines()) == sorted(seen["virtuoso"].splitlines())
        else:
            assert seen["oxigraph"] == seen["virtuoso"], path


def test_unknown_resource_is_404(served) -> None:
    _, core = served
    assert create_app(core=core).test_client().get("/id/organisation/nobody").status_code == 404


def test_catalogue_statistics_match_the_embedded_ones(served, core) -> None:
    _, over_backend = served
    assert over_backend.facts == core.facts
    assert over_backend.triple_count == core.triple_count


def test_http_endpoint_limits_and_errors(served) -> None:
    _, core = served
    client = create_app(core=core).test_client()
    json = {"Accept": "application/sparql-results+json"}
    cut = client.post("/sparql", data={"query": "SELECT * { ?s ?p ?o } LIMIT 20000"}, headers=json)
    assert cut.status_code == 200
    assert len(cut.get_json()["results"]["bindings"]) == 686
    bad = client.post("/sparql", data={"query": "SELECT * WHERE { ?s ?p }"}, headers=json)
    assert bad.status_code == 400, bad.get_data(as_text=True)
    refused = client.post("/sparql", data={"query": "INSERT DATA { <a:a> <a:b> <a:c> }"})
    assert refused.status_code in (400, 403)


def test_http_timeout_is_503_on_both(served) -> None:
    """The query timeout bounds a query to either store; the store's own limit is longer."""
    backend, core = served
    hurried = dataclasses.replace(core, settings=replace(core.settings, query_timeout=0.5))
    client = create_app(core=hurried).test_client()
    answer = client.post(
        "/sparql",
        data={"query": SLOW[backend.name]},
        headers={"Accept": "application/sparql-results+json"},
    )
    assert answer.status_code == 503, answer.get_data(as_text=True)
    assert answer.get_json()["status"] == 503 and "0.5 s" in answer.get_json()["message"]


# -- load --to: credentials --


def test_load_to_virtuoso_needs_the_credentials(virtuoso_server, tmp_path) -> None:
    data = tmp_path / "one.nt"
    data.write_text("<http://example.org/a> <http://example.org/b> <http://example.org/c> .\n")
    runner = CliRunner()
    target = virtuoso_server.store
    bare = runner.invoke(cli, ["load", "--to", target, "--default-graph", UNION, str(data)])
    assert bare.exit_code == 3
    assert "AIGRAPH_PUSH_USER" in bare.output and "401" in bare.output
    wrong = runner.invoke(
        cli,
        ["load", "--to", target, str(data)],
        env={"AIGRAPH_PUSH_USER": "dba", "AIGRAPH_PUSH_PASSWORD": "not-it"},
    )
    assert wrong.exit_code == 3 and "refused" in wrong.output
    named = runner.invoke(
        cli,
        ["load", "--to", target, "--user", "dba", "--default-graph", "urn:test:other", str(data)],
        env={"AIGRAPH_PUSH_PASSWORD": virtuoso_server.password},
    )
    assert named.exit_code == 0, named.output
    assert virtuoso_server.password not in named.output
    in_url = target.replace("http://", "http://dba:secret@")
    leaked = runner.invoke(cli, ["load", "--to", in_url, str(data)])
    assert leaked.exit_code == 2 and "AIGRAPH_PUSH_PASSWORD" in leaked.output
    assert "secret" not in leaked.output


def test_load_to_a_store_without_a_default_graph_says_so(virtuoso_server, tmp_path) -> None:
    data = tmp_path / "one.nt"
    data.write_text("<http://example.org/a> <http://example.org/b> <http://example.org/c> .\n")
    result = CliRunner().invoke(
        cli, ["load", "--to", virtuoso_server.store, str(data)], env=virtuoso_server.credentials()
    )
    assert result.exit_code == 3
    assert "--default-graph" in result.output and "not configured" in result.output


def test_virtuoso_s_anonymous_account_cannot_update(virtuoso_server) -> None:
    """Behind the guard, the store itself refuses an update from the account aigraph uses."""
    body = urllib.parse.urlencode({"query": "INSERT DATA { GRAPH <urn:x> { <a:a> <a:b> <a:c> } }"})
    request = urllib.request.Request(virtuoso_server.query, data=body.encode())
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=30)
    assert "permission" in caught.value.read().decode().lower()


def test_settings_never_show_the_password() -> None:
    settings = Settings(push_user="dba", push_password="s3cret-value")  # noqa: S106 - a test value
    assert "s3cret-value" not in repr(settings)
