"""The query worker process: confine itself, build the engine, answer one message at a time.

This is the sandboxed side of the pool in ``isolated.py``. Each worker is forked from the
server, confines itself with ``sandbox.confine`` while it still has one thread, checks every
query again (it does not take the server's check on trust), answers within its memory limit
and streams large serialised answers through its pipe. It exits when the server dies.
"""

from __future__ import annotations

import logging
import os
import pickle
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
from .hop import Channel, decode_request, offer_key

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
    channel = Channel(conn.fileno())
    try:  # first, while this process has one thread: every later thread inherits it
        confined = sandbox.confine(
            network=bounds.network, readable=bounds.readable, ports=bounds.ports
        )
    except OSError as exc:
        channel.send(("fatal", f"the query worker could not be sandboxed: {exc}"))
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
        channel.send(("fatal", traceback.format_exc(limit=5)))
        return
    _limit_memory(bounds.memory_mb)
    channel.send(("ready",))
    while True:
        try:
            message, _ = channel.receive()
        except (EOFError, OSError):
            return
        try:
            _answer(engine, message, bounds.result_bytes, channel)
        except (EOFError, OSError):
            return


def _limit_memory(budget_mb: int) -> None:
    """Let this worker allocate at most ``budget_mb`` more than it holds now."""
    if budget_mb <= 0:
        return
    with open("/proc/self/status", encoding="ascii") as status:
        data_kb = next(int(line.split()[1]) for line in status if line.startswith("VmData:"))
    limit = data_kb * 1024 + budget_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))


def _answer(engine: Engine, message: tuple[Any, ...], max_bytes: int, channel: Channel) -> None:
    """Answer one message through ``channel``; a large written answer is streamed in pieces."""
    reply = _reply(engine, message, max_bytes)
    if reply[0] != "ok" or not isinstance(reply[1], Answer):
        try:
            channel.send(reply)
        except (pickle.PicklingError, TypeError, AttributeError):  # a bug to report
            channel.send(("bug", traceback.format_exc()))
        return
    answer = reply[1]
    body = answer.body or b""
    head = (offer_key(answer.offer), answer.form, answer.count, answer.truncated, answer.limit)
    if len(body) <= stream.INLINE:
        channel.send(("answer", *head), body)  # one frame: header and body, no second trip
        return
    channel.send(("stream", *head, len(body)))
    view = memoryview(body)
    for start in range(0, len(body), stream.CHUNK):
        channel.send(None, view[start : start + stream.CHUNK])
    channel.send(("end",))


def _reply(engine: Engine, message: tuple[Any, ...], max_bytes: int) -> tuple[Any, ...]:
    try:
        if message[0] == "query":
            request = _recheck(engine, decode_request(message), message[-1])
            result = engine.query(request)
            if request.format is None:
                return ("ok", stream.bounded(result, max_bytes))
            return ("ok", stream.written(result, request.format, max_bytes))
        if message[0] == "graphs":  # as plain strings: quicker to pickle than terms
            return ("ok", [str(name) for name in engine.graph_names()])
        return ("ok", (engine.name, engine.triple_count(), engine.graph_count()))
    except MemoryError:
        # The interpreter is not to be trusted after a MemoryError: the parent replaces us.
        return ("out-of-memory",)
    except AigraphError as error:
        return ("error", error)
    except Exception:  # noqa: BLE001 - a bug: the parent raises it as a 500 and logs it
        return ("bug", traceback.format_exc())


def _recheck(engine: Engine, request: QueryRequest, form: str | None) -> QueryRequest:
    """Check the query again, here in the worker; return the request with this check.

    Defence in depth: the worker is the sandboxed side, so it does not take the server's check
    (which found a query of ``form``) on trust: a bug there, or a request built without it, must
    not reach the engine unchecked. The engine then uses this check and does not scan the text
    a third time.
    """
    rechecked = engine.check(request.text)
    if form is not None and form != rechecked.form:
        raise RuntimeError(f"the server checked a {form} query, the worker a {rechecked.form}")
    return replace(request, checked=rechecked)


def _exit_with_parent(parent: int) -> None:
    while True:
        time.sleep(_PARENT_POLL_S)
        if os.getppid() != parent:
            os._exit(1)
