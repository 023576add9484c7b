"""Run queries in worker processes so a runaway or crashing query cannot hurt the server.

Each worker is forked from the server, so it shares the loaded data copy-on-write, and serves
one query at a time over a pipe. A query past its time limit is stopped by killing its worker
(the only way to stop rdflib's pure-Python evaluation or an oxigraph query); a worker that dies
(oxigraph aborts the process on some inputs) fails only its own query. Either way a fresh
worker takes its place. Workers exit when the server process dies.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from multiprocessing.connection import Connection
from typing import Any

from rdflib import URIRef

from ..errors import EngineUnavailable, Overloaded, QueryTimeout, ResultTooLarge
from ..formats import Offer
from . import guard, stream
from .base import Answer, CheckedQuery, Engine, QueryRequest, QueryResult
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
    ) -> None:
        if workers < 1:
            raise ValueError("an isolated engine needs at least one worker")
        self._factory = factory
        # Queries waiting for a worker each hold a request thread: past this many, shed load.
        self._max_waiting = max_waiting
        self._retry_after = retry_after
        self._waiting = 0
        self._bounds = bounds or Bounds()
        self._timeout = timeout
        self._check = check
        self._mp = multiprocessing.get_context("fork")
        self._idle: queue.LifoQueue[_Worker] = queue.LifoQueue()
        self._workers: set[_Worker] = set()
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._closed = False
        for _ in range(workers):
            self._idle.put(self._spawn())
        self.name, self._names, self._quads = self._info()

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
        result = self._query(replace(request, format=None))
        if not isinstance(result, QueryResult):
            raise TypeError(f"the query worker answered {type(result).__name__}")
        return result

    def answer(self, request: QueryRequest, offer: Offer) -> Answer:
        """Run the query in a free worker, which writes the answer in ``offer``.

        The answer's ``stream`` (a large answer) holds its worker until it is read or closed.
        """
        written = self._query(replace(request, format=offer))
        if not isinstance(written, Answer):
            raise TypeError(f"the query worker answered {type(written).__name__}")
        return written

    def _query(self, request: QueryRequest) -> QueryResult | Answer:
        if request.checked is None and self._check is not None:
            request = replace(request, checked=self.check(request.text))
        limit = request.timeout or self._timeout
        deadline = time.monotonic() + limit
        self._count("queries")
        try:
            answered: QueryResult | Answer = self._run(("query", request), deadline, limit)
            return answered
        except QueryTimeout:
            self._count("timeouts")
            raise
        except Exception:
            self._count("errors")
            raise

    def graph_names(self) -> Sequence[URIRef]:
        """Return the IRIs of the named graphs (asked once: the dataset is fixed)."""
        return self._names

    def triple_count(self) -> int:
        """Return the number of quads of the dataset."""
        return self._quads

    def stats(self) -> dict[str, int]:
        """Return counters: queries, errors, timeouts, crashes, restarts, shed, streams,
        workers, idle and waiting."""
        with self._lock:
            counts = {k: self._counts[k] for k in ("queries", "errors", "timeouts", "crashes")}
            for name in ("restarts", "shed", "streams"):
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

    def _info(self) -> tuple[str, tuple[URIRef, ...], int]:
        deadline = time.monotonic() + max(self._timeout, 30.0)
        info: tuple[str, tuple[URIRef, ...], int] = self._run(("info", None), deadline, 30.0)
        return info

    def _run(self, message: tuple[str, Any], deadline: float, limit: float) -> Any:
        if self._closed:
            raise EngineUnavailable("the query engine is closed")
        worker = self._take(deadline, limit)
        try:
            reply = worker.call(message, deadline)
        except _WorkerTimeout:
            self._replace(worker, crashed=False)
            raise QueryTimeout(f"query ran longer than {limit:g} s and was stopped") from None
        except _WorkerDied as died:
            self._replace(worker, crashed=True)
            if self._bounds.memory_mb and "SIGABRT" in str(died):
                raise ResultTooLarge(
                    f"the query needed more than the memory limit of {self._bounds.memory_mb} MB "
                    "and was stopped; narrow it or add a LIMIT"
                ) from None
            raise EngineUnavailable(f"the query worker stopped unexpectedly ({died})") from None
        if reply[0] == "out-of-memory":
            self._replace(worker, crashed=True)
            raise ResultTooLarge(
                f"the query needed more than the memory limit of {self._bounds.memory_mb} MB "
                "and was stopped; narrow it or add a LIMIT"
            )
        if reply[0] == "stream":
            return self._stream(worker, reply[1], reply[2], limit)
        self._idle.put(worker)
        return _unwrap(reply)

    def _take(self, deadline: float, limit: float) -> _Worker:
        """Return a free worker, waiting for one if the wait queue has room."""
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
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
            return self._idle.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise QueryTimeout(f"no query worker became free within {limit:g} s") from None
        finally:
            with self._lock:
                self._waiting -= 1

    def _stream(self, worker: _Worker, head: Answer, size: int, limit: float) -> Answer:
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
                return worker.receive_bytes(time.monotonic() + limit)
            except _WorkerTimeout:
                broken = True
                raise QueryTimeout(f"the result stopped arriving for {limit:g} s") from None
            except _WorkerDied as died:
                broken = crashed = True
                raise EngineUnavailable(f"the query worker stopped mid-answer ({died})") from None

        def done(left: int) -> None:
            nonlocal broken
            try:
                while not broken and left > 0:  # a client that went away: drain its answer
                    left -= len(worker.receive_bytes(time.monotonic() + limit))
                if not broken:
                    worker.call(None, time.monotonic() + limit)  # the worker's closing ("end",)
            except (_WorkerTimeout, _WorkerDied):
                broken = True
            if broken:
                self._replace(worker, crashed=crashed)
            else:
                self._idle.put(worker)

        return replace(head, stream=stream.ResultStream(size, read, done))

    def _replace(self, worker: _Worker, *, crashed: bool) -> None:
        worker.kill()
        with self._lock:
            self._workers.discard(worker)
            self._counts["crashes"] += crashed
            if self._closed:
                return
            self._counts["restarts"] += 1
        self._idle.put(self._spawn())

    def _spawn(self) -> _Worker:
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
        worker = _Worker(process, parent_end)
        with self._lock:
            self._workers.add(worker)
        return worker

    def _count(self, name: str) -> None:
        with self._lock:
            self._counts[name] += 1


class _WorkerTimeout(Exception):
    pass


class _WorkerDied(Exception):
    pass


class _Worker:
    """The parent's handle on one worker process."""

    def __init__(self, process: Any, conn: Connection) -> None:
        self.process = process
        self.conn = conn
        self.pid: int = process.pid
        self.ready = False

    def call(self, message: tuple[str, Any] | None, deadline: float) -> tuple[Any, ...]:
        """Send one message (None: none) and wait for its reply until ``deadline``."""
        try:
            if not self.ready:
                self._receive(deadline)  # the worker's engine is built before it says "ready"
                self.ready = True
            if message is not None:
                self.conn.send(message)
            return self._receive(deadline)
        except (EOFError, OSError) as exc:
            raise _WorkerDied(self._how_it_died()) from exc

    def receive_bytes(self, deadline: float) -> bytes:
        """Return the next piece of a streamed answer, waiting until ``deadline``."""
        try:
            if not self.conn.poll(max(0.0, deadline - time.monotonic())):
                raise _WorkerTimeout
            return self.conn.recv_bytes()
        except (EOFError, OSError) as exc:
            raise _WorkerDied(self._how_it_died()) from exc

    def _receive(self, deadline: float) -> tuple[Any, ...]:
        if not self.conn.poll(max(0.0, deadline - time.monotonic())):
            raise _WorkerTimeout
        reply: tuple[Any, ...] = self.conn.recv()
        if reply[0] == "fatal":
            raise _WorkerDied(f"the engine could not start: {reply[1]}")
        return reply

    def _how_it_died(self) -> str:
        self.process.join(timeout=1.0)
        code = self.process.exitcode
        if code is None:
            return "no reply"
        if code < 0:
            return f"killed by signal {signal.Signals(-code).name}"
        return f"exit code {code}"

    def kill(self) -> None:
        """Kill the process, reap it and close the pipe."""
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.join(timeout=5.0)
        with _PARENT_ENDS_LOCK:
            _PARENT_ENDS.discard(self.conn)
        self.conn.close()


def _unwrap(reply: tuple[Any, ...]) -> Any:
    kind = reply[0]
    if kind == "ok":
        return reply[1]
    if kind == "error":
        raise reply[1]  # an AigraphError pickles with its state (AigraphError.__reduce__)
    raise RuntimeError(f"the query worker failed:\n{reply[1]}")
