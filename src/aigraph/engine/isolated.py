"""Run queries in worker processes so a runaway or crashing query cannot hurt the server.

Each worker is forked from the server, so it shares the loaded data copy-on-write, and serves
one query at a time over a pipe. A query past its time limit is stopped by killing its worker
(the only way to stop rdflib's pure-Python evaluation or an oxigraph query). A worker that dies
with a query in hand (SIGKILL, the OOM killer) has its query, read-only, run once more on a
fresh worker; a query that kills two in a row (oxigraph aborts the process on some inputs)
fails alone. Either way a fresh worker takes its place; idle workers that die are replaced
off the request path. Workers exit when the server process dies.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import select
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from multiprocessing.connection import Connection
from typing import Any

from rdflib import URIRef

from ..errors import EngineUnavailable, Overloaded, QueryCrashedWorker, QueryTimeout, ResultTooLarge
from ..formats import Offer
from . import guard, stream
from .base import Answer, CheckedQuery, Engine, QueryRequest, QueryResult
from .hop import (
    WorkerDied,
    WorkerFailed,
    WorkerHandle,
    WorkerTimeout,
    decode_answer,
    encode_request,
)
from .worker import Bounds, serve

#: Parent ends of every worker pipe in this process; a new worker closes its copies of them,
#: so a worker sees end-of-file when the server goes away.
_PARENT_ENDS: set[Connection] = set()
_PARENT_ENDS_LOCK = threading.Lock()


class IsolatedEngine:
    """An engine whose queries run in a pool of worker processes, with a time limit."""

    def __init__(
        self,
        factory: Callable[[], Engine],
        workers: int = 2,
        timeout: float = 10.0,
        *,
        check: Callable[[str], object] | None = None,
        bounds: Bounds | None = None,
        max_waiting: int | None = None,
        retry_after: int = 1,
        started: int | None = None,
    ) -> None:
        """``workers`` at most; ``started`` of them at once (default: all), the others when a
        query finds every started worker busy (each worker holds memory of its own)."""
        if workers < 1:
            raise ValueError("an isolated engine needs at least one worker")
        self._size = workers
        self._starting = 0  # workers being started (grown or replacing one): not yet counted
        self._factory = factory
        # Queries waiting for a worker each hold a request thread: past this many, shed load.
        self._max_waiting = max_waiting
        self._retry_after = retry_after
        self._waiting = 0
        self._bounds = bounds or Bounds()
        self._timeout = timeout
        self._check = check
        self._mp = multiprocessing.get_context("fork")
        self._idle: queue.LifoQueue[WorkerHandle] = queue.LifoQueue()
        self._workers: set[WorkerHandle] = set()
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._closed = False
        for _ in range(min(workers, max(1, started or workers))):
            self._idle.put(self._spawn())
        # Not the graph names (asked on first use); their count, so that /stats needs no worker.
        info: tuple[str, int, int] = self._ask("info")
        self.name, self._quads, self._graphs = info
        self._names: tuple[URIRef, ...] | None = None
        threading.Thread(target=self._keep, name="aigraph-pool-keeper", daemon=True).start()

    def check(self, text: str) -> CheckedQuery:
        """Run the engine's guard here, in the server: a refused query never reaches a worker.

        A refused query counts as a query that failed.
        """
        try:
            found = self._check(text) if self._check is not None else guard.check(text)
        except Exception:
            self._count("queries")
            self._count("errors")
            raise
        if not isinstance(found, CheckedQuery):
            raise TypeError(f"the engine's check returned {type(found).__name__}")
        return found

    def query(self, request: QueryRequest) -> QueryResult:
        """Run the query in a free worker and return its result (terms, not written).

        Stop it and raise ``QueryTimeout`` past the limit. A request not checked yet
        (``request.checked`` is None) is checked here first when the pool has the engine's
        check; the worker checks it again either way (``_recheck``).
        """
        result = self._query(request, None)
        if not isinstance(result, QueryResult):
            raise TypeError(f"the query worker answered {type(result).__name__}")
        return result

    def answer(self, request: QueryRequest, offer: Offer) -> Answer:
        """Run the query in a free worker, which writes the answer in ``offer``.

        The answer's ``stream`` (a large answer) holds its worker until it is read or closed.
        """
        written = self._query(request, offer)
        if not isinstance(written, Answer):
            raise TypeError(f"the query worker answered {type(written).__name__}")
        return written

    def _query(self, request: QueryRequest, offer: Offer | None) -> QueryResult | Answer:
        if request.checked is None and self._check is not None:
            request = replace(request, checked=self.check(request.text))
        limit = request.timeout or self._timeout
        deadline = time.monotonic() + limit
        self._count("queries")
        message = encode_request(request, offer)
        try:
            answered: QueryResult | Answer = self._run(message, deadline, limit)
            return answered
        except QueryTimeout:
            self._count("timeouts")
            raise
        except Exception:
            self._count("errors")
            raise

    def graph_names(self) -> Sequence[URIRef]:
        """Return the IRIs of the named graphs (asked once, on first use: the dataset is fixed)."""
        if self._names is None:
            self._names = tuple(map(URIRef, self._ask("graphs")))
        return self._names

    def triple_count(self) -> int:
        """Return the number of quads of the dataset."""
        return self._quads

    def graph_count(self) -> int:
        return self._graphs

    def stats(self) -> dict[str, int]:
        """Return counters: queries, errors, timeouts, crashes, retries, restarts, shed,
        streams, workers, idle and waiting."""
        with self._lock:
            counts = {k: self._counts[k] for k in ("queries", "errors", "timeouts", "crashes")}
            for name in ("retries", "restarts", "shed", "streams"):
                counts[name] = self._counts[name]
            counts["workers"] = len(self._workers)
            counts["waiting"] = self._waiting
        counts["idle"] = self._idle.qsize()
        return counts

    def worker_pids(self) -> list[int]:
        """Return the process ids of the workers (for monitoring and tests)."""
        with self._lock:
            return sorted(w.pid for w in self._workers)

    def close(self) -> None:
        """Stop every worker."""
        with self._lock:
            self._closed = True
            workers = list(self._workers)
            self._workers.clear()
        for worker in workers:
            worker.kill()

    def __enter__(self) -> IsolatedEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _ask(self, what: str) -> Any:
        """Ask a worker of its engine: "info" (name, quad count), "graphs" (IRIs, as strings)."""
        return self._run((what,), time.monotonic() + max(self._timeout, 30.0), 30.0)

    def _run(self, message: tuple[Any, ...], deadline: float, limit: float) -> Any:
        """Send ``message`` to a free worker and return its answer.

        A worker that dies with the query in hand (killed from outside: SIGKILL, the OOM
        killer) is replaced and the query, read-only, runs once more on the fresh worker; a
        second death in a row is the query's own doing (``QueryCrashedWorker``). A worker
        found dead before it got the query is replaced without counting. The time limit and
        the memory limit stop a query for good: never retried.
        """
        if self._closed:
            raise EngineUnavailable("the query engine is closed")
        worker = self._take(deadline, limit)
        deaths: list[str] = []  # of workers that had the query
        while True:
            try:
                header, body = worker.call(message, deadline)
            except WorkerTimeout:
                self._replace(worker, crashed=False)
                raise QueryTimeout(f"query ran longer than {limit:g} s and was stopped") from None
            except WorkerFailed:
                self._replace(worker, crashed=True)
                raise
            except WorkerDied as died:
                deaths.append(died.how) if died.delivered else deaths.append("")
                fresh = self._replace(worker, crashed=True, keep=True)
                failure = _death_error(died, deaths, self._bounds.memory_mb)
                if failure is not None or fresh is None:
                    self._release(fresh)
                    raise failure or EngineUnavailable("the query engine is closed") from None
                self._count("retries") if died.delivered else None
                worker = fresh
                continue
            return self._reply(worker, header, body, limit)

    def _reply(
        self, worker: WorkerHandle, header: tuple[Any, ...], body: bytes, limit: float
    ) -> Any:
        """Return what a worker's ``header`` and ``body`` say; release or replace it."""
        kind = header[0]
        if kind == "answer":
            self._idle.put(worker)
            return decode_answer(header, body)
        if kind == "stream":
            return self._stream(worker, decode_answer(header, None), header[-1], limit)
        if kind == "out-of-memory":
            self._replace(worker, crashed=True)
            raise _too_much_memory(self._bounds.memory_mb)
        self._idle.put(worker)
        if kind == "ok":
            return header[1]
        if kind == "error":
            raise header[1]  # an AigraphError pickles with its state (AigraphError.__reduce__)
        raise RuntimeError(f"the query worker failed:\n{header[1]}")

    def _release(self, worker: WorkerHandle | None) -> None:
        if worker is not None:
            self._idle.put(worker)

    def _take(self, deadline: float, limit: float) -> WorkerHandle:
        """Return a free worker, waiting for one if the wait queue has room.

        An idle worker that hung up (killed while idle) is replaced aside, not by this request.
        """
        while True:
            try:
                worker = self._idle.get_nowait()
            except queue.Empty:
                break
            if not worker.hung_up():
                return worker
            self._replace_aside(worker)
        self._grow()
        with self._lock:
            full = self._max_waiting is not None and self._waiting >= self._max_waiting
            self._counts["shed"] += full
            self._waiting += not full
        if full:
            raise Overloaded(
                "every query worker is busy and the queue of waiting queries is full; "
                f"retry in {self._retry_after} s",
                retry_after=self._retry_after,
            )
        try:
            while True:
                worker = self._idle.get(timeout=max(0.0, deadline - time.monotonic()))
                if not worker.hung_up():
                    return worker
                self._replace_aside(worker)
        except queue.Empty:
            raise QueryTimeout(f"no query worker became free within {limit:g} s") from None
        finally:
            with self._lock:
                self._waiting -= 1

    def _grow(self) -> None:
        """Start one more worker if the pool is under its size (every started one is busy)."""
        with self._lock:
            grow = not self._closed and len(self._workers) + self._starting < self._size
            self._starting += grow
        if grow:
            self._idle.put(self._spawn_started())
            if self._closed:  # closed meanwhile: close() did not see it
                self.close()

    def _spawn_started(self) -> WorkerHandle:
        """``_spawn``, then take it off ``_starting`` (which the caller raised, under the lock)."""
        try:
            return self._spawn()
        finally:
            with self._lock:
                self._starting -= 1

    def _stream(self, worker: WorkerHandle, head: Answer, size: int, limit: float) -> Answer:
        """Return ``head`` with a stream of the ``size`` bytes ``worker`` is sending.

        The worker stays out of the pool until the stream is done: then whatever the client
        did not take is read and dropped, and the worker, at the end of its answer, is reused;
        it is never reused mid-answer. A worker that sends nothing for ``limit`` seconds, or
        dies, is stopped and replaced.
        """
        self._count("streams")
        broken = crashed = False

        def read() -> bytes:
            nonlocal broken, crashed
            try:
                return worker.receive_piece(time.monotonic() + limit)
            except WorkerTimeout:
                broken = True
                raise QueryTimeout(f"the result stopped arriving for {limit:g} s") from None
            except WorkerDied as died:
                broken = crashed = True
                # Bytes may have gone to the client: no retry; the response is cut short of
                # its Content-Length, which the client sees as a broken transfer.
                raise EngineUnavailable(
                    f"the query worker stopped mid-answer ({died.how})"
                ) from None

        def done(left: int) -> None:
            nonlocal broken
            try:
                while not broken and left > 0:  # a client that went away: drain its answer
                    left -= len(worker.receive_piece(time.monotonic() + limit))
                if not broken:
                    worker.call(None, time.monotonic() + limit)  # the worker's closing ("end",)
            except (WorkerTimeout, WorkerDied):
                broken = True
            if broken:
                self._replace(worker, crashed=crashed)
            else:
                self._idle.put(worker)

        return replace(head, stream=stream.ResultStream(size, read, done))

    def _replace_aside(self, worker: WorkerHandle) -> None:
        """Replace a dead idle worker in a thread of its own (a fork takes milliseconds)."""
        threading.Thread(
            target=self._replace, args=(worker,), kwargs={"crashed": True}, daemon=True
        ).start()

    def _keep(self) -> None:
        """Replace idle workers that died (killed from outside) off the request path.

        A worker that dies while busy is its request thread's to replace (and retry).
        """
        while not self._closed:
            time.sleep(_KEEP_S)
            with self._lock:
                watched = {worker.channel.fd: worker for worker in self._workers}
            watch = select.poll()
            for fd in watched:
                watch.register(fd, 0)  # hang-ups (and errors) only
            for fd, events in watch.poll(0):
                if events & (select.POLLHUP | select.POLLERR):
                    with self._idle.mutex:  # taken from the pool: no request can get it
                        idle = watched[fd] in self._idle.queue
                        if idle:
                            self._idle.queue.remove(watched[fd])
                    if idle:
                        self._replace(watched[fd], crashed=True)

    def _replace(
        self, worker: WorkerHandle, *, crashed: bool, keep: bool = False
    ) -> WorkerHandle | None:
        """Kill ``worker`` and start a fresh one: returned if ``keep``, else put in the pool.

        Returns None (and starts nothing) once the pool is closed.
        """
        worker.kill()
        with self._lock:
            self._workers.discard(worker)
            self._counts["crashes"] += crashed
            if self._closed:
                return None
            self._counts["restarts"] += 1
            self._starting += 1  # not grown meanwhile in its place
        fresh = self._spawn_started()
        if keep:
            return fresh
        self._idle.put(fresh)
        return None

    def _spawn(self) -> WorkerHandle:
        with _PARENT_ENDS_LOCK:
            parent_end, child_end = self._mp.Pipe()
            inherited = list(_PARENT_ENDS) + [parent_end]
            process = self._mp.Process(
                target=serve,
                args=(child_end, self._factory, os.getpid(), inherited, self._bounds),
                name="aigraph-query-worker",
                daemon=True,
            )
            process.start()
            _PARENT_ENDS.add(parent_end)
        child_end.close()
        worker = WorkerHandle(process, parent_end)
        with self._lock:
            self._workers.add(worker)
        return worker

    def _count(self, name: str) -> None:
        with self._lock:
            self._counts[name] += 1


#: How often the pool looks for idle workers that died.
_KEEP_S = 0.1
#: Workers found dead before they got the query, replaced within one query before giving up.
_MAX_STILLBORN = 3


def _death_error(died: WorkerDied, deaths: list[str], memory_mb: int) -> Exception | None:
    """Return the error for the deaths of a query's workers so far (None: try once more).

    ``deaths`` holds how each worker that had the query died ("" for one that died before).
    """
    if died.delivered and memory_mb and "SIGABRT" in died.how:
        return _too_much_memory(memory_mb)  # the memory limit stopped it: not retried
    crashes = [how for how in deaths if how]
    if len(crashes) >= 2:
        return QueryCrashedWorker(
            f"this query crashed the query worker twice in a row ({crashes[0]}, then "
            f"{crashes[1]}); it is not tried again. Simplify the query or report it"
        )
    if len(deaths) - len(crashes) > _MAX_STILLBORN:
        return EngineUnavailable("the query workers keep dying before they get the query")
    return None


def _too_much_memory(memory_mb: int) -> ResultTooLarge:
    return ResultTooLarge(
        f"the query needed more than the memory limit of {memory_mb} MB "
        "and was stopped; narrow it or add a LIMIT"
    )
