"""The guard reads queries as Oxigraph does: a differential corpus against pyoxigraph itself.

Two oracles from Oxigraph's own parser and evaluator:

- **Token boundaries.** In ``VALUES ?v { ... }`` Oxigraph returns every string and IRI it
  read, in order. The guard's scanner must find exactly the same strings and IRIs, with the
  same values: then both agree on where every string, IRI, comment and escape starts and ends.
- **SERVICE.** A query the guard lets through is run by Oxigraph (in this process, with the
  network) on the text the engine would get: a loopback listener must see no call. And every
  hand-written case where Oxigraph does call the listener must be refused by the guard.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator

import pyoxigraph as ox
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aigraph.engine import guard, lexer
from aigraph.errors import AigraphError, QueryRefused
from loopback import Listener

NESTING = 200


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.close()


def oracle_store(text: str) -> ox.Store:
    """A store where the corpus's triple patterns match, so that SERVICE is evaluated."""
    store = ox.Store()
    listener = re.search(r"<(http://127\.0\.0\.1:\d+)/>", text)
    s, p = ox.NamedNode("http://s.example/"), ox.NamedNode("http://p.example/")
    xsd = "http://www.w3.org/2001/XMLSchema#"
    for o in (
        ox.NamedNode("http://o.example/"),
        ox.Literal("1", datatype=ox.NamedNode(xsd + "integer")),
        ox.Literal("true", datatype=ox.NamedNode(xsd + "boolean")),
        ox.NamedNode((listener.group(1) if listener else "http://x") + "/a.b"),
    ):
        store.add(ox.Quad(s, p, o))
    return store


def oxigraph_calls(text: str, listener: Listener) -> bool:
    """Run ``text`` with Oxigraph and tell whether it called the listener."""
    before = listener.connections
    try:
        result = oracle_store(text).query(text)
        if isinstance(result, (ox.QuerySolutions, ox.QueryTriples)):
            list(result)
    except SyntaxError:
        return False
    except (OSError, RuntimeError) as error:
        if "Connection" in str(error) or "connection" in str(error) or "os error" in str(error):
            return True
    for _ in range(20):  # SERVICE SILENT swallows the failure: look at the listener too
        if listener.connections != before:
            return True
        threading.Event().wait(0.005)
    return False


def guard_verdict(text: str) -> guard.CheckedQuery | AigraphError:
    try:
        return guard.check(text, max_nesting=NESTING)
    except AigraphError as error:
        return error


# --- hand-written corpus -----------------------------------------------------------------------


def prologue(url: str) -> str:
    return f"PREFIX ex: <{url}/> PREFIX : <{url}/> PREFIX svc: <{url}/> PREFIX h: <http://h:>\n"


def calling(url: str) -> list[str]:
    """Queries where Oxigraph calls SERVICE though a lexer off by one of Oxigraph's rules would
    see it in a string, a comment or a name (``url`` is the listener's)."""
    service = f"SERVICE <{url}/s> {{ ?a ?b ?c }}"
    bodies = [
        # escapes in prefixed names, then quotes
        r"BIND(ex:a\' AS ?x) " + service + " BIND('x' AS ?y)",
        r"BIND(ex:a\) AS ?x) " + service + " BIND('''x''' AS ?y)",
        r"BIND(ex:\'\'\' AS ?x) " + service + " BIND('''''' AS ?y)",
        r"BIND(ex:a\# AS ?x) " + service,
        # \u escapes inside strings are characters, not quotes
        r"BIND('a\u0027' AS ?x) " + service + " BIND('b' AS ?y)",
        r'BIND("a\u0022" AS ?x) ' + service + ' BIND("b" AS ?y)',
        # nested and long quotes
        "BIND('''a''b''' AS ?x) " + service + " BIND('x' AS ?y)",
        r"BIND('''a'\'''' AS ?x) " + service,
        'BIND("""a""b""" AS ?x) ' + service + ' BIND("x" AS ?y)',
        "BIND('' AS ?x) BIND('''''' AS ?y) " + service,
        r"BIND('a\'' AS ?x) " + service + " BIND('b' AS ?y)",
        # comments end at CR as at LF; '#' inside IRIs is no comment
        "BIND(<http://x/#> AS ?x) " + service,
        "?s ?p ?o #\r" + service,
        "?s ?p ?o # a comment\n " + service,
        # keywords glued to other tokens; the local part's one run of dots
        "SERVICE:x {}",
        "SERVICEsvc:x {}",
        "SERVICESILENT:x {}",
        "?s ?p 1SERVICE :x {}",
        "?s ?p trueSERVICE :x {}",
        "?s ?p ?o ." + service,
        "?s ?p ex:a.b." + service,
        "?s ?p ?o " + service.replace("SERVICE", "service"),
        "?s ?p ?o " + service.replace("SERVICE", "SERVICE SILENT"),
        "FILTER(?one < 2) " + service,
    ]
    return [prologue(url) + "SELECT * WHERE { BIND(1 AS ?one) " + b + " }" for b in bodies]


def passing(url: str) -> list[str]:
    """Queries with "service" where it is no SERVICE clause: the guard lets them through."""
    bodies = [
        "?s ?p 'SERVICE <http://x/> {}'",
        "?s ?p ?o # SERVICE <http://x/> {}\n",
        "?s <http://x/service> ?o",
        "?s a ex:DataService OPTIONAL { ?s ?p ?o }",
        "GRAPH svc:g { ?s ?p ?o }",
        "?service ex:service ?o . ?o service:x ?y",
        r"?s ?p ex:a\' . ?s ?p ex:b\#c",
    ]
    return [prologue(url) + "SELECT * WHERE { BIND(1 AS ?one) " + b + " }" for b in bodies]


def test_every_service_oxigraph_calls_is_refused(listener: Listener) -> None:
    url = f"http://127.0.0.1:{listener.port}"
    for text in calling(url):
        assert oxigraph_calls(text, listener), text  # the oracle: Oxigraph does call out
        verdict = guard_verdict(text)
        assert isinstance(verdict, QueryRefused) and "SERVICE" in verdict.message, text


def test_what_the_guard_lets_through_never_calls_out(listener: Listener) -> None:
    url = f"http://127.0.0.1:{listener.port}"
    for text in passing(url):
        verdict = guard_verdict(text)
        assert isinstance(verdict, guard.CheckedQuery), (text, verdict)
        assert not oxigraph_calls(verdict.text, listener), text


def test_less_than_read_either_way_calls_nothing(listener: Listener) -> None:
    """After ``?a`` Oxigraph reads "<'>" as "less than" and a string, and calls that SERVICE.
    The guard reads an IRI and a string; it refuses, or gives Oxigraph a text where the IRI's
    quote is an escape: nothing is called either way."""
    url = f"http://127.0.0.1:{listener.port}"
    text = (
        prologue(url)
        + f"SELECT * {{ BIND(1 AS ?a) FILTER(?a<'>' || true) SERVICE <{url}/s> {{}} }}"
    )
    assert oxigraph_calls(text, listener)
    verdict = guard_verdict(text)
    if isinstance(verdict, guard.CheckedQuery):
        assert not oxigraph_calls(verdict.text, listener)
    else:
        assert verdict.status == 400


DEEP = "{" * 5000 + "}" * 5000
DEEP_CASES = [
    r"?s ?p ex:a\' . " + DEEP + " ?s ?p 'x'",
    r"?s ?p ex:a\) . " + DEEP + " ?s ?p '''x'''",
    "?s ?p '''a''b''' . " + DEEP + " ?s ?p 'x'",
    r"?s ?p 'a\u0027' . " + DEEP + " ?s ?p 'b'",
    "?s ?p <http://x/#> . " + DEEP,
    "?s ?p ?o #\r" + DEEP,
    "?s ?p ex:a.b." + DEEP,
    "FILTER(" + "(" * 5000 + "1" + ")" * 5000 + ")",
    "FILTER(" + "!" * 5000 + "true)",
    "FILTER(" + "! " * 5000 + "true)",
    "?s ?p " + "[ ?p " * 5000 + "]" * 5000,
    "BIND(" + "<<( " * 5000 + "<a:s> <a:p> <a:o>" + " )>>" * 5000 + " AS ?x)",
    "} } } " + DEEP,
]


@pytest.mark.parametrize("deep", DEEP_CASES)
def test_deep_nesting_hidden_by_a_desync_is_refused(deep: str) -> None:
    text = "PREFIX ex: <http://x/> ASK { " + deep + " }"
    verdict = guard_verdict(text)
    assert isinstance(verdict, QueryRefused) and "nests" in verdict.message, text[:80]


# --- token boundaries, generated ---------------------------------------------------------------

_ECHAR = {"t": "\t", "b": "\b", "n": "\n", "r": "\r", "f": "\f", '"': '"', "'": "'", "\\": "\\"}
_ESCAPE = re.compile(r"\\(?:u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|(.))", re.DOTALL)


def decode(body: str) -> str:
    def one(found: re.Match[str]) -> str:
        code = found.group(1) or found.group(2)
        return chr(int(code, 16)) if code else _ECHAR[found.group(3)]

    return _ESCAPE.sub(one, body)


def guard_terms(text: str) -> tuple[list[str], list[str]]:
    """Return the strings and IRIs the guard's scanner finds, decoded."""
    strings, iris = [], []
    for token in lexer.SCAN.finditer(text, text.index("VALUES")):
        if token.lastgroup == "string":
            quotes = 3 if token.group()[:3] in ("'''", '"""') else 1
            strings.append(decode(token.group()[quotes:-quotes]))
        elif token.lastgroup == "iri":
            iris.append(decode(token.group()[1:-1]))
    return strings, [i for i in iris if i.startswith("http://i.example/")]


def _plain(literal: ox.Literal) -> bool:
    return literal.datatype.value.endswith(("#string", "#langString", "#dirLangString"))


def oxigraph_terms(text: str) -> tuple[list[str], list[str]] | None:
    try:
        rows = list(ox.Store().query(text))  # type: ignore[arg-type]
    except SyntaxError:
        return None
    strings = [r[0].value for r in rows if isinstance(r[0], ox.Literal) and _plain(r[0])]
    iris = [r[0].value for r in rows if isinstance(r[0], ox.NamedNode)]
    return strings, [i for i in iris if i.startswith("http://i.example/")]


_PIECES = ["a", "'", '"', "\\'", '\\"', "\\\\", "\\n", "\\u0027", "\\u0022", "#", "<", ">",
           "SERVICE", " ", "''", '""', "\\", "{", "(", "\\t"]  # fmt: skip
_LONG_PIECES = [*_PIECES, "\n", "\r", "'''", '"""']
_IRI_PIECES = ["a", "#", "'", "(", ")", "\\u0023", "%41", "/", "?", "$", "@", "_:"]
_LOCAL_PIECES = ["a", "\\)", "\\'", '\\"', "\\#", "\\.", ".", "-", "1", "%41", ":", "\\\\", "'"]


@st.composite
def terms(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["string", "long", "iri", "pname", "comment", "number"]))
    if kind == "string":
        quote = draw(st.sampled_from(["'", '"']))
        return quote + "".join(draw(st.lists(st.sampled_from(_PIECES), max_size=6))) + quote
    if kind == "long":
        quote = draw(st.sampled_from(["'''", '"""']))
        return quote + "".join(draw(st.lists(st.sampled_from(_LONG_PIECES), max_size=6))) + quote
    if kind == "iri":
        return "<http://i.example/" + "".join(draw(st.lists(st.sampled_from(_IRI_PIECES)))) + ">"
    if kind == "pname":
        return "ex:" + "".join(draw(st.lists(st.sampled_from(_LOCAL_PIECES), max_size=5)))
    if kind == "comment":
        return "#" + "".join(draw(st.lists(st.sampled_from(_PIECES), max_size=4))) + "\n"
    return draw(st.sampled_from(["1", "1.5", "1e3", "true", "UNDEF"]))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(terms(), min_size=1, max_size=8), st.sampled_from([" ", "", "\n", "\t"]))
def test_the_scanner_finds_the_strings_and_iris_oxigraph_reads(parts: list[str], sep: str):
    text = "PREFIX ex: <http://p.example/> SELECT ?v { VALUES ?v { " + sep.join(parts) + " } }"
    read = oxigraph_terms(text)
    if read is None:
        return  # Oxigraph refuses the text: nothing to agree on
    assert guard_terms(text) == read, text


@settings(max_examples=300, deadline=None)
@given(st.lists(terms(), min_size=1, max_size=6))
def test_rewritten_iris_keep_their_values(parts: list[str]):
    text = "PREFIX ex: <http://p.example/> SELECT ?v { VALUES ?v { " + " ".join(parts) + " } }"
    read = oxigraph_terms(text)
    if read is None:
        return
    assert oxigraph_terms(guard.CheckedQuery("select", text).text) == read, text


_FRAGMENTS = ["SERVICE <{u}> {{}}", "SERVICE:x {{}}", "SERVICE SILENT <{u}> {{}}", "ex:a\\)",
              "ex:a\\'", "'", '"', "'''", '"""', "#", "\n", "<", ">", "(", ")", "{{", "}}",
              "\\u0027", "?x", ".", "ex:a.b.", "<'>", "FILTER(?one<", "@en", "\\", "1", "true",
              "GRAPH", "SILENT", ":x", "<{u}>", "'x'", "<<", "\r", "a"]  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_FRAGMENTS), min_size=1, max_size=10))
def test_generated_queries_the_guard_passes_never_call_out(listener: Listener, parts):
    url = f"http://127.0.0.1:{listener.port}/g"
    body = " ".join(p.format(u=url) for p in parts)
    text = (
        prologue(f"http://127.0.0.1:{listener.port}") + "SELECT * { BIND(1 AS ?one) " + body + " }"
    )
    verdict = guard_verdict(text)
    if isinstance(verdict, guard.CheckedQuery):
        assert not oxigraph_calls(verdict.text, listener), text


# --- linear, bounded work in the server process ------------------------------------------------

MB = 1_000_000
#: Inputs on which the guard used to be quadratic (letters: 40 KB took a minute) or heavy.
LARGE = {
    "letters": "SELECT * { ?s ?p " + "a" * MB + " }",
    "prefixed names": "SELECT * { ?s ?p " + "a: " * (MB // 3) + " }",
    "quote runs": "SELECT * { ?s ?p " + "'" * MB + " }",
    "long strings": "SELECT * { ?s ?p '''" + "a''" * (MB // 3) + "''' }",
    "service names": "SELECT * { ?s ?p " + "a:service " * (MB // 10) + " }",
    "dotted names": "SELECT * { ?s ?p " + "a." * (MB // 2) + " }",
    "escapes": "SELECT * { ?s ?p " + "ex:a\\)" * (MB // 6) + " }",
    "brackets": "ASK " + "{}" * (MB // 2),
}


@pytest.mark.parametrize("name", LARGE)
def test_a_megabyte_query_is_checked_in_linear_time(name: str) -> None:
    """A liveness bound, generous on a shared machine: the old guard took minutes here.
    The benchmark (benchmarks/guard_bench.py) measures the real cost."""
    import time

    start = time.process_time()
    try:
        guard.check(LARGE[name])
        guard.query_form(LARGE[name])
    except AigraphError as error:
        assert error.status == 400, error.to_dict()
    assert time.process_time() - start < 5.0


def test_the_verdict_cache_is_bounded_in_bytes() -> None:
    cache = guard._FactsCache(budget=100_000, max_text=10_000)
    facts = guard.facts_of("ASK {}")
    for i in range(1000):
        cache.put(f"ASK {{ ?s ?p {i} }} # " + "x" * 500, facts)
    assert cache.size <= 100_000 and len(cache._entries) < 1000
    cache.put("ASK {} #" + "x" * 20_000, facts)  # too large to keep
    assert all(len(text) <= 10_000 for text in cache._entries)
    for i in range(100_000):  # many tiny texts: each entry's own cost counts too
        cache.put(str(i), facts)
    assert cache.size <= 100_000 and len(cache._entries) <= 100_000 // cache.ENTRY_BYTES


def test_checking_large_queries_keeps_no_memory() -> None:
    import tracemalloc

    texts = [f"SELECT * {{ ?s ?p {i} }} # " + "a" * MB for i in range(8)]
    tracemalloc.start()
    try:
        for text in texts:
            guard.check(text)
        kept, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert kept < 3 * MB, kept  # at most the last text per thread, not one copy per text
    assert peak < 12 * MB, peak  # linear work: a few copies of one text at a time


def test_no_crafted_nesting_reaches_a_worker_over_http(client, core) -> None:
    """Through the endpoint: each is a 400, and no query worker crashed (no 502)."""
    before = core.engine.stats()["crashes"]
    for deep in DEEP_CASES:
        query = "PREFIX ex: <http://x/> ASK { " + deep + " }"
        response = client.post("/sparql", data={"query": query})
        assert response.status_code == 400, (deep[:60], response.get_data(as_text=True)[:200])
    assert core.engine.stats()["crashes"] == before
