"""One client's slow queries cannot starve the others, and excess load is shed, not queued.

Clients come from distinct loopback addresses (127.0.0.2, 127.0.0.3, ...), the way the server
tells clients apart.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from urllib.parse import urlsplit

import pytest

from aigraph.errors import TooManyQueries
from aigraph.web.admission import Admission, client_key
from conftest import LiveServer

# A cartesian product over every triple: CPU-bound for hours in constant memory.
SLOW = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"


class Answer:
    def __init__(self, response: http.client.HTTPResponse) -> None:
        self.status = response.status
        self.retry_after = response.getheader("Retry-After")
        self.body = response.read()
        self.at = time.monotonic()

    @property
    def error(self) -> str:
        return json.loads(self.body)["error"] if self.status != 200 else ""

    def __repr__(self) -> str:
        return f"{self.status} Retry-After={self.retry_after} {self.body[:200]!r}"


def request(url: str, source: str, method: str, path: str, query: str = "") -> Answer:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(
        parts.hostname, parts.port, timeout=60, source_address=(source, 0)
    )
    try:
        headers = {"Content-Type": "application/sparql-query", "Accept": "application/json"}
        conn.request(method, path, query.encode(), headers)
        return Answer(conn.getresponse())
    finally:
        conn.close()


def start_slow_queries(url: str, source: str, count: int) -> tuple[list[threading.Thread], list]:
    answers: list[Answer] = []

    def run() -> None:
        answers.append(request(url, source, "POST", "/sparql", SLOW))

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    return threads, answers


def wait_for(condition, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def gauge(url: str, name: str) -> float:
    text = request(url, "127.0.0.9", "GET", "/metrics").body.decode()
    [line] = [line for line in text.splitlines() if line.startswith(f"aigraph_{name} ")]
    return float(line.split()[1])


def test_one_clients_slow_queries_leave_room_for_others():
    # Defaults: 4 query workers, at most 2 queries per client.
    server = LiveServer("--timeout", "6", "--no-validate")
    try:
        threads, slow = start_slow_queries(server.url, "127.0.0.2", 8)
        # The client's share (2) runs; the other 6 are turned away at once.
        wait_for(lambda: len(slow) == 6)
        started = time.monotonic()
        cheap = request(server.url, "127.0.0.3", "POST", "/sparql", "ASK {}")
        assert cheap.status == 200 and json.loads(cheap.body)["boolean"] is True, cheap
        assert cheap.at - started < 2.0, cheap.at - started
        for path in ("/healthz", "/metrics"):
            answer = request(server.url, "127.0.0.3", "GET", path)
            assert answer.status == 200, (path, answer)
        assert gauge(server.url, "queries_in_progress") == 2
        # ... all while the client's two slow queries were still running (not answered yet).
        assert len(slow) == 6, slow
        refused = list(slow)
        for thread in threads:
            thread.join()
        assert len(refused) == 6 and all(a.status == 429 for a in refused), refused
        assert all(a.error == "too-many-queries" and a.retry_after == "2" for a in refused)
        ran = [a for a in slow if a not in refused]
        assert [a.error for a in ran] == ["query-timeout"] * 2, ran
        # The client's share is free again once its queries ended.
        again = request(server.url, "127.0.0.2", "POST", "/sparql", "ASK {}")
        assert again.status == 200, again
    finally:
        server.stop()


def test_a_full_wait_queue_answers_503_and_keeps_threads_free():
    # One worker, six request threads: at most 6 - 1 - 2 = 3 queries may wait, whatever
    # max_queued_queries says, so requests that need no worker always find a thread.
    server = LiveServer("--timeout", "6", "--no-validate", env={
        "AIGRAPH_EXECUTORS": "1", "AIGRAPH_THREADS": "6",
        "AIGRAPH_MAX_QUEUED_QUERIES": "50", "AIGRAPH_MAX_CLIENT_QUERIES": "0",
    })  # fmt: skip
    try:
        threads, slow = start_slow_queries(server.url, "127.0.0.2", 8)
        wait_for(lambda: len(slow) == 4)
        assert all(a.status == 503 and a.error == "overloaded" for a in slow), slow
        assert all(a.retry_after == "2" for a in slow), slow
        shed = list(slow)
        for path in ("/healthz", "/metrics", "/stats"):
            answer = request(server.url, "127.0.0.3", "GET", path)
            assert answer.status == 200, (path, answer)
        assert gauge(server.url, "queries_waiting") == 3
        cheap = request(server.url, "127.0.0.3", "POST", "/sparql", "ASK {}")
        assert cheap.status == 503 and cheap.retry_after == "2", cheap
        assert any(thread.is_alive() for thread in threads)
        for thread in threads:
            thread.join()
        waited = [a for a in slow if a not in shed]
        # The one that ran timed out; those that waited got no worker within the time limit.
        assert sorted(a.error for a in waited) == ["query-timeout"] * 4, waited
        assert request(server.url, "127.0.0.3", "POST", "/sparql", "ASK {}").status == 200
    finally:
        server.stop()


def test_clients_are_told_apart_by_address_and_ipv6_by_its_64():
    assert client_key("2001:db8:1:2:aaaa::1") == client_key("2001:db8:1:2:bbbb::2")
    assert client_key("2001:db8:1:2::1") == "2001:db8:1:2::/64"
    assert client_key("2001:db8:1:3::1") != client_key("2001:db8:1:2::1")
    assert client_key("::ffff:10.0.0.1") == client_key("10.0.0.1") == "10.0.0.1"
    admission = Admission(per_client=1, retry_after=3)
    release = admission.enter("10.0.0.1")
    with pytest.raises(TooManyQueries) as caught:
        admission.enter("::ffff:10.0.0.1")
    assert (caught.value.status, caught.value.retry_after) == (429, 3)
    admission.enter("10.0.0.2")()
    release()
    release()  # ending twice frees one place only
    assert admission.in_progress() == 0
    admission.enter("10.0.0.1")
    assert admission.in_progress() == 1
