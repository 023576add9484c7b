"""The front door's keep-alive fast path: after an answer the request thread reads the client's
next request itself; whatever it cannot finish goes back to the event loop and its deadlines.

Raw sockets against a live ``aigraph serve`` on 127.0.0.1 (2-second header and body deadlines).
"""

from __future__ import annotations

import http.client
import json
import socket
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlsplit

import pytest

from conftest import LiveServer

TRUE = "ASK { ?s ?p ?o }"
FALSE = "ASK { FILTER(false) }"
SELECT = "SELECT ?s WHERE { ?s ?p ?o } LIMIT 3"


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    live = LiveServer(
        "--no-validate", env={"AIGRAPH_HEADER_TIMEOUT": "2", "AIGRAPH_BODY_TIMEOUT": "2"}
    )
    yield live
    live.stop()


def connect(url: str) -> socket.socket:
    parts = urlsplit(url)
    assert parts.hostname and parts.port
    sock = socket.create_connection((parts.hostname, parts.port), timeout=15)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def get(query: str) -> bytes:
    return (
        f"GET /sparql?query={quote(query)} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Accept: application/sparql-results+json\r\n\r\n"
    ).encode()


def post(query: str) -> bytes:
    body = query.encode()
    return (
        b"POST /sparql HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/sparql-query\r\nAccept: application/sparql-results+json\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )


class Replies:
    """Read answers one after another from one connection (one buffer for all of them)."""

    def __init__(self, sock: socket.socket) -> None:
        self.file = sock.makefile("rb")
        self.file.close = lambda: None  # type: ignore[method-assign] # each answer would close it

    def makefile(self, mode: str) -> Any:
        return self.file

    def next(self) -> tuple[int, Any]:
        response = http.client.HTTPResponse(self)  # type: ignore[arg-type]
        response.begin()
        return response.status, json.loads(response.read())


def test_requests_in_a_row_on_one_connection_get_their_own_answers(server):
    sock = connect(server.url)
    replies = Replies(sock)
    try:
        for round_ in range(15):
            for query, kind in ((TRUE, True), (SELECT, "rows"), (FALSE, False)):
                sock.sendall(post(query) if round_ % 2 else get(query))
                status, answer = replies.next()
                assert status == 200
                if kind == "rows":
                    assert len(answer["results"]["bindings"]) == 3
                else:
                    assert answer["boolean"] is kind
    finally:
        sock.close()


def test_pipelined_requests_are_answered_in_order(server):
    sock = connect(server.url)
    replies = Replies(sock)
    try:
        sock.sendall(get(FALSE) + post(SELECT) + get(TRUE) + post(FALSE))
        assert replies.next() == (200, {"head": {}, "boolean": False})
        status, rows = replies.next()
        assert status == 200 and len(rows["results"]["bindings"]) == 3
        assert replies.next() == (200, {"head": {}, "boolean": True})
        assert replies.next() == (200, {"head": {}, "boolean": False})
    finally:
        sock.close()


def test_a_request_sent_in_two_parts_after_an_answer_is_finished_by_the_event_loop(server):
    sock = connect(server.url)
    replies = Replies(sock)
    try:
        sock.sendall(get(TRUE))
        assert replies.next()[0] == 200
        request = post(SELECT)
        half = len(request) // 2
        sock.sendall(request[:half])  # the head, cut: more than the 2 ms the fast path waits
        time.sleep(0.3)
        sock.sendall(request[half:])
        status, rows = replies.next()
        assert status == 200 and len(rows["results"]["bindings"]) == 3
        sock.sendall(get(FALSE))  # and the connection goes on
        assert replies.next() == (200, {"head": {}, "boolean": False})
    finally:
        sock.close()


def test_a_stalled_next_request_is_closed_at_the_header_deadline(server):
    sock = connect(server.url)
    replies = Replies(sock)
    try:
        sock.sendall(get(TRUE))
        assert replies.next()[0] == 200
        sock.sendall(b"GET /sparql?query=ASK%7B%7D HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # no end
        started = time.monotonic()
        sock.settimeout(15)
        assert sock.recv(65536) == b""  # closed by the server, with no answer
        assert time.monotonic() - started < 12
    finally:
        sock.close()


def test_an_oversized_next_request_gets_413_and_the_connection_closes(server):
    sock = connect(server.url)
    replies = Replies(sock)
    try:
        sock.sendall(get(TRUE))
        assert replies.next()[0] == 200
        sock.sendall(
            b"POST /sparql HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/sparql-query\r\nContent-Length: 999999999\r\n\r\n"
        )
        status, answer = replies.next()
        assert status == 413 and answer["error"] == "payload-too-large"
        sock.settimeout(15)
        assert sock.recv(65536) == b""
    finally:
        sock.close()
