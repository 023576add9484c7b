"""Answers written in a query worker, bounded in bytes, and sent to the client in chunks.

The worker writes the whole answer in its own memory (bounded by its memory limit and by
``max_result_bytes``, checked before anything is sent, so an over-limit answer is still a clean
error). An answer of up to ``INLINE`` bytes then travels in one message; a larger one goes
through the worker's pipe in ``CHUNK``-byte pieces, which the server process forwards as they
arrive, never holding more than one of them per response.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator

from rdflib import XSD, Literal, URIRef
from rdflib.term import Identifier

from .. import formats, results
from ..errors import NotAcceptable, ResultTooLarge
from ..formats import Offer
from .base import Answer, QueryResult

#: Bytes per piece sent through a worker's pipe.
CHUNK = 64 * 1024
#: Largest answer sent as one message (held whole by the server, briefly); larger ones stream.
INLINE = 1024 * 1024


def configure(piece_bytes: int, threshold_bytes: int) -> None:
    """Set ``CHUNK`` and ``INLINE``. Call it before query workers start (they inherit them)."""
    global CHUNK, INLINE
    CHUNK, INLINE = max(1, piece_bytes), max(0, threshold_bytes)


class ResultStream:
    """The server side of one streamed answer: iterate it once, then close it.

    ``read`` returns the next piece (or raises when the worker stalls or dies); ``done`` is
    told how many bytes were left unread when the stream ended, was closed or was dropped, so
    that the worker is reused only at the end of its answer.
    """

    def __init__(self, size: int, read: Callable[[], bytes], done: Callable[[int], None]) -> None:
        self.size = size
        self._read = read
        self._done: Callable[[int], None] | None = done
        self._left = size
        self._callbacks: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    def __iter__(self) -> Iterator[bytes]:
        while self._left > 0:
            try:
                chunk = self._read()
            except BaseException:
                self._finish()
                raise
            self._left -= len(chunk)
            yield chunk
        self._finish()

    def on_close(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once, when the stream ends or is closed."""
        with self._lock:
            if self._done is not None:
                self._callbacks.append(callback)
                return
        callback()

    def close(self) -> None:
        """Release the worker (reading and dropping what is left of the answer)."""
        self._finish()

    def __del__(self) -> None:
        # A stream dropped unread (an error after the response was built) must not leak its
        # worker. The garbage collector may run this in a thread holding the pool's locks, so
        # the worker is released from a thread of its own.
        if self._done is not None:
            release = threading.Thread(target=self._finish, name="aigraph-stream-release")
            release.daemon = True
            with contextlib.suppress(RuntimeError):  # no new threads at interpreter exit
                release.start()

    def _finish(self) -> None:
        with self._lock:
            done, self._done = self._done, None
            callbacks, self._callbacks = self._callbacks, []
        if done is None:
            return
        try:
            done(max(0, self._left))
        finally:
            for callback in callbacks:
                callback()


def bounded(result: QueryResult, max_bytes: int) -> QueryResult:
    """Return ``result`` if its terms (what travels, unwritten) fit in ``max_bytes`` (0: any)."""
    if max_bytes and (size := term_bytes(result)) > max_bytes:
        raise _too_large(f"holds about {size} bytes", max_bytes)
    return result


def written(result: QueryResult, offer: Offer, max_bytes: int) -> Answer:
    """Return ``result`` written in ``offer``, within ``max_bytes`` (0: any).

    Raises ``ResultTooLarge`` for an answer over the limit: early if it cannot fit in any
    format, else once written.
    """
    if max_bytes and (least := least_bytes(result)) > max_bytes:
        raise _too_large(f"takes at least {least} bytes", max_bytes)
    answer = serialized(result, offer)
    if max_bytes and answer.body and (size := len(answer.body)) > max_bytes:
        raise _too_large(f"is {size} bytes in {offer.name}", max_bytes)
    return answer


def serialized(result: QueryResult, offer: Offer) -> Answer:
    """Return the result as bytes in ``offer``, written here rather than in the server.

    The server process then only forwards bytes: no terms to unpickle, and the writing runs in
    parallel across workers instead of in the one server process. An offer that cannot write
    this form of result (negotiated for another form) is a bug, never a silent fallback.
    """
    if offer not in formats.offers_for(result.form):
        raise NotAcceptable(f"{offer.name} cannot write the answer to a {result.form} query")
    return Answer(
        offer=offer,
        form=result.form,
        count=result.count,
        truncated=result.truncated,
        limit=result.limit,
        body=results.serialize(result, offer),
    )


def _too_large(size: str, max_bytes: int) -> ResultTooLarge:
    return ResultTooLarge(
        f"the result {size}, over the limit of {max_bytes} bytes (max_result_bytes); "
        "narrow the query or add a LIMIT"
    )


def term_bytes(result: QueryResult) -> int:
    """Return roughly how many bytes the result's terms take (what an unwritten answer carries)."""
    if result.form in ("construct", "describe"):
        return sum(len(t) for quad in result.triples for t in quad if isinstance(t, Identifier))
    return sum(len(term) for row in result.rows for term in row.values())


def least_bytes(result: QueryResult) -> int:
    """Return a lower bound of the size of ``result`` in any serialisation format.

    Every results format writes each IRI and literal of each row in full; every graph format
    writes the text of each plain string literal of each distinct triple at least once
    (IRIs may be abbreviated, other literals put in a short form). Escaping only adds to it.
    """
    if result.form in ("construct", "describe"):
        objects = {(s, p, o) for s, p, o, _ in result.triples}
        return sum(len(o) for _, _, o in objects if isinstance(o, Literal) and _plain_string(o))
    return sum(
        len(term)
        for row in result.rows
        for term in row.values()
        if isinstance(term, URIRef | Literal)
    )


def _plain_string(term: Literal) -> bool:
    return term.datatype is None or term.datatype == XSD.string
