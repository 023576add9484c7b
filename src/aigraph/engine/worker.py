"""The query worker process: confine itself, build the engine, answer one message at a time.

This is the sandboxed side of the pool in ``isolated.py``. Each worker is forked from the
server, confines itself with ``sandbox.confine`` while it still has one thread, checks every
query again (it does not take the server's check on trust), answers within its memory limit
and streams large serialised answers through its pipe. It exits when the server dies.
"""

from __future__ import annotations

import logging
import os
import resource
import signal
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from typing import Any

from ..errors import AigraphError
from . import sandbox, stream
from .base import Answer, Engine, QueryRequest

#: How often a worker checks that the server that forked it is still there.
_PARENT_POLL_S = 1.0


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


def serve(
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
