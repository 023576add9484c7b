"""The front door: waitress's server and channel, hardened so that no client can exhaust them.

- Each request must deliver its headers within ``header_timeout`` seconds (counted from the
  connection's opening, or from the end of the previous response) and its body within
  ``body_timeout`` seconds after the headers: total time, not inactivity, so a byte every few
  seconds does not keep a connection alive. Late connections are closed.
- Each client (an IPv4 address, an IPv6 /64) may hold ``max_client_connections`` connections;
  more are closed at accept, before any byte is read.
- The event loop uses ``poll()`` (no 1024-descriptor ceiling) and the overall connection limit
  is high; ``web/server.py`` lifts the process's descriptor limit to match.
- The body limit is checked from ``Content-Length`` as soon as the headers are in: an oversized
  request gets 413 at once, never ``100 Continue``, and its body is not read. A chunked body is
  cut off with 413 once its decoded size passes the limit. ``Content-Length`` together with
  ``Transfer-Encoding`` gets 400. Every such answer closes the connection and uses the one error
  body shape of ``web/errors.py``.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import logging
import select
import socket
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser, ParsingError, TransferEncodingNotImplemented
from waitress.server import TcpWSGIServer
from waitress.task import ErrorTask, ThreadedTaskDispatcher, WSGITask
from waitress.utilities import RequestEntityTooLarge

from aigraph import formats, logs
from aigraph.errors import HTTP_KINDS, UsageError

log = logging.getLogger("aigraph.frontdoor")

#: Connections accepted per readiness event: a burst is taken in a few loop turns.
_ACCEPT_BATCH = 64
#: A first body piece up to this size leaves in one send with the response head.
_JOIN_HEAD_UP_TO = 64 * 1024
#: After an answer the request thread waits this long (ms) for the client's next request on
#: the connection, and answers a complete one itself: no event-loop turn, no thread hand-off.
_NEXT_REQUEST_WAIT_MS = 2
#: ... at most this many in a row, and only while no other connection waits for a thread:
#: otherwise the connection goes to the back of waitress's task queue (fair to other clients).
_INLINE_MAX = 32


@dataclass
class FrontDoor:
    """The limits of the front door, and where it counts what it refused."""

    header_timeout: float
    body_timeout: float
    max_body: int
    max_client_connections: int
    #: Addresses never capped per client (a trusted reverse proxy speaks for many clients).
    exempt: frozenset[str] = frozenset()
    #: ``count(*names)`` of the app's metrics, so front-door answers show in /stats.
    count: Any = None
    refused: int = 0
    timed_out: int = 0
    #: When the last "connection refused" warning was logged (time.monotonic()).
    last_warning: float = field(default=0.0, repr=False)

    def note(self, *names: str) -> None:
        if self.count is not None:
            self.count(*names)


def create_server(application: Any, front: FrontDoor, **adjustments: Any) -> FrontDoorServer:
    """Return a listening front-door server for ``application`` (waitress ``adjustments``)."""
    # The raw body count of waitress includes chunk framing; our own check counts decoded
    # bytes, so waitress's only catches bodies far beyond the limit.
    adjustments.setdefault("max_request_body_size", front.max_body * 4 + 64 * 1024)
    adj = Adjustments(
        asyncore_use_poll=True,
        # Deadlines are checked by the server's maintenance, once per loop turn at most.
        cleanup_interval=1,
        **adjustments,
    )
    if len(adj.listen) != 1:
        raise UsageError(f"host {adj.host!r} names several addresses; give one")
    dispatcher = ThreadedTaskDispatcher()
    dispatcher.set_thread_count(adj.threads)
    return FrontDoorServer(
        application, front, map={}, dispatcher=dispatcher, adj=adj, sockinfo=adj.listen[0]
    )


class FrontDoorParser(HTTPRequestParser):
    """Waitress's request parser with the body limit and framing checks made at the headers."""

    body_started = 0.0  # monotonic time the headers were complete

    def __init__(self, adj: Adjustments, max_body: int) -> None:
        super().__init__(adj)
        self.max_body = max_body

    def parse_header(self, header_plus: bytes) -> None:
        try:
            super().parse_header(header_plus)
        except TransferEncodingNotImplemented:
            self._refuse_ambiguous_length()
            raise
        if self.chunked or "TRANSFER_ENCODING" in self.headers:
            self._refuse_ambiguous_length()

    def _refuse_ambiguous_length(self) -> None:
        # Two framings of one body are how requests are smuggled past a proxy: refuse both.
        if "CONTENT_LENGTH" in self.headers:
            raise ParsingError("Content-Length and Transfer-Encoding must not be sent together")

    def received(self, data: bytes) -> int:
        had_headers = self.headers_finished
        consumed = super().received(data)
        if self.headers_finished and not had_headers:
            self.body_started = time.monotonic()
            if self.error is None and self.content_length > self.max_body:
                self._too_large()
        if (
            self.error is None
            and self.chunked
            and self.body_rcv is not None
            and len(self.body_rcv) > self.max_body
        ):
            self._too_large()
        if self.error is not None:
            # No 100 Continue for a refused request, and nothing after it on this connection
            # is read: the answer closes it.
            self.expect_continue = False
            self.connection_close = True
            return len(data)
        return consumed

    def _too_large(self) -> None:
        self.error = RequestEntityTooLarge(f"exceeds max_body of {self.max_body}")
        self.completed = True


class JsonErrorTask(ErrorTask):
    """Answer a request refused by the front door in the one error body shape."""

    def execute(self) -> None:
        error = self.request.error
        front: FrontDoor = self.channel.server.front
        kind, message = HTTP_KINDS.get(error.code, ("http-error", error.reason.lower()))
        if error.code == 400 and error.body:
            message = f"{message}: {str(error.body)[:200]}"
        message = message.format(max_body=front.max_body)
        request_id = logs.new_request_id()
        body = json.dumps(
            {"error": kind, "status": error.code, "message": message, "request_id": request_id},
            separators=(",", ":"),
        ).encode()
        front.note("errors", f"status_{error.code}")
        self.status = f"{error.code} {error.reason}"
        self.response_headers.extend([
            ("Content-Type", formats.JSON.media_type),
            ("X-Request-Id", request_id),
            ("X-Content-Type-Options", "nosniff"),
            ("Access-Control-Allow-Origin", "*"),
        ])  # fmt: skip
        self.set_close_on_finish()
        self.channel.linger_wanted = True
        self.content_length = len(body)
        self.write(body)


class FrontDoorTask(WSGITask):
    """Waitress's WSGI task, sending a small answer's head and body in one write (waitress
    sends them apart: two system calls and TCP segments, two wake-ups of the client)."""

    wrote_header: bool

    def write(self, data: bytes) -> None:
        if self.wrote_header or not data or not self.complete:
            super().write(data)
            return
        head = self.build_response_header()
        self.wrote_header = True
        cl = self.content_length
        if (
            not self.has_body
            or self.chunked_response
            or len(data) > _JOIN_HEAD_UP_TO
            or (cl is not None and len(data) > cl)
        ):
            self.channel.write_soon(head)
            super().write(data)  # waitress's rules for what is left (head already sent)
            return
        self.content_bytes_written += len(data)
        self.channel.write_soon(head + data)


class FrontDoorChannel(HTTPChannel):
    """One client connection, with header and body deadlines and a per-address count."""

    error_task_class = JsonErrorTask
    task_class = FrontDoorTask
    counted = False
    #: A refused request's body may still be coming: read and drop it before closing, so that
    #: the client, still sending, is not reset before it reads the answer.
    linger_wanted = False
    lingering_until: float | None = None

    def __init__(
        self,
        server: FrontDoorServer,
        sock: socket.socket,
        addr: Any,
        adj: Adjustments,
        map: dict[int, Any] | None = None,  # noqa: A002 - waitress's keyword
    ) -> None:
        self.parser_class = functools.partial(  # type: ignore[assignment]
            FrontDoorParser, max_body=server.front.max_body
        )
        super().__init__(server, sock, addr, adj, map=map)
        #: When the current header phase began: the connection opened or a response ended.
        self.waiting_since = time.monotonic()
        self.client = client_key(str(addr[0]))
        with server.count_lock:
            server.per_client[self.client] += 1
        self.counted = True

    #: This request thread reads the connection itself (the event loop leaves it alone).
    inline = False
    inline_thread = 0
    inline_ready = False
    inline_left = 0  # requests this thread may still answer in a row (FrontDoorServer.add_task)

    def service(self) -> None:
        me = threading.get_ident()
        self.inline, self.inline_thread, self.inline_left = True, me, _INLINE_MAX
        try:
            while True:
                self.inline_ready = False
                super().service()  # a pipelined request queued next sets inline_ready
                # The next request's header deadline counts from the end of this one.
                self.waiting_since = time.monotonic()
                if not (self.inline_ready or (self.inline_thread == me and self._take_next())):
                    break  # (inline_thread is not ``me`` once add_task queued the channel)
        finally:
            if self.inline_thread == me:
                self.inline = False
        self.server.pull_trigger()  # the event loop watches the connection again

    def _take_next(self) -> bool:
        """Wait ``_NEXT_REQUEST_WAIT_MS`` for the client's next request and read it here; return
        whether a whole one is queued for this thread. Anything else is the event loop's again
        (no data, part of a request, an error, the end of the stream), with its deadlines."""
        if (
            self.inline_left <= 0
            or self.server.task_dispatcher.queue  # others wait for a thread: do not keep it
            or self.requests
            or self.request is not None
            or self.will_close
            or self.close_when_flushed
            or self.total_outbufs_len
            or not self.connected
            or self.socket is None
        ):
            return False
        poller = select.poll()
        poller.register(self.socket.fileno(), select.POLLIN)
        if not poller.poll(_NEXT_REQUEST_WAIT_MS):
            return False
        try:
            data = self.socket.recv(self.adj.recv_bytes)
        except OSError:
            return False
        if not data:
            return False  # the end of the stream: the loop reads it again and closes
        self.last_activity = time.time()
        self.inline_ready = False
        self.received(data)  # a complete request sets inline_ready (FrontDoorServer.add_task)
        return self.inline_ready

    def readable(self) -> bool:
        if self.inline:
            return False
        return self.lingering_until is not None or bool(super().readable())

    def writable(self) -> bool:
        return self.lingering_until is None and bool(super().writable())

    def handle_read(self) -> None:
        if self.lingering_until is None:
            super().handle_read()
            return
        try:
            self.recv(65536)  # dropped; an end of stream closes the channel
        except OSError:
            self.close_now()

    def handle_close(self) -> None:
        if self.linger_wanted and self.lingering_until is None and self.socket is not None:
            try:
                # The answer is sent and ends here (FIN); the unread request is drained.
                self.socket.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            else:
                self.lingering_until = time.monotonic() + self.server.front.body_timeout
                self.will_close = self.close_when_flushed = False
                return
        super().handle_close()

    def close_now(self) -> None:
        """Close at once, without draining."""
        self.linger_wanted = False
        self.lingering_until = None
        super().handle_close()

    def overdue(self, now: float, front: FrontDoor) -> bool:
        """Return whether this connection is past its header or body deadline."""
        if self.lingering_until is not None:
            return now > self.lingering_until
        if self.requests or self.total_outbufs_len or self.will_close:
            # Being answered (query limits apply) or written to (waitress's idle timeout).
            self.waiting_since = now
            return False
        request = self.request
        if request is not None and request.headers_finished and not request.completed:
            return now - request.body_started > front.body_timeout
        return now - self.waiting_since > front.header_timeout

    def del_channel(self, map: dict[int, Any] | None = None) -> None:  # noqa: A002 - waitress's keyword
        if self.counted:
            self.counted = False
            self.server.forget(self.client)
        super().del_channel(map)


class FrontDoorServer(TcpWSGIServer):
    """Waitress's TCP server that caps connections per address and enforces deadlines."""

    channel_class = FrontDoorChannel

    def __init__(self, application: Any, front: FrontDoor, **kw: Any) -> None:
        self.front = front
        self.per_client: Counter[str] = Counter()
        self.count_lock = threading.Lock()
        super().__init__(application, **kw)

    def handle_accept(self) -> None:
        for _ in range(_ACCEPT_BATCH):
            try:
                accepted = self.accept()
            except OSError:
                return
            if accepted is None:
                return
            conn, addr = accepted
            if self._over_cap(client_key(str(addr[0]))):
                _reset(conn)
                continue
            try:
                self.set_socket_options(conn)
                self.channel_class(self, conn, addr, self.adj, map=self._map)
            except OSError:
                # The client went away between connect and accept.
                conn.close()
            if len(self._map) >= self.adj.connection_limit:
                return

    def add_task(self, task: Any) -> None:
        if (
            isinstance(task, FrontDoorChannel)
            and task.inline
            and task.inline_thread == threading.get_ident()
        ):
            if task.inline_left > 0 and not self.task_dispatcher.queue:
                task.inline_left -= 1
                task.inline_ready = True  # its own request thread answers it next
                return
            task.inline, task.inline_thread = False, 0  # to the back of the queue: fair
        super().add_task(task)

    def _over_cap(self, client: str) -> bool:
        front = self.front
        cap = front.max_client_connections
        if cap <= 0 or client in front.exempt or self.per_client[client] < cap:
            return False
        front.refused += 1
        now = time.monotonic()
        if now - front.last_warning > 10:
            front.last_warning = now
            log.warning(
                "connection from %s refused: it already holds %d (max_client_connections);"
                " %d refused so far",
                client,
                cap,
                front.refused,
            )
        return True

    def forget(self, client: str) -> None:
        with self.count_lock:
            self.per_client[client] -= 1
            if self.per_client[client] <= 0:
                del self.per_client[client]

    def maintenance(self, now: float) -> None:
        """Close idle channels (waitress) and channels past their header or body deadline."""
        super().maintenance(now)
        front = self.front
        clock = time.monotonic()
        for channel in list(self.active_channels.values()):
            if not isinstance(channel, FrontDoorChannel) or not channel.overdue(clock, front):
                continue
            if channel.lingering_until is not None:
                channel.close_now()
            else:
                front.timed_out += 1
                channel.will_close = True


def client_key(host: str) -> str:
    """Return what one client is counted as: its IPv4 address, or its IPv6 /64."""
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        # One IPv6 host is usually given a whole /64: count the /64 as one client.
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def _reset(conn: socket.socket) -> None:
    """Close ``conn`` with a reset: no TIME_WAIT state kept for a connection never served."""
    try:
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    conn.close()
