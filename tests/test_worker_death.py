"""No request is lost when a query worker dies from outside (SIGKILL, the OOM killer).

A worker that dies with a read-only query in hand is replaced and the query runs once more on the
fresh worker; a query that kills two workers in a row gets its own error (500,
``query-crashed-worker``); an idle worker that died is replaced unseen; the time limit and the
memory limit still stop a query for good. A streamed answer already under way cannot be retried:
the client sees a transfer cut short of its Content-Length, never a short 200 posing as whole.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import signal
import threading
import time
from pathlib import Path
from urllib.parse import quote, urlsplit

import psutil
import pytest
from rdflib import Dataset, Literal, URIRef

from aigraph.engine import IsolatedEngine, OxigraphEngine, QueryRequest, QueryResult
from aigraph.engine.worker import Bounds
from aigraph.errors import QueryCrashedWorker, QueryTimeout, ResultTooLarge
from conftest import LiveServer

EX = "http://example.org/"
CROSS = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f }"


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


class CrashOn(OxigraphEngine):
    """An engine whose worker dies (SIGKILL, as the OOM killer does it) on one query text."""

    def query(self, request: QueryRequest):  # type: ignore[override]
        if "crash-me" in request.text:
            os.kill(os.getpid(), signal.SIGKILL)
        return super().query(request)


class Touch:
    """Pickled as a call of ``Path.touch``: unpickled anywhere, it creates the file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return (Path.touch, (self.path,))


class Subverted(OxigraphEngine):
    """An engine whose answer would run code in the server if the server unpickled it."""

    canary: Path

    def query(self, request: QueryRequest):  # type: ignore[override]
        return QueryResult(form="select", variables=("x",), rows=({"x": Touch(self.canary)},))


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    data = Dataset(default_union=True)
    graph = data.graph(URIRef(EX + "g"))
    for i in range(300):
        graph.add((URIRef(f"{EX}s{i}"), URIRef(EX + "p"), Literal(i)))
    return data


def test_a_query_that_kills_its_worker_fails_after_exactly_two_attempts(dataset) -> None:
    engine = CrashOn(dataset)
    with IsolatedEngine(lambda: engine, workers=2, timeout=30.0) as pool:
        before = set(pool.worker_pids())
        with pytest.raises(QueryCrashedWorker) as caught:
            pool.query(QueryRequest('ASK { ?s ?p "crash-me" }'))
        error = caught.value.to_body()
        assert (error["status"], error["error"]) == (500, "query-crashed-worker")
        assert "crashed the query worker twice" in error["message"]
        assert error["message"].count("killed by signal SIGKILL") == 2
        stats = pool.stats()
        # Two attempts: two workers died, one retry; the pool is whole again.
        assert (stats["crashes"], stats["retries"], stats["restarts"]) == (2, 1, 2)
        assert stats["workers"] == 2 and len(before & set(pool.worker_pids())) == 1
        assert pool.query(QueryRequest("ASK { ?s ?p 7 }")).boolean is True


def test_a_worker_cannot_make_the_server_run_code(dataset, tmp_path) -> None:
    """Frames from a worker are unpickled with the hop's own types only: a worker subverted
    into sending anything else is killed like a dead one, and nothing of it runs here."""
    engine = Subverted(dataset)
    engine.canary = tmp_path / "ran-in-the-server"
    with IsolatedEngine(lambda: engine, workers=1, timeout=30.0) as pool:
        with pytest.raises(QueryCrashedWorker, match="malformed frame") as caught:
            pool.query(QueryRequest("SELECT * {}"))
        assert "pathlib.Path.touch" in caught.value.message
        assert not engine.canary.exists()
        assert pool.stats()["restarts"] == 2 and len(pool.worker_pids()) == 1


def test_a_worker_killed_while_idle_is_replaced_unseen(dataset) -> None:
    engine = OxigraphEngine(dataset)
    with IsolatedEngine(lambda: engine, workers=2, timeout=30.0) as pool:
        assert pool.query(QueryRequest("ASK { ?s ?p 1 }")).boolean is True
        killed = pool.worker_pids()
        for pid in killed:
            os.kill(pid, signal.SIGKILL)
        for pid in killed:
            while not gone(pid):
                time.sleep(0.01)
        # Replaced off the request path (the pool looks for them), or when a query takes one.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            pids = pool.worker_pids()
            if len(pids) == 2 and not set(killed) & set(pids):
                break
            time.sleep(0.02)
        assert not set(killed) & set(pool.worker_pids()) and len(pool.worker_pids()) == 2
        answers = [pool.query(QueryRequest(f"ASK {{ ?s ?p {i} }}")).boolean for i in range(6)]
        assert answers == [True] * 6
        stats = pool.stats()
        # Found dead before they got a query: replaced, not retries, no error counted.
        assert (stats["crashes"], stats["retries"], stats["errors"]) == (2, 0, 0)


def test_the_time_limit_and_the_memory_limit_are_not_retried(dataset) -> None:
    engine = OxigraphEngine(dataset)
    with IsolatedEngine(lambda: engine, workers=1, timeout=30.0) as pool:
        explosive = "SELECT (COUNT(*) AS ?n) { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
        with pytest.raises(QueryTimeout):
            pool.query(QueryRequest(explosive, timeout=0.5))
        assert pool.stats()["retries"] == 0 and pool.stats()["restarts"] == 1
    bounded = Bounds(memory_mb=48)
    with IsolatedEngine(lambda: engine, workers=1, timeout=60.0, bounds=bounded) as pool:
        big = "SELECT * { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i } ORDER BY RAND()"
        with pytest.raises(ResultTooLarge, match="memory limit of 48 MB"):
            pool.query(QueryRequest(big))
        stats = pool.stats()
        assert (stats["retries"], stats["restarts"]) == (0, 1)


# --- over HTTP, under load ----------------------------------------------------------------------


def sparql(conn: http.client.HTTPConnection, text: str) -> tuple[int, bytes]:
    conn.request(
        "GET",
        "/sparql?query=" + quote(text),
        headers={"Accept": "application/sparql-results+json"},
    )
    response = conn.getresponse()
    return response.status, response.read()


def connect(url: str, timeout: float = 60) -> http.client.HTTPConnection:
    parts = urlsplit(url)
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)


def workers_of(server: LiveServer) -> list[int]:
    return [p.pid for p in psutil.Process(server.pid).children()]


def test_killing_workers_under_load_loses_no_request() -> None:
    """Four clients send lookups and a heavier cross join while a killer SIGKILLs workers.

    The killer looks every 30 ms and kills a worker that has lived at least 1.5 s: deaths from
    outside are independent events, so it never kills the fresh worker that is retrying the
    query it just interrupted (a query killed twice in a row is the error case tested above).
    """
    env = {"AIGRAPH_EXECUTORS": "3", "AIGRAPH_MAX_CLIENT_QUERIES": "8", "AIGRAPH_THREADS": "12"}
    server = LiveServer("--no-validate", env=env)
    try:
        probe = connect(server.url)
        status, body = sparql(probe, "SELECT ?s ?p ?o WHERE { ?s ?p ?o } ORDER BY ?s ?p ?o")
        assert status == 200
        triples = json.loads(body)["results"]["bindings"]
        subjects = sorted({t["s"]["value"] for t in triples if t["s"]["type"] == "uri"})
        lookups = {}
        for iri in subjects[:20]:
            text = f"SELECT ?p ?o WHERE {{ <{iri}> ?p ?o }} ORDER BY ?p ?o"
            status, body = sparql(probe, text)
            assert status == 200
            lookups[text] = body
        status, cross = sparql(probe, CROSS)
        assert status == 200 and int(json.loads(cross)["results"]["bindings"][0]["n"]["value"])
        probe.close()
        expected = {**lookups, CROSS: cross}

        failures: list[str] = []
        answered = [0]
        lock = threading.Lock()
        stop = threading.Event()

        def client(seed: int) -> None:
            chooser = random.Random(seed)
            texts = list(expected)
            conn = connect(server.url)
            while not stop.is_set():
                text = CROSS if chooser.random() < 0.3 else chooser.choice(texts)
                try:
                    status, body = sparql(conn, text)
                except (OSError, http.client.HTTPException) as exc:
                    with lock:
                        failures.append(f"{text[:40]}: {exc!r}")
                    conn.close()
                    conn = connect(server.url)
                    continue
                with lock:
                    answered[0] += 1
                    if status != 200 or body != expected[text]:
                        failures.append(f"{text[:40]}: {status} {body[:200]!r}")
            conn.close()

        born: dict[int, float] = {}
        kills: list[int] = []

        def killer() -> None:
            while not stop.is_set():
                now = time.monotonic()
                for pid in workers_of(server):
                    born.setdefault(pid, now)
                old = [pid for pid, t in born.items() if now - t >= 1.5 and not gone(pid)]
                if old:
                    victim = random.choice(old)
                    os.kill(victim, signal.SIGKILL)
                    kills.append(victim)
                    del born[victim]
                time.sleep(0.03)

        threads = [threading.Thread(target=client, args=(i,)) for i in range(4)]
        threads.append(threading.Thread(target=killer))
        for thread in threads:
            thread.start()
        time.sleep(8.0)
        stop.set()
        for thread in threads:
            thread.join(60)
        assert not failures, failures[:5]
        assert len(kills) >= 6 and answered[0] >= 20, (len(kills), answered[0])
        conn = connect(server.url)
        conn.request("GET", "/stats")
        stats = json.loads(conn.getresponse().read())["engine_stats"]
        conn.close()
        # Every kill was noticed and its worker replaced; some had a query in hand.
        assert stats["crashes"] == len(kills) and stats["workers"] == 3, stats
        assert stats["retries"] >= 1 and stats["errors"] == 0, stats
        assert all(gone(pid) for pid in kills)
    finally:
        server.stop()


def test_a_streamed_answer_cut_by_a_dying_worker_is_a_broken_transfer() -> None:
    env = {
        "AIGRAPH_EXECUTORS": "1",
        "AIGRAPH_MAX_ROWS": "400000",
        "AIGRAPH_STREAM_THRESHOLD_BYTES": "100000",
        "AIGRAPH_QUERY_TIMEOUT": "120",  # a loaded machine must not turn this into a 503
    }
    server = LiveServer("--no-validate", env=env)
    try:
        conn = connect(server.url)
        text = "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f } LIMIT 50000"
        conn.request("GET", "/sparql?query=" + quote(text), headers={"Accept": "text/csv"})
        response = conn.getresponse()
        assert response.status == 200, response.read()[:300]
        declared = int(response.headers["Content-Length"])
        got = len(response.read(100_000))
        [worker] = workers_of(server)
        os.kill(worker, signal.SIGKILL)
        # The rest cannot come: the server closes the connection short of Content-Length.
        with pytest.raises(http.client.IncompleteRead) as caught:
            response.read()
        got += len(caught.value.partial)
        assert declared > 5_000_000 and got < declared, (got, declared)
        assert caught.value.expected == declared - got
        conn.close()
        # The pool replaced the worker; the next query is answered.
        again = connect(server.url)
        assert sparql(again, "ASK { ?s ?p ?o }")[0] == 200
        again.close()
    finally:
        server.stop()
