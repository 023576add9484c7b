"""The hop between the server and a query worker: frames on the worker's pipe, both ends.

A frame is two lengths (a pickled header, raw bytes), the header, then the bytes, read and
written with ``os.read``/``os.write`` on the pipe's file descriptor (one ``poll`` object per
pipe, kept). A request is one frame of plain values (the offer as its index in ``formats``, the
server's check as its form: no dataclass to pickle); a written answer is one frame of its header
and its bytes, never a second message; a large one is a header, raw pieces and an end.
``WorkerHandle`` is the server's end of one worker: call, read pieces, tell death from silence.
"""

from __future__ import annotations

import io
import math
import os
import pickle
import select
import signal
import struct
import time
from multiprocessing.connection import Connection
from typing import Any

from .. import errors, formats
from ..errors import EngineUnavailable
from ..formats import Offer
from .base import Answer, DatasetSpec, QueryRequest

_FRAME = struct.Struct("!II")
#: All negotiable offers, the same objects in the server and in the workers it forks.
_OFFERS: tuple[Offer, ...] = formats.RESULTS + formats.GRAPH
#: Bodies up to this size are written together with their frame's header (one system call).
_JOIN = 64 * 1024
_READ = 256 * 1024


#: The only classes and functions a header may name (besides plain values and the errors of
#: ``aigraph.errors``): a worker is sandboxed because it may be subverted, so what it sends
#: must not be able to run code in the server.
_HEADER_NAMES = {
    ("aigraph.model", "QueryResult"),
    ("aigraph.formats", "Offer"),
    ("aigraph.model", "DatasetSpec"),
    ("aigraph.errors", "_rebuild"),
    ("rdflib.term", "URIRef"),
    ("rdflib.term", "Literal"),
    ("rdflib.term", "BNode"),
}


class _HeaderUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        found = getattr(errors, name, None) if module == "aigraph.errors" else None
        is_error = isinstance(found, type) and issubclass(found, errors.AigraphError)
        if (module, name) not in _HEADER_NAMES and not is_error:
            raise pickle.UnpicklingError(
                f"a frame named {module}.{name}, which the hop never sends"
            )
        return super().find_class(module, name)


def _loads(data: bytes) -> Any:
    """Return the header pickled in ``data``, built only from the hop's own types."""
    try:
        return _HeaderUnpickler(io.BytesIO(data)).load()
    except pickle.UnpicklingError:
        raise
    except Exception as exc:  # noqa: BLE001 - whatever a malformed pickle raises
        raise pickle.UnpicklingError(str(exc)) from None


def offer_key(offer: Offer) -> int | Offer:
    """Return the index of ``offer`` in the offers table, or the offer itself if not there."""
    for index, known in enumerate(_OFFERS):
        if known is offer:
            return index
    return offer


def offer_of(key: int | Offer) -> Offer:
    """Return the offer an ``offer_key`` stands for."""
    return _OFFERS[key] if isinstance(key, int) else key


def encode_request(request: QueryRequest, offer: Offer | None) -> tuple[Any, ...]:
    """Return ``request``, to be written in ``offer`` (None: terms), as a message of plain values
    (quick to pickle and to read)."""
    data = request.dataset
    return (
        "query",
        request.text,
        data.default_graphs,
        data.named_graphs,
        dict(request.bindings) or None,
        request.base,
        request.max_rows,
        request.timeout,
        None if offer is None else offer_key(offer),
        None if request.checked is None else request.checked.form,
    )


def decode_request(message: tuple[Any, ...]) -> QueryRequest:
    """Return the request of an ``encode_request`` message (its check is ``_recheck``'s)."""
    _, text, default, named, bindings, base, max_rows, timeout, offer, _ = message
    return QueryRequest(
        text,
        DatasetSpec(default, named) if default is not None or named is not None else DatasetSpec(),
        bindings or {},
        base,
        max_rows,
        timeout,
        None if offer is None else offer_of(offer),
    )


class Channel:
    """One end of a worker's pipe, read and written as raw frames on its file descriptor."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._buffer = bytearray()
        self._poll = select.poll()
        self._poll.register(fd, select.POLLIN)  # hang-ups and errors are always reported

    def send(self, header: tuple[Any, ...] | None, body: bytes | memoryview = b"") -> None:
        """Write one frame (``header`` None: raw bytes only, a piece of a streamed answer)."""
        head = b"" if header is None else pickle.dumps(header, pickle.HIGHEST_PROTOCOL)
        prefix = _FRAME.pack(len(head), len(body)) + head
        if len(body) <= _JOIN:
            _write(self.fd, prefix + body)
        else:
            _write(self.fd, prefix)
            _write(self.fd, body)

    def receive(self, deadline: float | None = None) -> tuple[Any, bytes]:
        """Return the next frame's header (None for raw bytes) and bytes.

        Raise ``TimeoutError`` if it is not whole by ``deadline`` (None: wait), ``EOFError``
        if the other end is gone.
        """
        buffer = self._buffer
        while True:
            if len(buffer) >= _FRAME.size:
                head, size = _FRAME.unpack_from(buffer)
                end = _FRAME.size + head + size
                if len(buffer) >= end:
                    header = None
                    if head:
                        header = _loads(bytes(buffer[_FRAME.size : _FRAME.size + head]))
                    body = bytes(buffer[_FRAME.size + head : end])
                    del buffer[:end]
                    return header, body
                wanted = end - len(buffer)
            else:
                wanted = _READ
            if deadline is not None and not self.wait(deadline - time.monotonic()):
                raise TimeoutError
            chunk = os.read(self.fd, max(wanted, _READ))
            if not chunk:
                raise EOFError
            buffer += chunk

    def wait(self, timeout: float) -> bool:
        """Tell whether there is something to read (or an end) within ``timeout`` seconds."""
        return bool(self._poll.poll(math.ceil(max(0.0, timeout) * 1000)))

    def pending(self) -> bool:
        """Tell whether the other end said something or hung up (a frame or an end waits)."""
        return bool(self._buffer) or bool(self._poll.poll(0))


def _write(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class WorkerTimeout(Exception):
    pass


class WorkerDied(Exception):
    """The worker is gone; ``delivered``: it had the query (else it died before getting it)."""

    def __init__(self, how: str, *, delivered: bool) -> None:
        super().__init__(how)
        self.how = how
        self.delivered = delivered


class WorkerHandle:
    """The parent's handle on one worker process."""

    def __init__(self, process: Any, conn: Connection) -> None:
        self.process = process
        self.conn = conn  # kept open: its file descriptor is the channel's
        self.channel = Channel(conn.fileno())
        self.pid: int = process.pid
        self.ready = False

    def call(
        self, message: tuple[Any, ...] | None, deadline: float
    ) -> tuple[tuple[Any, ...], bytes]:
        """Send one message (None: none) and wait for its reply until ``deadline``."""
        if not self.ready:
            try:
                self._receive(deadline)  # the worker's engine is built before it says "ready"
            except (EOFError, OSError) as exc:
                raise WorkerDied(self._how_it_died(), delivered=False) from exc
            self.ready = True
        if message is not None:
            try:
                self.channel.send(message)
            except OSError as exc:  # EPIPE: it was gone before it got the message
                raise WorkerDied(self._how_it_died(), delivered=False) from exc
        try:
            return self._receive(deadline)
        except (EOFError, OSError) as exc:
            raise WorkerDied(self._how_it_died(), delivered=True) from exc

    def receive_piece(self, deadline: float) -> bytes:
        """Return the next piece of a streamed answer, waiting until ``deadline``."""
        try:
            return self._receive(deadline, piece=True)[1]
        except (EOFError, OSError) as exc:
            raise WorkerDied(self._how_it_died(), delivered=True) from exc

    def hung_up(self) -> bool:
        """Tell whether an idle, ready worker is gone (it never speaks unasked)."""
        return self.ready and self.channel.pending()

    def _receive(self, deadline: float, piece: bool = False) -> tuple[Any, bytes]:
        try:
            header, body = self.channel.receive(deadline)
        except TimeoutError:
            raise WorkerTimeout from None
        except pickle.UnpicklingError as exc:  # a subverted worker: killed like a dead one
            raise WorkerDied(f"it sent a malformed frame: {exc}", delivered=True) from None
        if header is None and not piece:
            raise OSError("the query worker sent bytes out of turn")
        if header is not None and header[0] == "fatal":
            raise WorkerFailed(f"the engine could not start: {header[1]}")
        return header, body

    def _how_it_died(self) -> str:
        self.process.join(timeout=1.0)
        code = self.process.exitcode
        if code is None:
            return "no reply"
        if code < 0:
            return f"killed by signal {signal.Signals(-code).name}"
        return f"exit code {code}"

    def kill(self) -> None:
        """Kill the process, reap it and close the pipe (the pool forgets the pipe first)."""
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.join(timeout=5.0)
        self.conn.close()


class WorkerFailed(EngineUnavailable):
    """A fresh worker could not build its engine or sandbox: not a death to retry."""


def decode_answer(header: tuple[Any, ...], body: bytes | None) -> Answer:
    """Return the ``Answer`` of an "answer" or "stream" header (and the answer's bytes)."""
    offer, form, count, truncated, limit = header[1:6]
    return Answer(offer_of(offer), form, count, truncated, limit, body)
