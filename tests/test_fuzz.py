"""Property-based tests: random and mutated SPARQL protocol requests never break the endpoint.

Through the Flask test client: any method, headers, URL parameters, body and (mutated) query
gets a deliberate answer — never a 5xx other than a documented 503, always the one error body
shape, never a traceback. Against a live server over raw sockets: malformed HTTP gets a 4xx or
a closed connection, never a hang, and the server keeps answering.
"""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent
NAMED = {path.stem: path.read_text(encoding="utf-8") for path in sorted(ROOT.glob("queries/*.rq"))}
VINNOVA = "https://w3id.org/aigraph/id/organisation/vinnova"
ERROR_KEYS = {"error", "status", "message", "request_id"}
#: The only 5xx a request may get: the documented limits (README "Safe by default").
ALLOWED_5XX = {"query-timeout", "query-too-large"}
LEAKS = (b"Traceback (most recent call last)", b'File "/', b"site-packages")

FUZZ = settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# --- strategies: queries -------------------------------------------------------------------

KEYWORDS = [
    "SELECT",
    "ASK",
    "CONSTRUCT",
    "DESCRIBE",
    "WHERE",
    "FILTER",
    "OPTIONAL",
    "UNION",
    "GRAPH",
    "MINUS",
    "BIND",
    "VALUES",
    "ORDER BY",
    "GROUP BY",
    "HAVING",
    "LIMIT 5",
    "OFFSET 2",
    "DISTINCT",
    "REDUCED",
    "FROM",
    "FROM NAMED",
    "PREFIX",
    "BASE",
    "SERVICE",
    "INSERT DATA",
    "DELETE WHERE",
    "LOAD",
    "CLEAR ALL",
    "NOT EXISTS",
    "EXISTS",
    "AS",
    "a",
    "COUNT(*)",
]
TOKENS = KEYWORDS + [
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ".",
    ";",
    ",",
    "*",
    "?s",
    "?p",
    "?o",
    "$x",
    "_:b",
    "<>",
    f"<{VINNOVA}>",
    "<id/organisation/vinnova>",
    "<file:///etc/passwd>",
    "<http://127.0.0.1:1/>",
    '"text"',
    '"sv"@sv',
    '"1"^^<http://www.w3.org/2001/XMLSchema#integer>',
    "'''x'''",
    "42",
    "-1e309",
    "rdfs:label",
    "schema:",
    ":x",
    "\\u0041",
    "\\U0001F600",
    "\\u0000",
    "#",
    "\n",
    "ü",
    "\u202e",
    "\ufeff",
    "𝔘",
    "||",
    "&&",
    "!",
    "^",
    "/",
    "|",
    "+",
    'REGEX(?o, "(a+)+$")',
]


def _tokens(text: str) -> list[str]:
    return re.findall(r"\s+|<[^>\s]*>|\"(?:[^\"\\]|\\.)*\"|\w+|.", text)


@st.composite
def mutated_queries(draw) -> str:
    """A named query's text with random token deletions, insertions, duplications, swaps."""
    tokens = _tokens(NAMED[draw(st.sampled_from(sorted(NAMED)))])
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["delete", "insert", "duplicate", "swap", "brace", "nest"]))
        at = draw(st.integers(0, max(0, len(tokens) - 1)))
        if op == "delete" and tokens:
            del tokens[at : at + draw(st.integers(1, 8))]
        elif op == "insert":
            tokens.insert(at, " " + draw(st.sampled_from(TOKENS)) + " ")
        elif op == "duplicate" and tokens:
            tokens[at:at] = tokens[at : at + draw(st.integers(1, 10))]
        elif op == "swap":
            keyword = [i for i, t in enumerate(tokens) if t.upper() in KEYWORDS]
            if keyword:
                tokens[draw(st.sampled_from(keyword))] = draw(st.sampled_from(KEYWORDS))
        elif op == "brace":
            tokens.insert(at, draw(st.sampled_from(["{", "}", "{}", "{ {", "} }", "(", ")"])))
        else:
            depth = draw(st.integers(1, 400))
            tokens.insert(at, "{ " * depth + "?s ?p ?o " + "} " * depth)
    return "".join(tokens)


def nested(depth: int, open_: str, close: str) -> str:
    if open_ == "(":
        return "SELECT * WHERE { FILTER(" + "(" * depth + "1" + ")" * depth + ") }"
    return "ASK " + open_ * depth + " ?s ?p ?o " + close * depth


queries = st.one_of(
    st.sampled_from(sorted(NAMED.values())),
    mutated_queries(),
    mutated_queries(),
    st.builds(nested, st.integers(1, 600), *[st.just(c) for c in "{}"]),
    st.builds(nested, st.integers(1, 600), st.just("("), st.just(")")),
    st.text(max_size=200),
    st.sampled_from(
        [
            f"DESCRIBE <{VINNOVA}>",
            "ASK {}",
            "SELECT * WHERE { ?s ?p ?o } LIMIT 3",
            "CONSTRUCT WHERE { ?s a ?c } LIMIT 5",
            "INSERT DATA { <a:b> <a:b> <a:b> }",
            "SELECT * WHERE { SERVICE <http://127.0.0.1:1/> { ?s ?p ?o } }",
            "",
            "   ",
            'SELECT ("\\u0000" AS ?x) {}',
            'SELECT ?x { BIND("\U0001f600" AS ?x) }',
        ]
    ),
)

# --- strategies: requests ------------------------------------------------------------------

MEDIA = [
    "application/sparql-results+json",
    "application/sparql-results+xml",
    "text/csv",
    "text/tab-separated-values",
    "text/turtle",
    "application/n-triples",
    "application/ld+json",
    "application/rdf+xml",
    "application/trig",
    "application/n-quads",
    "application/json",
    "text/html",
    "application/xhtml+xml",
    "text/plain",
    "application/xml",
    "image/png",
    "*/*",
    "text/*",
    "application/*",
    "*/json",
]
accept_item = st.builds(
    lambda media, q: media + q,
    st.sampled_from(MEDIA),
    st.sampled_from(
        ["", ";q=0", ";q=0.5", ";q=1", ";q=1.0001", ";q=-1", ";q=x", ";level=1", ";charset=utf-8"]
    ),
)
header_text = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=80
)
accepts = st.one_of(
    st.none(),
    st.lists(accept_item, min_size=1, max_size=4).map(", ".join),
    header_text,
)
content_types = st.one_of(
    st.none(),
    st.builds(
        lambda media, params: media + params,
        st.sampled_from(
            [
                "application/x-www-form-urlencoded",
                "application/sparql-query",
                "application/sparql-update",
                "text/plain",
                "multipart/form-data",
                "application/json",
                "APPLICATION/SPARQL-QUERY",
                "",
            ]
        ),
        st.sampled_from(
            [
                "",
                "; charset=utf-8",
                "; charset=UTF-8",
                '; charset="utf-8"',
                "; charset=latin-1",
                "; charset=utf-16",
                "; charset=",
                ";;;",
                "; boundary=x",
            ]
        ),
    ),
    header_text,
)
token = st.text(
    st.sampled_from(
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-.^_`|~"
    ),
    min_size=1,
    max_size=20,
)
extra_headers = st.dictionaries(
    token.filter(
        lambda n: n.lower() not in ("content-type", "content-length", "host", "transfer-encoding")
    ),
    header_text,
    max_size=4,
)
param_names = st.one_of(
    st.sampled_from(
        [
            "query",
            "update",
            "format",
            "default-graph-uri",
            "named-graph-uri",
            "lang",
            "subject",
            "recipient",
        ]
    ),
    st.text(max_size=10),
)
param_values = st.one_of(
    queries,
    st.sampled_from(
        [
            "json",
            "xml",
            "csv",
            "tsv",
            "turtle",
            "nt",
            "jsonld",
            "rdfxml",
            "trig",
            "nquads",
            "html",
            "bogus",
            "",
            VINNOVA,
            "https://w3id.org/aigraph/graph/x",
            "file:///etc/passwd",
            "not an iri",
            "sv",
            "en",
        ]
    ),
    st.text(max_size=40),
)
params = st.lists(st.tuples(param_names, param_values), max_size=5)
#: Raw (already percent-encoded) query strings, including invalid encodings.
raw_query_strings = st.one_of(
    params.map(urlencode),
    params.map(urlencode),
    st.sampled_from(
        [
            "query=%FF",
            "query=%",
            "query=%zz",
            "query=ASK%7B%7D%00",
            "&&&=",
            "query=ASK%7B%7D&query=ASK%7B%7D",
            "=%C3%28",
            "query",
        ]
    ),
    st.binary(max_size=40).map(lambda b: quote(b, safe="=&%")),
)


def encoded(text: str, encoding: str) -> bytes:
    return text.encode(encoding, errors="replace")


bodies = st.one_of(
    st.just(b""),
    st.binary(max_size=300),
    st.builds(encoded, queries, st.sampled_from(["utf-8", "latin-1", "utf-16"])),
    params.map(lambda pairs: urlencode(pairs).encode()),
    queries.map(lambda q: b"query=" + quote(q).encode()),
)
paths = st.one_of(
    st.just("/sparql"),
    st.just("/sparql"),
    st.just("/sparql"),
    st.just("/sparql"),
    st.sampled_from([f"/queries/{name}" for name in NAMED] + ["/queries/nope", "/queries"]),
    st.sampled_from(
        [
            "/",
            "/healthz",
            "/stats",
            "/openapi.json",
            "/id/organisation/vinnova",
            "/graph/nope",
            "/ontology",
            "/shapes.ttl",
        ]
    ),
)
#: GET and POST carry the protocol; the others are weighted down (they mostly meet a 405).
METHODS = ["GET"] * 4 + ["POST"] * 4 + ["PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]


# --- the invariants -------------------------------------------------------------------------


def check_response(response, method: str, note: str) -> None:
    """Assert the endpoint's invariants on one response; ``note`` says what was sent."""
    status = response.status_code
    body = response.get_data()
    event(f"{status} {response.mimetype}")  # shown by --hypothesis-show-statistics
    shown = f"{note}\n-> {status} {response.mimetype}: {body[:600]!r}"
    for leak in LEAKS:
        assert leak not in body, shown
    if method == "HEAD":
        assert body == b"", shown
    if status < 400:
        return
    if method != "HEAD" and response.mimetype == "application/json":
        error = json.loads(body)
        assert ERROR_KEYS <= set(error), shown
        assert error["status"] == status and error["message"], shown
        assert error["request_id"] == response.headers.get("X-Request-Id"), shown
        if status >= 500:
            assert status == 503 and error["error"] in ALLOWED_5XX, shown
    else:
        # An HTML error page for browsers (or HEAD, which has no body): the status must still be
        # a client error or a documented 503.
        assert method == "HEAD" or response.mimetype == "text/html", shown
        assert status < 500 or status == 503, shown


@FUZZ
@given(
    method=st.sampled_from(METHODS),
    path=paths,
    query_string=raw_query_strings,
    accept=accepts,
    content_type=content_types,
    headers=extra_headers,
    body=bodies,
)
def test_any_request_gets_a_deliberate_answer(
    app, method, path, query_string, accept, content_type, headers, body
):
    client = app.test_client()
    sent = dict(headers)
    if accept is not None:
        sent["Accept"] = accept
    if content_type is not None:
        sent["Content-Type"] = content_type
    response = client.open(
        path,
        method=method,
        query_string=query_string,
        headers=sent,
        data=body if method not in ("GET", "HEAD") else None,
    )
    note = f"{method} {path}?{query_string} headers={sent!r} body={body[:300]!r}"
    check_response(response, method, note)
    if path == "/sparql" and method in ("PUT", "DELETE", "PATCH"):
        assert response.status_code == 405, note


@FUZZ
@given(
    query=queries,
    how=st.sampled_from(["get", "form", "direct"]),
    accept=accepts,
    fmt=st.sampled_from([None, "json", "csv", "turtle", "nt", "xml"]),
)
def test_any_query_text_gets_a_result_or_a_clear_error(app, query, how, accept, fmt):
    client = app.test_client()
    headers = {"Accept": accept} if accept is not None else {}
    extra = {"format": fmt} if fmt else {}
    if how == "get":
        response = client.get("/sparql", query_string={"query": query, **extra}, headers=headers)
    elif how == "form":
        response = client.post("/sparql", data={"query": query, **extra}, headers=headers)
    else:
        response = client.post(
            "/sparql",
            query_string=extra,
            data=query.encode("utf-8"),
            content_type="application/sparql-query",
            headers=headers,
        )
    note = f"{how} format={fmt} accept={accept!r} query={query[:500]!r}"
    check_response(response, how.upper() if how == "get" else "POST", note)
    # Protocol-level problems aside, a query either runs or is a 400/403/406 with a reason.
    assert response.status_code in (200, 400, 403, 406, 503), note


# --- the live server over raw sockets --------------------------------------------------------

SOCKET_TIMEOUT = 15.0
crlf_free = st.binary(max_size=60).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b""))
request_lines = st.builds(
    lambda method, sep1, target, sep2, version: method + sep1 + target + sep2 + version,
    st.one_of(
        st.sampled_from([b"GET", b"POST", b"HEAD", b"PUT", b"BREW", b"get", b"", b"G\x00T"]),
        crlf_free,
    ),
    st.sampled_from([b" ", b"  ", b"\t", b""]),
    st.one_of(
        st.sampled_from(
            [
                b"/sparql?query=ASK%7B%7D",
                b"/healthz",
                b"*",
                b"http://x/",
                b"/%",
                b"/" + b"a" * 70_000,
                b"/sparql?query=%FF",
            ]
        ),
        crlf_free,
    ),
    st.sampled_from([b" ", b"\t", b""]),
    st.sampled_from([b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2.0", b"HTTP/9.9", b"HTTP/1", b"FOO", b""]),
)
header_lines = st.lists(
    st.one_of(
        st.sampled_from(
            [
                b"Host: 127.0.0.1",
                b"Content-Length: 5",
                b"Content-Length: -1",
                b"Content-Length: abc",
                b"Content-Length: 99999999999999999999",
                b"Transfer-Encoding: chunked",
                b"Transfer-Encoding: gzip, chunked",
                b"Content-Type: application/sparql-query",
                b"Expect: 100-continue",
                b"no colon here",
                b": empty name",
                b" folded continuation",
                b"Connection: close",
            ]
        ),
        crlf_free,
        st.integers(8_000, 300_000).map(lambda n: b"X-Big: " + b"a" * n),
    ),
    max_size=6,
)
chunked_bodies = st.sampled_from(
    [
        b"5\r\nASK{}\r\n0\r\n\r\n",
        b"zz\r\nASK{}\r\n0\r\n\r\n",
        b"5\r\nASK{}",
        b"-1\r\n\r\n",
        b"ffffffffffffffffff\r\nx\r\n",
        b"3\r\nASK{}\r\n0\r\n\r\n",
        b"0\r\n",
        b"5;ext=\x00\r\nASK{}\r\n",
    ]
)
raw_requests = st.one_of(
    st.builds(
        lambda line, headers, body: (
            line + b"\r\n" + b"".join(h + b"\r\n" for h in headers) + b"\r\n" + body
        ),
        request_lines,
        header_lines,
        st.one_of(chunked_bodies, st.binary(max_size=200)),
    ),
    st.builds(
        lambda headers, body: (
            b"POST /sparql HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/sparql-query\r\nTransfer-Encoding: chunked\r\n"
            + b"".join(h + b"\r\n" for h in headers)
            + b"\r\n"
            + body
        ),
        header_lines,
        chunked_bodies,
    ),
    st.binary(min_size=1, max_size=4096),
)


def exchange(url: str, payload: bytes) -> bytes:
    """Send ``payload``, half-close, and read until the server closes (bounded by a timeout)."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=SOCKET_TIMEOUT) as sock:
        try:
            sock.sendall(payload)
            sock.shutdown(socket.SHUT_WR)
        except TimeoutError:
            raise
        except OSError:
            pass  # the server answered and closed before taking it all: a deliberate answer
        received = []
        while True:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                raise
            except OSError:  # reset or not connected: closed by the server
                break
            if not chunk:
                break
            received.append(chunk)
        return b"".join(received)


def healthz(url: str) -> int:
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=SOCKET_TIMEOUT) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    return int(reply.split(b" ", 2)[1])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload=raw_requests)
def test_malformed_http_gets_a_4xx_or_a_close_never_a_hang(live_server, payload):
    reply = exchange(live_server, payload)  # socket.timeout here is the failure: a hang
    statuses = [int(m) for m in re.findall(rb"(?m)^HTTP/1\.[01] (\d{3}) ", reply)]
    shown = f"sent {payload[:300]!r}\n got {reply[:600]!r}"
    for leak in LEAKS:
        assert leak not in reply, shown
    if reply:
        assert statuses, shown
    # waitress answers a transfer coding it does not implement with 501, as RFC 9112 6.1 says.
    allowed = {501} if b"transfer-encoding" in payload.lower() else set()
    assert all(s < 500 or s in allowed for s in statuses), shown
    assert healthz(live_server) == 200, shown


@pytest.mark.parametrize(
    "payload",
    [
        b"GET /sparql?query=ASK%7B%7D HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(256)),  # a TLS ClientHello
        b"GET /healthz HTTP/1.1\r\n" + b"X: " + b"a" * 300_000 + b"\r\n\r\n",
    ],
    ids=["bad-chunk", "tls-hello", "huge-header"],
)
def test_malformed_http_examples(live_server, payload):
    reply = exchange(live_server, payload)
    statuses = [int(m) for m in re.findall(rb"(?m)^HTTP/1\.[01] (\d{3}) ", reply)]
    assert all(400 <= s < 500 for s in statuses), reply[:600]
    assert healthz(live_server) == 200
