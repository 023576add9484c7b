"""The SPARQL endpoint and named queries through the Flask test client."""

from __future__ import annotations

import pytest
from rdflib import Graph, Namespace, URIRef

from aigraph.core import Aigraph
from aigraph.settings import Settings
from aigraph.web import create_app

SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
ERROR_KEYS = {"error", "status", "message", "request_id"}


def assert_error(response, status: int, words: str = "") -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert body is not None, response.get_data(as_text=True)
    assert ERROR_KEYS <= set(body), body
    assert body["status"] == status
    assert words.lower() in body["message"].lower(), body
    assert body["request_id"] == response.headers["X-Request-Id"]
    return body


def count(client) -> int:
    body = client.get("/sparql", query_string={"query": COUNT}).get_json()
    return int(body["results"]["bindings"][0]["n"]["value"])


def test_get_select_defaults_to_sparql_json(client):
    response = client.get("/sparql", query_string={"query": COUNT})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/sparql-results+json"
    assert count(client) > 100
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_post_form_and_direct_give_the_same_answer(client):
    form = client.post("/sparql", data={"query": COUNT})
    direct = client.post("/sparql", data=COUNT, content_type="application/sparql-query")
    assert form.status_code == direct.status_code == 200
    assert form.get_json() == direct.get_json()


@pytest.mark.parametrize(
    "accept, fmt, expected",
    [
        (None, None, "application/sparql-results+json"),
        ("application/sparql-results+xml", None, "application/sparql-results+xml"),
        ("text/csv", None, "text/csv"),
        ("text/tab-separated-values", None, "text/tab-separated-values"),
        (
            "text/csv;q=0.5, application/sparql-results+xml;q=0.9",
            None,
            "application/sparql-results+xml",
        ),
        ("*/*", None, "application/sparql-results+json"),
        ("text/*", None, "text/csv"),
        ("application/sparql-results+json;q=0, */*", None, "application/sparql-results+xml"),
        ("text/csv", "tsv", "text/tab-separated-values"),
        ("application/sparql-results+xml", "json", "application/sparql-results+json"),
    ],
)
def test_select_negotiation(client, accept, fmt, expected):
    headers = {"Accept": accept} if accept else {}
    params = {"query": COUNT, **({"format": fmt} if fmt else {})}
    response = client.get("/sparql", query_string=params, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == expected


@pytest.mark.parametrize(
    "accept, fmt, expected, rdflib_format",
    [
        (None, None, "text/turtle", "turtle"),
        ("application/n-triples", None, "application/n-triples", "nt"),
        ("application/ld+json", None, "application/ld+json", "json-ld"),
        ("application/rdf+xml", None, "application/rdf+xml", "xml"),
        ("application/trig", None, "application/trig", "trig"),
        ("application/n-quads", None, "application/n-quads", "nquads"),
        ("text/html;q=0.9, text/turtle;q=0.1", "nt", "application/n-triples", "nt"),
    ],
)
def test_construct_negotiation(client, accept, fmt, expected, rdflib_format):
    query = "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o } LIMIT 20"
    headers = {"Accept": accept} if accept else {}
    params = {"query": query, **({"format": fmt} if fmt else {})}
    response = client.get("/sparql", query_string=params, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == expected
    graph = Graph()
    graph.parse(data=response.get_data(), format=rdflib_format)
    assert len(graph) == 20


def test_describe_returns_the_resource(client, core):
    vinnova = URIRef(core.settings.base + "/id/organisation/vinnova")
    response = client.get("/sparql", query_string={"query": f"DESCRIBE <{vinnova}>"})
    assert response.status_code == 200, response.get_data(as_text=True)
    graph = Graph().parse(data=response.get_data(), format="turtle")
    assert (vinnova, None, None) in graph


def test_ask(client):
    response = client.get("/sparql", query_string={"query": "ASK { ?s ?p ?o }"})
    assert response.get_json()["boolean"] is True


@pytest.mark.parametrize(
    "accept, fmt",
    [("image/png", None), ("text/turtle", None), (None, "turtle"), ("application/json;q=0", None)],
)
def test_select_not_acceptable(client, accept, fmt):
    headers = {"Accept": accept} if accept else {}
    params = {"query": COUNT, **({"format": fmt} if fmt else {})}
    response = client.get("/sparql", query_string=params, headers=headers)
    # "application/json;q=0" alone allows nothing at all.
    assert_error(response, 406)


def test_syntax_error_gives_line_and_column(client):
    response = client.get("/sparql", query_string={"query": "SELECT * WHERE {\n  ?s ?p \n}"})
    body = assert_error(response, 400, "line")
    assert body["details"]["line"] >= 1


@pytest.mark.parametrize(
    "kwargs, status, words",
    [
        ({"method": "PUT", "data": COUNT, "content_type": "application/sparql-query"}, 405, "PUT"),
        ({"method": "DELETE"}, 405, "DELETE"),
        ({"method": "POST", "data": COUNT, "content_type": "text/plain"}, 415, "sparql-query"),
        ({"method": "POST", "data": {"update": "CLEAR ALL"}}, 403, "read-only"),
        (
            {"method": "POST", "data": "DROP ALL", "content_type": "application/sparql-update"},
            403,
            "read-only",
        ),
        ({"method": "GET", "query_string": {"update": "CLEAR ALL"}}, 403, "read-only"),
        ({"method": "GET", "query_string": [("query", COUNT), ("query", COUNT)]}, 400, "once"),
        (
            {"method": "POST", "data": {"query": COUNT}, "query_string": {"query": COUNT}},
            400,
            "once",
        ),
        (
            {
                "method": "GET",
                "query_string": {
                    "query": "SELECT * { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }"
                },
            },
            400,
            "SERVICE",
        ),
        (
            {"method": "GET", "query_string": {"query": "ASK " + "{" * 5000 + "}" * 5000}},
            400,
            "nest",
        ),
        (
            {
                "method": "GET",
                "query_string": [("query", COUNT), ("format", "json"), ("format", "xml")],
            },
            400,
            "different formats",
        ),
        (
            {"method": "GET", "query_string": {"query": "INSERT DATA { <a:b> <a:c> <a:d> }"}},
            400,
            "'update'",
        ),
    ],
)
def test_status_codes_and_error_shape(client, kwargs, status, words):
    before = count(client)
    method = kwargs.pop("method")
    response = client.open("/sparql", method=method, **kwargs)
    assert_error(response, status, words)
    if status == 405:
        assert "GET" in response.headers["Allow"]
    assert count(client) == before


def test_invalid_utf8_and_nul_are_400(client):
    response = client.get("/sparql?query=SELECT%20%FF%FE")
    assert_error(response, 400, "UTF-8")
    response = client.get("/sparql", query_string={"query": "ASK {}\x00"})
    assert_error(response, 400, "NUL")


def test_body_over_the_limit_is_413(core):
    small = create_app(core=core)
    small.config["MAX_CONTENT_LENGTH"] = 1000
    client = small.test_client()
    response = client.post(
        "/sparql", data="#" * 5000 + "\nASK {}", content_type="application/sparql-query"
    )
    assert_error(response, 413, "limit")


def test_protocol_dataset_restricts_and_overrides_from(client, core):
    graphs = sorted(str(g) for g in core.engine.graph_names())
    assert len(graphs) >= 2
    first = graphs[0]
    query = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    only = client.get("/sparql", query_string={"query": query, "default-graph-uri": first})
    in_first = int(only.get_json()["results"]["bindings"][0]["n"]["value"])
    assert 0 < in_first < count(client)
    # The protocol dataset wins over FROM in the query.
    overridden = client.get(
        "/sparql",
        query_string={
            "query": f"SELECT (COUNT(*) AS ?n) FROM <{graphs[1]}> WHERE {{ ?s ?p ?o }}",
            "default-graph-uri": first,
        },
    )
    assert int(overridden.get_json()["results"]["bindings"][0]["n"]["value"]) == in_first
    # Unknown graphs are never fetched: the default graph is then empty.
    unknown = client.get(
        "/sparql", query_string={"query": query, "default-graph-uri": "http://127.0.0.1:9/nowhere"}
    )
    assert int(unknown.get_json()["results"]["bindings"][0]["n"]["value"]) == 0
    named = client.get(
        "/sparql",
        query_string={
            "query": "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }",
            "named-graph-uri": first,
        },
    )
    assert [b["g"]["value"] for b in named.get_json()["results"]["bindings"]] == [first]


def test_service_description(client):
    response = client.get("/sparql", headers={"Accept": "text/turtle"})
    assert response.status_code == 200, response.get_data(as_text=True)
    graph = Graph().parse(data=response.get_data(), format="turtle")
    endpoint = URIRef("http://localhost/sparql")
    assert (None, SD.endpoint, endpoint) in graph
    assert (None, SD.supportedLanguage, SD.SPARQL11Query) in graph
    assert (None, SD.feature, SD.UnionDefaultGraph) in graph
    for fmt in ("jsonld", "rdfxml"):
        other = client.get("/sparql", query_string={"format": fmt})
        assert other.status_code == 200


def test_browser_gets_the_query_page(client):
    response = client.get(
        "/sparql", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    )
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert b"PREFIX" in response.data


def test_cors_preflight(client):
    response = client.options(
        "/sparql", headers={"Origin": "http://example.org", "Access-Control-Request-Method": "POST"}
    )
    assert response.status_code == 204
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_truncation_is_visible():
    aigraph = Aigraph.open(Settings(max_rows=5, executors=1, validate=False))
    try:
        client = create_app(core=aigraph).test_client()
        response = client.get("/sparql", query_string={"query": "SELECT * { ?s ?p ?o }"})
        body = response.get_json()
        assert len(body["results"]["bindings"]) == 5
        assert body["truncated"] is True and body["limit"] == 5
        assert response.headers["X-Aigraph-Truncated"] == "true"
        construct = client.get(
            "/sparql", query_string={"query": "CONSTRUCT WHERE { ?s ?p ?o }", "format": "nt"}
        )
        assert construct.headers["X-Aigraph-Truncated"] == "true"
        assert len(construct.get_data(as_text=True).strip().splitlines()) == 5
        small = client.get("/sparql", query_string={"query": "SELECT * { ?s ?p ?o } LIMIT 3"})
        assert "truncated" not in small.get_json()
        assert "X-Aigraph-Truncated" not in small.headers
    finally:
        aigraph.close()


def test_named_queries_listed(client, core):
    body = client.get("/queries").get_json()
    names = [q["name"] for q in body["queries"]]
    assert names == sorted(core.named)
    assert "funding" in names
    for item in body["queries"]:
        assert item["title"] and item["description"]


@pytest.mark.parametrize(
    "fmt, mimetype",
    [
        ("json", "application/sparql-results+json"),
        ("xml", "application/sparql-results+xml"),
        ("csv", "text/csv"),
        ("tsv", "text/tab-separated-values"),
    ],
)
def test_named_query_formats(client, fmt, mimetype):
    response = client.get(f"/queries/funding?format={fmt}")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == mimetype
    assert b"100000000" in response.data


def test_named_query_params_are_bound(client, core):
    named = core.named["provenance"]
    param = named.params[0].name
    subject = core.settings.base + "/id/organisation/vinnova"
    bound = client.get("/queries/provenance", query_string={param: subject}).get_json()
    everything = client.get("/queries/provenance").get_json()
    assert 0 < len(bound["results"]["bindings"]) < len(everything["results"]["bindings"])
    injected = client.get("/queries/provenance", query_string={param: "x> } ; DROP ALL ; <y"})
    assert_error(injected, 400, "IRI")
    assert_error(client.get("/queries/provenance", query_string={"nope": "1"}), 400, "unknown")
    assert_error(client.get("/queries/no-such-query"), 404, "no named query")


def test_errors_have_one_shape_on_every_path(client):
    assert_error(client.get("/no/such/page"), 404)
    assert_error(client.post("/queries"), 405)
    assert_error(client.get("/sparql", query_string={"query": "SELEKT"}), 400)


def test_healthz_and_stats(client):
    assert client.get("/healthz").get_json()["status"] == "ok"
    client.get("/sparql", query_string={"query": COUNT})
    stats = client.get("/stats").get_json()
    assert stats["queries"] >= 1
    assert stats["triples"] > 100
    assert {"errors", "timeouts", "engine"} <= set(stats)


def test_openapi_matches_routes(app, client):
    spec = client.get("/openapi.json").get_json()
    documented = {(path, method) for path, ops in spec["paths"].items() for method in ops}
    routed = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = rule.rule.replace("<", "{").replace(">", "}")
        path = path.replace("{path:", "{").replace("{int:", "{")
        for method in rule.methods - {"HEAD"}:
            if method == "OPTIONS" and path != "/sparql":
                continue
            routed.add((path, method.lower()))
    assert routed == documented


@pytest.mark.parametrize(
    "text, fmt",
    [
        (COUNT, "csv"),
        (COUNT, "json"),
        ("ASK { ?s ?p ?o }", "tsv"),
        ("CONSTRUCT WHERE { ?s a ?o } ", "nt"),
        ("CONSTRUCT WHERE { ?s a ?o }", "turtle"),
    ],
)
def test_workers_serialise_exactly_as_the_server_would(core, text, fmt):
    from aigraph import formats, results

    plain = core.query(text)
    offer = formats.find_offer(fmt, formats.offers_for(plain.form))
    written = core.answer(text, offer)
    assert written.stream is None and written.media_type == offer.content_type
    assert written.count == plain.count and written.truncated == plain.truncated
    assert written.body == results.serialize(plain, offer)


def test_the_server_checks_a_query_once(client, monkeypatch):
    from aigraph.engine import guard

    texts = []
    real = guard.facts_of

    def counted(text):
        texts.append(text)
        return real(text)

    monkeypatch.setattr(guard, "facts_of", counted)
    query = "ASK { ?s ?p ?o }"
    response = client.get("/sparql", query_string={"query": query, "format": "json"})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert texts == [query]  # the worker's re-check runs in the worker, not here


# -- one negotiation path: the same Accept table on every negotiating route ---------------------

HTML = "text/html"
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/webp,*/*;q=0.8"
#: A browser-like header that refuses HTML outright.
NO_HTML = "text/html;q=0,application/xhtml+xml;q=0,application/xml;q=0.9,*/*;q=0.8"
SELECT_ONE = "SELECT * WHERE { ?s ?p ?o } LIMIT 1"
#: route -> what it answers: curl's */* or no header, a browser refusing HTML (NO_HTML), and
#: "text/html;q=0, */*" (a status where the answer is a redirect).
ROUTES = {
    "/sparql": ("text/turtle", "application/rdf+xml", "text/turtle"),
    f"/sparql?query={SELECT_ONE}": ("application/sparql-results+json",
                                    "application/sparql-results+xml",
                                    "application/sparql-results+json"),
    "/": (HTML, 303, 303),  # the landing page is a page; RDF clients are sent to /catalog
    "/id/organisation/vinnova": ("text/turtle", "application/rdf+xml", "text/turtle"),
    "/graph/grant": ("text/turtle", "application/rdf+xml", "text/turtle"),
    "/ontology": ("text/turtle", "application/rdf+xml", "text/turtle"),
    "/shapes": ("text/turtle", "application/rdf+xml", "text/turtle"),
    "/catalog": ("application/rdf+xml", "application/rdf+xml", "application/rdf+xml"),
    "/queries": ("application/json", "application/json", "application/json"),
}  # fmt: skip
#: (Accept header, which answer of ROUTES it gets (0, 1, 2), or the media type it gets).
ACCEPTS: list[tuple[str | None, int | str]] = [
    (None, 0),
    ("*/*", 0),
    ("*", 0),
    (NO_HTML, 1),
    ("text/html;q=0, */*", 2),
    (BROWSER, HTML),
    (HTML, HTML),
    ("application/xhtml+xml", HTML),
    ("text/html;q=0.5, */*;q=0.1", HTML),
]


def _answer(response) -> object:
    if response.status_code == 303:
        return 303
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return response.mimetype


@pytest.mark.parametrize(("accept", "gets"), ACCEPTS)
@pytest.mark.parametrize("route", list(ROUTES))
def test_every_negotiating_route_reads_accept_the_same_way(client, route, accept, gets):
    headers = {} if accept is None else {"Accept": accept}
    expected = ROUTES[route][gets] if isinstance(gets, int) else gets
    assert _answer(client.get(route, headers=headers)) == expected


@pytest.mark.parametrize("route", list(ROUTES))
def test_refusing_html_never_gets_a_page(client, route):
    for accept in ("text/html;q=0", "text/html;q=0, application/json;q=0.1"):
        response = client.get(route, headers={"Accept": accept})
        assert response.mimetype != HTML or response.status_code == 303, (route, accept)


def test_errors_follow_the_same_negotiation(client):
    missing = "/id/organisation/no-such-thing"
    assert client.get(missing, headers={"Accept": BROWSER}).mimetype == HTML
    for accept in (None, "*/*", NO_HTML, "text/html;q=0"):
        headers = {} if accept is None else {"Accept": accept}
        response = client.get(missing, headers=headers)
        assert response.status_code == 404 and response.mimetype == "application/json", accept
