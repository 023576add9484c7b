"""Run queries in worker processes so a runaway or crashing query cannot hurt the server.

Each worker is forked from the server, so it shares the loaded data copy-on-write, and serves
one query at a time over a pipe. A query past its time limit is stopped by killing its worker
(the only way to stop rdflib's pure-Python evaluation or an oxigraph query); a worker that dies
(oxigraph aborts the process on some inputs) fails only its own query. Either way a fresh
worker takes its place. Workers exit when the server process dies.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import resource
import signal
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from typing import Any

from rdflib import URIRef

from ..errors import AigraphError, EngineUnavailable, Overloaded, QueryTimeout, ResultTooLarge
from ..formats import Offer
from . import guard, sandbox, stream
from .base import Answer, CheckedQuery, Engine, QueryRequest, QueryResult

#: Parent ends of every worker pipe in this process; a new worker closes its copies of them,
#: so a worker sees end-of-file when the server goes away.
_PARENT_ENDS: set[Connection] = set()
_PARENT_ENDS_LOCK = threading.Lock()
_PARENT_POLL_S = 1.0


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
                target=_serve,
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


@dataclass(frozen=True)
class Bounds:
    """What one query may take in a worker: memory (MB) and result size (bytes); 0 = unbounded.

    Workers run in a kernel sandbox (``sandbox.confine``): no network unless ``network`` (only
    the remote-backend engine needs it), and only ``readable`` (besides Python's own files)
    may be read, never written.
    """

    memory_mb: int = 0
    result_bytes: int = 0
    network: bool = False
    readable: tuple[str, ...] = ()
    #: With ``network``: the only TCP ports it may connect to (empty: any).
    ports: tuple[int, ...] = ()


def _serve(
    conn: Connection,
    factory: Callable[[], Engine],
    parent: int,
    inherited: list[Connection],
    bounds: Bounds,
) -> None:
    """Worker main loop: confine itself, build the engine, then answer one message at a time."""
    for end in inherited:
        end.close()
    try:  # first, while this process has one thread: every later thread inherits it
        confined = sandbox.confine(
            network=bounds.network, readable=bounds.readable, ports=bounds.ports
        )
    except OSError as exc:
        conn.send(("fatal", f"the query worker could not be sandboxed: {exc}"))
        return
    if confined.missing and len(inherited) == 1:  # the pool's first worker says it once
        logging.getLogger("aigraph.sandbox").warning("SANDBOX INCOMPLETE: %s", confined.describe())
    # The server decides when workers stop; its own signal handlers are not ours.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.environ["RUST_BACKTRACE"] = "0"  # an engine abort is reported once, by the parent
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    try:
        engine = factory()
    except BaseException:  # noqa: BLE001 - reported to the parent, which raises it
        conn.send(("fatal", traceback.format_exc(limit=5)))
        return
    _limit_memory(bounds.memory_mb)
    conn.send(("ready",))
    while True:
        try:
            kind, payload = conn.recv()
        except (EOFError, OSError):
            return
        reply = _answer(engine, kind, payload, bounds.result_bytes, conn)
        try:
            conn.send(reply)
        except (EOFError, OSError):
            return
        except Exception:  # noqa: BLE001 - an unpicklable result is a bug to report
            conn.send(("bug", traceback.format_exc()))


def _limit_memory(budget_mb: int) -> None:
    """Let this worker allocate at most ``budget_mb`` more than it holds now."""
    if budget_mb <= 0:
        return
    with open("/proc/self/status", encoding="ascii") as status:
        data_kb = next(int(line.split()[1]) for line in status if line.startswith("VmData:"))
    limit = data_kb * 1024 + budget_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))


def _answer(
    engine: Engine, kind: str, payload: Any, max_bytes: int = 0, conn: Connection | None = None
) -> tuple[Any, ...]:
    """Answer one message; a large serialised answer is streamed through ``conn`` first."""
    reply = _reply(engine, kind, payload, max_bytes)
    if conn is not None and reply[0] == "ok" and isinstance(reply[1], Answer):
        answer = reply[1]
        if answer.body is not None and len(answer.body) > stream.INLINE:
            return stream.send(conn, answer)
    return reply


def _reply(engine: Engine, kind: str, payload: Any, max_bytes: int) -> tuple[Any, ...]:
    try:
        if kind == "query":
            request = _recheck(engine, payload)
            result = engine.query(request)
            if request.format is None:
                return ("ok", stream.bounded(result, max_bytes))
            return ("ok", stream.written(result, request.format, max_bytes))
        return ("ok", (engine.name, tuple(engine.graph_names()), engine.triple_count()))
    except MemoryError:
        # The interpreter is not to be trusted after a MemoryError: the parent replaces us.
        return ("out-of-memory",)
    except AigraphError as error:
        return ("error", error)
    except Exception:  # noqa: BLE001 - a bug: the parent raises it as a 500 and logs it
        return ("bug", traceback.format_exc())


def _recheck(engine: Engine, request: QueryRequest) -> QueryRequest:
    """Check the query again, here in the worker; return the request with this check.

    Defence in depth: the worker is the sandboxed side, so it does not take the server's check
    on trust (a bug there, or a request built without it, must not reach the engine unchecked).
    The engine then uses this check and does not scan the text a third time.
    """
    rechecked = engine.check(request.text)
    if request.checked is not None and request.checked.form != rechecked.form:
        raise RuntimeError(
            f"the server checked a {request.checked.form} query, the worker a {rechecked.form}"
        )
    return replace(request, checked=rechecked)


def _exit_with_parent(parent: int) -> None:
    while True:
        time.sleep(_PARENT_POLL_S)
        if os.getppid() != parent:
            os._exit(1)
