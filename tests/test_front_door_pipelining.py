"""The front door stays fair under pipelining: one client keeping requests queued on many
keep-alive connections cannot hold every request thread, so other clients are still answered.

A live ``aigraph serve`` on 127.0.0.1 (16 request threads); the attacker uses raw sockets from
127.0.0.7, the victim ``http.client`` from 127.0.0.1.
"""

from __future__ import annotations

import http.client
import selectors
import socket
import threading
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from conftest import LiveServer

#: Keep-alive connections of the attacker: more than the server's request threads.
CONNECTIONS = 24
#: Requests each attacker connection keeps queued at the server.
PIPELINED = 20
#: How long the attack lasts (seconds); the victim asks for /healthz all along.
ATTACK = 8.0
REQUEST = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    live = LiveServer("--no-validate")
    yield live
    live.stop()


class Attacker(threading.Thread):
    """Pipelining client: each connection starts with PIPELINED requests in flight and sends
    a new one for every answer it reads, until ``stop`` is set."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        parts = urlsplit(url)
        assert parts.hostname and parts.port
        self.target = (parts.hostname, parts.port)
        self.stop = threading.Event()
        self.answers = 0
        self.sent = 0
        self.error: OSError | None = None

    def run(self) -> None:
        selector = selectors.DefaultSelector()
        socks = []
        try:
            for _ in range(CONNECTIONS):
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sock.bind(("127.0.0.7", 0))
                sock.connect(self.target)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                sock.sendall(REQUEST * PIPELINED)
                self.sent += PIPELINED
                socks.append(sock)
                selector.register(sock, selectors.EVENT_READ, [b""])
            while not self.stop.is_set():
                for key, _ in selector.select(0.2):
                    data = key.fileobj.recv(65536)  # type: ignore[union-attr]
                    if not data:
                        raise ConnectionError("the server closed an attacker connection")
                    # Count the status lines (a status line may be cut between two reads).
                    buffer = key.data[0] + data
                    new = buffer.count(b"HTTP/1.1 ")
                    key.data[0] = buffer[-8:]
                    if new:
                        self.answers += new
                        key.fileobj.sendall(REQUEST * new)  # type: ignore[union-attr]
                        self.sent += new
        except OSError as exc:  # reported by the test
            self.error = exc
        finally:
            for sock in socks:
                sock.close()
            selector.close()


def healthz(url: str) -> int:
    """GET /healthz on a new connection: its status, or 0 if no answer came in 20 seconds."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(
        parts.hostname, parts.port, timeout=20, source_address=("127.0.0.1", 0)
    )
    try:
        conn.request("GET", "/healthz")
        response = conn.getresponse()
        response.read()
        return response.status
    except TimeoutError:
        return 0
    finally:
        conn.close()


def test_a_pipelining_client_on_many_connections_does_not_starve_another(server):
    assert healthz(server.url) == 200
    attacker = Attacker(server.url)
    attacker.start()
    try:
        deadline = time.monotonic() + 60
        while attacker.answers < CONNECTIONS * PIPELINED and attacker.error is None:
            assert time.monotonic() < deadline, f"the attack never got going: {attacker.answers}"
            time.sleep(0.05)  # the attack is under way: as many answers as it first asked for
        started = time.monotonic()
        answered: list[int] = []
        while time.monotonic() - started < ATTACK and attacker.error is None:
            status = healthz(server.url)
            if time.monotonic() - started < ATTACK:
                answered.append(status)
        during = attacker.answers
    finally:
        attacker.stop.set()
        attacker.join(30)
    assert attacker.error is None, attacker.error
    # The attacker was still being answered (and so still sending) while the victim asked.
    assert during > CONNECTIONS * PIPELINED * 2, during
    # Several answers for the victim while the attack went on (not one after it ended).
    assert len(answered) >= 3 and set(answered) == {200}, answered
