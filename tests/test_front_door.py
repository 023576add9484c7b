"""The front door: many idle or slow clients cannot stop the server answering everyone else.

Raw sockets against a live ``aigraph serve`` on 127.0.0.1; crowds of clients are spread over
several loopback source addresses (127.0.1.x) so that the per-client cap is not what is tested.
"""

from __future__ import annotations

import http.client
import json
import resource
import select
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import pytest

from conftest import LiveServer

ASK = "/sparql?query=ASK%7B%3Fs%20%3Fp%20%3Fo%7D"
#: A normal query must be answered within this many seconds (a liveness bound, not a timing).
LIVENESS = 5.0
#: How long to wait for the server to close a connection it should close.
CLOSE_WAIT = 15.0


@pytest.fixture(scope="module", autouse=True)
def open_files() -> None:
    """Let this process hold well over a thousand sockets."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 8192 if hard == resource.RLIM_INFINITY else min(8192, hard)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] >= 2200


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    """A server with the default front-door settings."""
    live = LiveServer("--no-validate")
    yield live
    live.stop()


@pytest.fixture(scope="module")
def strict_server() -> Iterator[LiveServer]:
    """A server with 2-second header and body deadlines."""
    live = LiveServer(
        "--no-validate", env={"AIGRAPH_HEADER_TIMEOUT": "2", "AIGRAPH_BODY_TIMEOUT": "2"}
    )
    yield live
    live.stop()


def address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    assert parts.hostname and parts.port
    return parts.hostname, parts.port


def connect(url: str, source: str = "127.0.0.1", timeout: float = 10.0) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    sock.bind((source, 0))
    sock.connect(address(url))
    return sock


def crowd_source(index: int, per_address: int = 50) -> str:
    """The loopback address of crowd member ``index``: ``per_address`` members share one."""
    return f"127.0.1.{1 + index // per_address}"


def normal_query(url: str, source: str = "127.0.0.1") -> tuple[int, dict]:
    """Run one ordinary SPARQL query; return its status and decoded body."""
    host, port = address(url)
    conn = http.client.HTTPConnection(host, port, timeout=LIVENESS, source_address=(source, 0))
    try:
        conn.request("GET", ASK, headers={"Accept": "application/sparql-results+json"})
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def read_all(sock: socket.socket, timeout: float = CLOSE_WAIT) -> tuple[bytes, bool]:
    """Read until the server closes; return what came and whether it closed in time."""
    sock.settimeout(timeout)
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except TimeoutError:
        return received, False
    except OSError:  # a reset is a close too
        pass
    return received, True


def is_closed(sock: socket.socket, timeout: float = CLOSE_WAIT) -> bool:
    return read_all(sock, timeout)[1]


def replies_within(
    sockets: list[socket.socket], seconds: float = CLOSE_WAIT
) -> list[tuple[bytes, bool]]:
    """``read_all`` on each of ``sockets``, all within one shared deadline."""
    deadline = time.monotonic() + seconds
    return [read_all(sock, max(0.01, deadline - time.monotonic())) for sock in sockets]


@contextmanager
def slow_clients(
    url: str, count: int, prefix: bytes, interval: float = 1.0
) -> Iterator[list[socket.socket]]:
    """Open ``count`` connections that send ``prefix`` and then one more byte per ``interval``."""
    sockets = [connect(url, crowd_source(i)) for i in range(count)]
    for sock in sockets:
        sock.sendall(prefix)
    stop = threading.Event()

    def drip() -> None:
        while not stop.wait(interval):
            for sock in sockets:
                try:
                    sock.send(b"a")
                except OSError:
                    pass

    dripper = threading.Thread(target=drip, daemon=True)
    dripper.start()
    try:
        yield sockets
    finally:
        stop.set()
        dripper.join(5)
        for sock in sockets:
            sock.close()


SLOW_HEADER = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
SLOW_BODY = (
    b"POST /sparql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/sparql-query"
    b"\r\nContent-Length: 100000\r\n\r\nASK {"
)


def still_open(sockets: list[socket.socket]) -> int:
    """Return how many of ``sockets`` the server has neither answered nor closed."""
    poller = select.poll()
    for sock in sockets:
        poller.register(sock, select.POLLIN)
    return len(sockets) - len(poller.poll(0))


# --- capacity ---------------------------------------------------------------------------------


def test_a_thousand_idle_connections_do_not_stop_a_normal_query(server):
    idle = [connect(server.url, crowd_source(i)) for i in range(1000)]
    try:
        status, body = normal_query(server.url)
        assert status == 200 and body["boolean"] is True, body
        # The crowd is really held open by the server meanwhile.
        assert still_open(idle) == 1000
    finally:
        for sock in idle:
            sock.close()


def test_two_hundred_slow_header_clients_do_not_stop_a_normal_query(server):
    with slow_clients(server.url, 200, SLOW_HEADER) as crowd:
        time.sleep(2.5)  # a few bytes each, still inside their header deadline
        status, body = normal_query(server.url)
        assert status == 200 and body["boolean"] is True, body
        assert still_open(crowd) == 200


def test_two_hundred_slow_body_clients_do_not_stop_a_normal_query(server):
    with slow_clients(server.url, 200, SLOW_BODY) as crowd:
        time.sleep(2.5)
        status, body = normal_query(server.url)
        assert status == 200 and body["boolean"] is True, body
        assert still_open(crowd) == 200


# --- deadlines ----------------------------------------------------------------------------------


def test_slow_header_clients_are_disconnected_at_the_header_deadline(strict_server):
    with slow_clients(strict_server.url, 20, SLOW_HEADER, interval=0.3) as crowd:
        # Each keeps sending, so only a total-time deadline (not inactivity) closes them.
        closed = [done for _, done in replies_within(crowd)]
    assert all(closed), f"{closed.count(False)} of 20 still open"
    assert normal_query(strict_server.url)[0] == 200


def test_slow_body_clients_are_disconnected_at_the_body_deadline(strict_server):
    with slow_clients(strict_server.url, 20, SLOW_BODY, interval=0.3) as crowd:
        replies = replies_within(crowd)
    assert all(done for _, done in replies), "a slow body was not cut off"
    assert not any(reply.startswith(b"HTTP/1.1 200") for reply, _ in replies)
    assert normal_query(strict_server.url)[0] == 200


def test_idle_connection_is_closed_at_the_header_deadline_but_a_prompt_one_is_served(strict_server):
    idle = connect(strict_server.url)
    prompt = connect(strict_server.url)
    try:
        prompt.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        reply, closed = read_all(prompt)
        assert closed and reply.startswith(b"HTTP/1.1 200"), reply[:200]
        assert is_closed(idle)
    finally:
        idle.close()
        prompt.close()


# --- per-client cap -------------------------------------------------------------------------------


def test_connection_over_the_per_client_cap_is_closed_while_another_address_is_served(server):
    held = [connect(server.url, "127.0.0.5") for _ in range(100)]  # max_client_connections
    try:
        time.sleep(0.5)  # let the server accept them all
        try:
            extra = connect(server.url, "127.0.0.5")
        except ConnectionResetError:
            pass  # reset so promptly that connect() itself saw it
        else:
            assert is_closed(extra, timeout=LIVENESS), "connection 101 from one address was kept"
            extra.close()
        # Another address is served, and so is a connection the first address already holds.
        status, body = normal_query(server.url, source="127.0.0.2")
        assert status == 200 and body["boolean"] is True, body
        held[0].sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        reply, _ = read_all(held[0], timeout=LIVENESS)
        assert reply.startswith(b"HTTP/1.1 200"), reply[:200]
    finally:
        for sock in held:
            sock.close()
    # Closed connections are given back: the address may connect again.
    time.sleep(0.5)
    assert normal_query(server.url, source="127.0.0.5")[0] == 200


# --- HTTP hygiene ---------------------------------------------------------------------------------


def assert_error_shape(reply: bytes, status: int, kind: str) -> dict:
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(f"HTTP/1.1 {status} ".encode()), reply[:300]
    assert b"content-type: application/json" in head.lower(), head
    error = json.loads(body)
    assert set(error) == {"error", "status", "message", "request_id"}, error
    assert error["status"] == status and error["error"] == kind and error["request_id"], error
    return error


def test_oversized_content_length_with_expect_gets_413_at_once_and_no_continue(server):
    sock = connect(server.url)
    try:
        sock.sendall(
            b"POST /sparql HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/sparql-query\r\nContent-Length: 100000000\r\n"
            b"Expect: 100-continue\r\n\r\n"
        )
        # No body byte is sent: the answer can only come from the headers.
        reply, closed = read_all(sock, timeout=LIVENESS)
    finally:
        sock.close()
    assert b"100 Continue" not in reply, reply[:300]
    error = assert_error_shape(reply, 413, "payload-too-large")
    assert "1000000" in error["message"]
    assert closed
    assert b"connection: close" in reply.lower()


def test_body_within_the_limit_with_expect_gets_100_continue_and_an_answer(server):
    query = b"ASK { ?s ?p ?o }"
    sock = connect(server.url)
    try:
        sock.sendall(
            b"POST /sparql HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            b"Content-Type: application/sparql-query\r\nAccept: application/json\r\n"
            b"Content-Length: %d\r\nExpect: 100-continue\r\n\r\n" % len(query)
        )
        assert sock.recv(100).startswith(b"HTTP/1.1 100 Continue")
        sock.sendall(query)
        reply, _ = read_all(sock, timeout=LIVENESS)
    finally:
        sock.close()
    assert reply.startswith(b"HTTP/1.1 200"), reply[:300]


def test_content_length_with_transfer_encoding_gets_400_and_the_connection_closes(server):
    sock = connect(server.url)
    try:
        # A smuggling attempt: the second request hides in what one framing calls the body.
        sock.sendall(
            b"POST /sparql HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/sparql-query\r\nContent-Length: 4\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
            b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        )
        reply, closed = read_all(sock, timeout=LIVENESS)
    finally:
        sock.close()
    error = assert_error_shape(reply, 400, "bad-request")
    assert "Transfer-Encoding" in error["message"]
    assert closed and reply.count(b"HTTP/1.1 ") == 1, reply


def test_chunked_body_over_the_limit_is_cut_off_with_413(server):
    chunk = b"#" * 100_000
    sock = connect(server.url)
    sent = 0
    try:
        sock.sendall(
            b"POST /sparql HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/sparql-query\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        # 5 MB offered; the answer must come once a little over 1 MB is in.
        for _ in range(50):
            if select.select([sock], [], [], 0.05)[0]:
                break
            try:
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            except OSError:
                break
            sent += len(chunk)
        reply, closed = read_all(sock, timeout=LIVENESS)
    finally:
        sock.close()
    assert_error_shape(reply, 413, "payload-too-large")
    assert closed and sent < 5_000_000


def test_curl_with_an_oversized_body_gets_413_without_100_continue(server, tmp_path):
    body = tmp_path / "big.rq"
    body.write_bytes(b"#" * 3_000_000)
    done = subprocess.run(
        [
            "curl",
            "-sS",
            "-v",
            "--max-time",
            "30",
            "--expect100-timeout",
            "20",
            "-H",
            "Content-Type: application/sparql-query",
            "-H",
            "Expect: 100-continue",
            "--data-binary",
            f"@{body}",
            f"{server.url}/sparql",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "< HTTP/1.1 413" in done.stderr, done.stderr[-2000:]
    assert "100 Continue" not in done.stderr
    error = json.loads(done.stdout)
    assert error["error"] == "payload-too-large" and error["status"] == 413, done.stdout


def test_curl_chunked_upload_within_the_limit_is_answered(server):
    done = subprocess.run(
        [
            "curl",
            "-sS",
            "--max-time",
            "30",
            "-H",
            "Content-Type: application/sparql-query",
            "-H",
            "Transfer-Encoding: chunked",
            "-H",
            "Accept: application/json",
            "--data-binary",
            "ASK { ?s ?p ?o }",
            f"{server.url}/sparql",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["boolean"] is True, done.stdout


def test_clients_are_counted_by_ipv4_address_or_ipv6_64():
    from aigraph.web.frontdoor import client_key

    assert client_key("127.0.0.2") == "127.0.0.2"
    assert client_key("::ffff:192.0.2.7") == "192.0.2.7"
    assert (
        client_key("2001:db8:1:2::1") == client_key("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    )
    assert client_key("2001:db8:1:3::1") != client_key("2001:db8:1:2::1")


def test_the_trusted_proxy_is_not_capped_per_client():
    live = LiveServer(
        "--no-validate",
        env={"AIGRAPH_MAX_CLIENT_CONNECTIONS": "2", "AIGRAPH_TRUSTED_PROXY": "127.0.0.7"},
    )
    held: list[socket.socket] = []
    try:
        held = [connect(live.url, "127.0.0.7") for _ in range(3)]
        held[2].sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        reply, _ = read_all(held[2], timeout=LIVENESS)
        assert reply.startswith(b"HTTP/1.1 200"), reply[:200]
        others = [connect(live.url, "127.0.0.8") for _ in range(2)]
        held += others
        try:
            third = connect(live.url, "127.0.0.8")
        except ConnectionResetError:
            pass
        else:
            held.append(third)
            assert is_closed(third, timeout=LIVENESS), "the cap did not apply to 127.0.0.8"
    finally:
        for sock in held:
            sock.close()
        live.stop()
