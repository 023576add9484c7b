"""A server over an on-disk store answers its first query early and holds little memory.

At start the pool asks its first worker only for the engine's name and size: the graph names
(tens of thousands in a large store) are asked when first needed. A store's pool starts one
worker; the others start when queries find every started worker busy, up to ``executors``.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import psutil
import pytest
from rdflib import Dataset, Literal, URIRef

from aigraph import formats, store
from aigraph.core import Aigraph
from aigraph.engine import IsolatedEngine, OxigraphEngine, QueryRequest, stream
from aigraph.settings import Settings

EX = "http://example.org/"
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
CSV = formats.find_offer("csv", formats.RESULTS)


class NoGraphNames(OxigraphEngine):
    """An engine that cannot list its graphs: a pool that asks at start cannot open."""

    def graph_names(self):  # type: ignore[override]
        raise RuntimeError("graph names asked")


class Slow(OxigraphEngine):
    """An engine whose queries that say "slow" take a second (a busy worker, on demand)."""

    def query(self, request: QueryRequest):  # type: ignore[override]
        if "slow" in request.text:
            time.sleep(1.0)
        return super().query(request)


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    data = Dataset(default_union=True)
    for g in range(3):
        graph = data.graph(URIRef(f"{EX}g{g}"))
        for i in range(20):
            graph.add((URIRef(f"{EX}s{i}"), URIRef(EX + "p"), Literal(g * 100 + i)))
    return data


def test_graph_names_are_asked_on_first_use_not_at_start(dataset) -> None:
    engine = NoGraphNames(dataset)
    with IsolatedEngine(lambda: engine, workers=1, timeout=30.0) as pool:
        assert (pool.name, pool.triple_count()) == ("oxigraph", 60)
        assert int(pool.query(QueryRequest(COUNT)).rows[0]["n"]) == 60
        with pytest.raises(RuntimeError, match="graph names asked"):
            pool.graph_names()
    with IsolatedEngine(lambda: OxigraphEngine(dataset), workers=1) as pool:
        assert sorted(map(str, pool.graph_names())) == [f"{EX}g{g}" for g in range(3)]
        assert all(isinstance(name, URIRef) for name in pool.graph_names())


def busy_then(pool: IsolatedEngine, text: str) -> list[object]:
    """Run a slow query in a thread; once it holds its worker, run ``text`` here."""
    answers: list[object] = []
    idle = pool.stats()["idle"]
    slow = threading.Thread(
        target=lambda: answers.append(pool.query(QueryRequest(text + " #slow")))
    )
    slow.start()
    deadline = time.monotonic() + 10
    while pool.stats()["idle"] == idle and time.monotonic() < deadline:
        time.sleep(0.01)
    answers.append(pool.query(QueryRequest(text)))
    slow.join()
    return answers


def test_a_pool_started_small_grows_when_its_workers_are_busy(dataset) -> None:
    engine = Slow(dataset)
    with IsolatedEngine(lambda: engine, workers=2, timeout=30.0, started=1) as pool:
        [first] = pool.worker_pids()
        answers = busy_then(pool, COUNT)
        assert [int(a.rows[0]["n"]) for a in answers] == [60, 60]  # type: ignore[attr-defined]
        assert len(pool.worker_pids()) == 2 and first in pool.worker_pids()
        busy_then(pool, COUNT)
        busy_then(pool, COUNT)  # never past its size
        stats = pool.stats()
        assert (stats["workers"], stats["restarts"], stats["crashes"]) == (2, 0, 0), stats


def test_close_stops_the_workers_started_on_demand(dataset) -> None:
    engine = Slow(dataset)
    with IsolatedEngine(lambda: engine, workers=2, timeout=30.0, started=1) as pool:
        busy_then(pool, COUNT)
        pids = pool.worker_pids()
        pool.close()
        assert len(pids) == 2 and pool.worker_pids() == []
        assert not any(psutil.pid_exists(pid) for pid in pids)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory) -> Path:
    data = tmp_path_factory.mktemp("data") / "many.nt"
    with data.open("w", encoding="utf-8") as out:
        for i in range(3000):
            out.write(f'<{EX}s{i}> <{EX}p> "value {i} {"x" * 40}" .\n')
    directory = tmp_path_factory.mktemp("store") / "s"
    store.load_files(directory, [data])
    return directory


def test_a_store_server_starts_one_worker_and_grows_to_executors(loaded) -> None:
    # Every answer streams: an unread stream holds its worker, so the pool is busy for sure.
    settings = Settings(store=str(loaded), executors=2, stream_threshold_bytes=1)
    core = Aigraph.open(settings)
    try:
        [first] = core.engine.worker_pids()
        assert core.triple_count == 3000
        held = core.answer("SELECT ?o WHERE { ?s ?p ?o }", CSV)
        assert held.stream is not None and core.engine.stats()["idle"] == 0
        again = core.answer("SELECT ?o WHERE { ?s ?p ?o }", CSV)
        assert again.stream is not None
        assert len(core.engine.worker_pids()) == 2 and first in core.engine.worker_pids()
        bodies = [b"".join(answer.stream) for answer in (held, again)]
        for answer in (held, again):
            answer.stream.close()
        assert bodies[0] == bodies[1] and bodies[0].count(b"\n") == 3001
        assert len(core.engine.graph_names()) == 1
        assert core.engine.stats()["workers"] == 2
    finally:
        core.close()
        defaults = Settings()  # the stream settings are the process's: back to the defaults
        stream.configure(defaults.stream_piece_bytes, defaults.stream_threshold_bytes)


class Racing(IsolatedEngine):
    """A pool where a query finds every worker busy just as a dead worker's replacement starts."""

    racing = False

    def _spawn(self):  # type: ignore[no-untyped-def]
        if self.racing:
            self.racing = False
            self._grow()  # what a query arriving at this moment does
        return super()._spawn()


def test_a_pool_does_not_grow_into_the_place_of_a_worker_being_replaced(dataset) -> None:
    with Racing(lambda: OxigraphEngine(dataset), workers=2, timeout=30.0) as pool:
        victim, _ = pool.worker_pids()
        pool.racing = True
        os.kill(victim, signal.SIGKILL)  # an idle worker: the pool's keeper replaces it
        deadline = time.monotonic() + 10
        while victim in pool.worker_pids() and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.2)
        assert not pool.racing and len(pool.worker_pids()) == 2, pool.worker_pids()
        assert pool.query(QueryRequest(COUNT)).rows[0]["n"] == Literal(60)
