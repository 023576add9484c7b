"""Queries cannot reach the network or the file system, run past the time limit, or take the
server down with them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from rdflib import Dataset, Literal, URIRef

from aigraph.engine import (
    DatasetSpec,
    IsolatedEngine,
    OxigraphEngine,
    QueryRequest,
    RdflibEngine,
    check,
)
from aigraph.errors import (
    AigraphError,
    BadRequest,
    EngineUnavailable,
    Forbidden,
    QueryCrashedWorker,
    QueryRefused,
    QueryTimeout,
)
from loopback import Listener

EX = "http://example.org/"
SECRET = "secret-value-7f3a9c"
ENGINES = [RdflibEngine, OxigraphEngine]


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.close()


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    data = Dataset(default_union=True)
    data.parse(
        data="""
        @prefix ex: <http://example.org/> .
        ex:a ex:p "default" .
        ex:g1 { ex:b ex:p "one" . }
        """,
        format="trig",
    )
    return data


@pytest.fixture(scope="module")
def big_dataset() -> Dataset:
    """A few thousand triples: a cartesian product of its triples never ends in time."""
    data = Dataset(default_union=True)
    graph = data.graph(URIRef(EX + "big"))
    for i in range(3000):
        graph.add((URIRef(f"{EX}s{i}"), URIRef(EX + "p"), Literal(i)))
    return data


@pytest.fixture(scope="module")
def secret_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("secret") / "secret-xyz.ttl"
    path.write_text(f'<{EX}secret> <{EX}is> "{SECRET}" .\n', encoding="utf-8")
    return path


def refused_or_empty(engine, request: QueryRequest) -> str:
    """Run a query; return what happened, failing if it answered with any data."""
    try:
        result = engine.query(request)
    except (QueryRefused, Forbidden) as error:
        return error.kind
    except AigraphError as error:
        assert error.status == 400, error.to_dict()
        return error.kind
    assert not result.rows and not result.triples and not result.boolean, result
    return "empty"


# --- no network, no files ----------------------------------------------------------------------


def network_queries(url: str) -> list[str]:
    p = f"PREFIX : <{url}/> PREFIX svc: <{url}/>\n"
    return [
        f"SELECT * {{ SERVICE <{url}/> {{ ?s ?p ?o }} }}",
        f"SELECT * {{ SERVICE SILENT <{url}/> {{ ?s ?p ?o }} }}",
        f"select * {{ service<{url}/>{{}} }}",
        p + "SELECT * { SERVICE :x { ?s ?p ?o } }",
        p + "SELECT * { SERVICE:x {} }",  # oxigraph needs no space after a keyword
        p + "SELECT * { SERVICEsvc:x {} }",
        p + "SELECT * { SERVICESILENT:x {} }",
        p + "SELECT * { ?s ?p 1SERVICE :x {} }",
        p + "SELECT * { ?s ?p trueSERVICE :x {} }",
        p + "SELECT * { ?s ?p ?o .SERVICE :x {} }",
        f"SELECT * {{ \\u0053ERVICE <{url}/> {{}} }}",  # rdflib expands \\u escapes first
        f"SELECT * {{ FILTER(?a<'>') SERVICE <{url}/z> {{}} FILTER('x') }}",  # '<' read two ways
        f"SELECT * {{ VALUES ?e {{ <{url}/> }} SERVICE ?e {{ ?s ?p ?o }} }}",
        f"SELECT * FROM <{url}/x> {{ ?s ?p ?o }}",
        f"SELECT * FROM NAMED <{url}/x> {{ GRAPH ?g {{ ?s ?p ?o }} }}",
        f"SELECT * {{ GRAPH <{url}/y> {{ ?s ?p ?o }} }}",
        f"ASK FROM <{url}/x> {{ ?s ?p ?o }}",
        f"CONSTRUCT {{ ?s ?p ?o }} FROM <{url}/x> WHERE {{ ?s ?p ?o }}",
        f"DESCRIBE <{url}/d> FROM <{url}/x>",
        f"LOAD <{url}/x>",
        f"LOAD <{url}/x> INTO GRAPH <{url}/y>",
    ]


@pytest.mark.parametrize("engine_class", ENGINES, ids=lambda c: c.name)
def test_queries_never_connect_anywhere(dataset, listener: Listener, engine_class) -> None:
    engine = engine_class(dataset)
    outcomes = {}
    for text in network_queries(listener.url):
        outcomes[text] = refused_or_empty(engine, QueryRequest(text))
    for iri in (f"{listener.url}/x", f"{listener.url}/y"):
        spec = DatasetSpec(default_graphs=(URIRef(iri),), named_graphs=(URIRef(iri),))
        request = QueryRequest("SELECT * { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } }", spec)
        outcomes[iri] = refused_or_empty(engine, request)
    time.sleep(0.3)
    assert listener.connections == 0, outcomes
    assert "query-refused" in outcomes.values() and "bad-request" in outcomes.values()


def test_listener_does_see_oxigraph_service_calls(listener: Listener) -> None:
    """Prove the listener works: an unguarded oxigraph store does call SERVICE."""
    import pyoxigraph

    with pytest.raises(OSError):  # the listener hangs up at once
        list(pyoxigraph.Store().query(f"SELECT * {{ SERVICE <{listener.url}/> {{ ?s ?p ?o }} }}"))
    deadline = time.monotonic() + 5
    while not listener.connections and time.monotonic() < deadline:
        time.sleep(0.05)
    assert listener.connections


@pytest.mark.parametrize("engine_class", ENGINES, ids=lambda c: c.name)
def test_from_a_local_file_reads_nothing(dataset, secret_file: Path, engine_class) -> None:
    engine = engine_class(dataset)
    iri = secret_file.as_uri()
    texts = [
        f"SELECT * FROM <{iri}> {{ ?s ?p ?o }}",
        f"SELECT * FROM NAMED <{iri}> {{ GRAPH ?g {{ ?s ?p ?o }} }}",
        f"SELECT * {{ GRAPH <{iri}> {{ ?s ?p ?o }} }}",
        f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{iri}> {{ ?s ?p ?o }} }}",
        "SELECT * { ?s ?p ?o }",
    ]
    seen = []
    for text in texts:
        result = engine.query(QueryRequest(text))
        seen += [v for row in result.rows for v in row.values()]
        seen += [t for triple in result.triples for t in triple]
    spec = DatasetSpec(default_graphs=(URIRef(iri),), named_graphs=(URIRef(iri),))
    result = engine.query(QueryRequest("SELECT * { ?s ?p ?o }", spec))
    seen += [v for row in result.rows for v in row.values()]
    assert seen and Literal(SECRET) not in seen


# --- time limit, crashes, nesting --------------------------------------------------------------

EXPLOSIVE = "SELECT (COUNT(*) AS ?n) { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
CHEAP = QueryRequest("ASK { ?s ?p ?o }")


def gone(pid: int) -> bool:
    """Tell if a process has ended (a zombie nobody reaped yet has ended too)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.mark.parametrize("engine_class", ENGINES, ids=lambda c: c.name)
def test_timeout_stops_the_work_and_others_are_served(big_dataset, engine_class) -> None:
    engine = engine_class(big_dataset)
    with IsolatedEngine(lambda: engine, workers=2, timeout=30.0) as pool:
        before = set(pool.worker_pids())
        answers: list[bool] = []
        stop = threading.Event()

        def cheap_queries() -> None:
            while not stop.is_set():
                answers.append(pool.query(CHEAP).boolean)
                time.sleep(0.02)

        helper = threading.Thread(target=cheap_queries)
        helper.start()
        try:
            with pytest.raises(QueryTimeout, match="longer than 1 s and was stopped") as caught:
                pool.query(QueryRequest(EXPLOSIVE, timeout=1.0))
            answered_meanwhile = len(answers)
        finally:
            stop.set()
            helper.join()
        assert caught.value.status == 503
        killed = before - set(pool.worker_pids())
        assert len(killed) == 1 and all(gone(pid) for pid in killed)
        # The cheap queries were answered while the expensive one ran (timing: benchmarks/).
        assert answered_meanwhile > 0 and all(answers), answers
        assert pool.query(CHEAP).boolean is True
        stats = pool.stats()
        assert (stats["timeouts"], stats["restarts"], stats["workers"]) == (1, 1, 2)


def test_waiting_for_a_busy_pool_counts_toward_the_timeout(big_dataset) -> None:
    engine = OxigraphEngine(big_dataset)
    with IsolatedEngine(lambda: engine, workers=1, timeout=30.0) as pool:
        slow = QueryRequest(EXPLOSIVE, timeout=3)
        busy = threading.Thread(target=lambda: pytest.raises(QueryTimeout, pool.query, slow))
        busy.start()
        time.sleep(0.3)
        with pytest.raises(QueryTimeout, match="no query worker became free"):
            pool.query(QueryRequest("ASK {}", timeout=0.5))
        busy.join()
        assert pool.query(CHEAP).boolean is True


@pytest.mark.parametrize("engine_class", ENGINES, ids=lambda c: c.name)
def test_a_killed_worker_is_retried_once_then_the_query_fails_alone(big_dataset, engine_class):
    engine = engine_class(big_dataset)
    with IsolatedEngine(lambda: engine, workers=1, timeout=30.0) as pool:
        [pid] = pool.worker_pids()
        outcome: list[BaseException] = []

        def run() -> None:
            try:
                pool.query(QueryRequest(EXPLOSIVE))
            except BaseException as error:  # noqa: BLE001 - inspected below
                outcome.append(error)

        thread = threading.Thread(target=run)
        thread.start()
        time.sleep(0.5)
        os.kill(pid, signal.SIGKILL)
        # The query runs again on a fresh worker: kill that one too.
        deadline = time.monotonic() + 10
        while pool.worker_pids() in ([pid], []) and time.monotonic() < deadline:
            time.sleep(0.02)
        [second] = pool.worker_pids()
        time.sleep(0.5)
        assert not outcome and thread.is_alive()  # the first death was not reported
        os.kill(second, signal.SIGKILL)
        thread.join(timeout=10)
        assert len(outcome) == 1 and isinstance(outcome[0], QueryCrashedWorker), outcome
        assert outcome[0].status == 500 and "twice" in outcome[0].message
        assert outcome[0].message.count("SIGKILL") == 2
        assert pool.query(CHEAP).boolean is True
        assert second not in pool.worker_pids() and gone(pid) and gone(second)
        stats = pool.stats()
        assert (stats["crashes"], stats["retries"], stats["workers"]) == (2, 1, 1)


@pytest.mark.parametrize("engine_class", ENGINES, ids=lambda c: c.name)
def test_deep_nesting_is_refused_before_any_worker(dataset, engine_class) -> None:
    engine = engine_class(dataset)
    with IsolatedEngine(lambda: engine, workers=1, timeout=10.0, check=engine.check) as pool:
        pids = pool.worker_pids()
        for text in (
            "SELECT * { " + "{" * 5000 + "}" * 5000 + " }",
            "SELECT * { FILTER(" + "(" * 5000 + "1" + ")" * 5000 + ") }",
            "ASK { FILTER(" + "!" * 30000 + "true) }",
            "ASK { " + "<< " * 30000 + "<a:s> <a:p> <a:o>" + " >>" * 30000 + " <a:p> <a:o> }",
        ):
            with pytest.raises(QueryRefused, match="limit is 200"):
                pool.query(QueryRequest(text))
        # Read as an IRI, the brackets are written as \u escapes for oxigraph: they nest nothing
        # whichever way "<" is read, and the query is an ordinary 400.
        inside_iri = "SELECT * { FILTER(?a<" + "(" * 5000 + "1" + ")" * 5000 + ">2) }"
        with pytest.raises(AigraphError) as caught:
            pool.query(QueryRequest(inside_iri))
        assert caught.value.status == 400, caught.value.to_dict()
        assert pool.query(CHEAP).boolean is True
        assert pool.worker_pids() == pids and pool.stats()["crashes"] == 0


def test_the_worker_checks_again_what_the_server_checked(dataset) -> None:
    engine = OxigraphEngine(dataset)
    with IsolatedEngine(lambda: engine, workers=1, check=engine.check) as pool:
        # A request whose check does not belong to its text: the sandboxed side refuses it.
        with pytest.raises(BadRequest, match="read-only"):
            pool.query(QueryRequest("CLEAR ALL", checked=check("ASK {}")))
        with pytest.raises(RuntimeError, match="the server checked a select query"):
            pool.query(QueryRequest("ASK {}", checked=check("SELECT * {}")))
        assert pool.query(QueryRequest("ASK {}", checked=check("ASK {}"))).boolean is True


def test_worker_errors_keep_their_type_and_details(dataset) -> None:
    engine = OxigraphEngine(dataset)
    with IsolatedEngine(lambda: engine, workers=1) as pool:  # no parent check: the worker checks
        with pytest.raises(BadRequest, match="read-only"):
            pool.query(QueryRequest("CLEAR ALL"))
        with pytest.raises(AigraphError) as caught:
            pool.query(QueryRequest("SELECT * {\n ?s ?p }"))
        assert caught.value.kind == "query-syntax-error"
        assert (caught.value.line, caught.value.details["line"]) == (2, 2)
        assert pool.stats()["errors"] == 2


def test_a_failing_factory_is_reported(dataset) -> None:
    def broken():
        raise RuntimeError("no engine today")

    with pytest.raises(EngineUnavailable, match="no engine today"):
        IsolatedEngine(broken, workers=1)


def test_workers_exit_when_the_server_dies(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import sys, time
        from rdflib import Dataset
        from aigraph.engine import IsolatedEngine, RdflibEngine
        engine = RdflibEngine(Dataset())
        pool = IsolatedEngine(lambda: engine, workers=2)
        print(*pool.worker_pids(), flush=True)
        time.sleep(60)
        """
    )
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).parents[1] / "src"))
    server = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        pids = [int(p) for p in server.stdout.readline().split()]
        assert len(pids) == 2 and not any(gone(pid) for pid in pids)
    finally:
        server.kill()
        server.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not all(gone(pid) for pid in pids):
        time.sleep(0.1)
    assert all(gone(pid) for pid in pids)


def test_close_stops_the_workers(dataset) -> None:
    engine = RdflibEngine(dataset)
    pool = IsolatedEngine(lambda: engine, workers=2)
    pids = pool.worker_pids()
    pool.close()
    assert all(gone(pid) for pid in pids)
    with pytest.raises(EngineUnavailable):
        pool.query(CHEAP)


def test_an_engine_crash_past_the_guard_costs_only_its_worker():
    """With the nesting guard lifted, oxigraph's parser overflows its stack and the process
    dies: the query is tried once more, dies again, and fails alone (500, its own kind); a
    fresh worker answers the next one."""
    from aigraph.core import Aigraph
    from aigraph.settings import Settings

    aigraph = Aigraph.open(Settings(executors=1, validate=False, max_nesting=1_000_000))
    try:
        with pytest.raises(QueryCrashedWorker, match="crashed the query worker twice") as caught:
            aigraph.query("ASK " + "{" * 5000 + "}" * 5000)
        assert caught.value.status == 500 and "SIGSEGV" in caught.value.message
        assert aigraph.query("ASK { ?s ?p ?o }").boolean is True
        assert (aigraph.engine.stats()["crashes"], aigraph.engine.stats()["retries"]) == (2, 1)
    finally:
        aigraph.close()
