"""Large answers are bounded in serialised bytes and streamed: the server never holds one whole.

A query worker writes the answer, refuses it (503 ``query-too-large``) if it is over
``max_result_bytes``, and otherwise sends it in pieces that the server forwards as they arrive.
"""

from __future__ import annotations

import gc
import http.client
import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import psutil
import pytest
from rdflib import Dataset

from aigraph import formats, results
from aigraph.engine import IsolatedEngine, OxigraphEngine, QueryRequest, stream
from aigraph.engine.worker import Bounds
from aigraph.errors import NotAcceptable, QueryTimeout, ResultTooLarge
from aigraph.model import QueryResult
from conftest import LiveServer

CSV = formats.find_offer("csv", formats.RESULTS)
JSON = formats.find_offer("json", formats.RESULTS)

MB = 1_000_000


def wide_query(rows_pow10: int, doublings: int, seed: str = "0123456789") -> str:
    """Return a short query whose answer is 10**rows_pow10 rows of len(seed) * 2**doublings."""
    values = " ".join(str(i) for i in range(10))
    rows = "".join(f"VALUES ?v{k} {{ {values} }} " for k in range(rows_pow10))
    binds = "".join(f"BIND(CONCAT(?a{i}, ?a{i}) AS ?a{i + 1}) " for i in range(doublings))
    return f'SELECT ?a{doublings} WHERE {{ {rows}BIND("{seed}" AS ?a0) {binds}}}'


# 10 000 rows of 10 KiB: about 103 MB of JSON, just under a limit of 120 MB.
UNDER = wide_query(4, 10)
# 10 000 rows of 40 KiB: 410 MB of text, refused before it is written.
FAR_OVER = wide_query(4, 12)
# 10 000 rows of 2.5 KiB control characters: 26 MB of terms, but 154 MB of escaped JSON.
ESCAPED_OVER = wide_query(4, 8, seed="\\u0001" * 10)
LIMIT = 120 * MB


@pytest.fixture(scope="module")
def pool() -> Iterator[IsolatedEngine]:
    engine = OxigraphEngine(Dataset())
    bounds = Bounds(result_bytes=LIMIT)
    with IsolatedEngine(lambda: engine, workers=1, timeout=60.0, bounds=bounds) as isolated:
        yield isolated


def test_a_large_answer_is_streamed_whole_and_its_worker_reused(pool) -> None:
    text = wide_query(3, 8)  # 1000 rows of 2.5 KiB: 2.6 MB
    [pid] = pool.worker_pids()
    result = pool.answer(QueryRequest(text), CSV)
    assert result.stream is not None and result.body is None
    pieces = list(result.stream)
    result.stream.close()
    body = b"".join(pieces)
    assert len(body) == result.stream.size and len(pieces) > 10
    plain = pool.query(QueryRequest(text))
    assert body == results.serialize(plain, formats.find_offer("csv", formats.RESULTS))
    assert pool.worker_pids() == [pid] and pool.stats()["restarts"] == 0


def test_a_stream_closed_early_drains_its_worker_before_reuse(pool) -> None:
    [pid] = pool.worker_pids()
    result = pool.answer(QueryRequest(wide_query(3, 8)), JSON)
    pieces = iter(result.stream)
    next(pieces)
    result.stream.close()  # the client went away mid-answer
    # The worker is reused only at the end of its answer: the next one starts clean.
    assert pool.answer(QueryRequest("ASK {}"), JSON).body == b'{"head":{},"boolean":true}'
    text = wide_query(3, 7)
    again = pool.answer(QueryRequest(text), CSV)
    body = b"".join(again.stream)
    plain = pool.query(QueryRequest(text))
    assert body == results.serialize(plain, formats.find_offer("csv", formats.RESULTS))
    assert pool.worker_pids() == [pid] and pool.stats()["restarts"] == 0


def test_a_stream_dropped_unread_does_not_leak_its_worker(pool) -> None:
    [pid] = pool.worker_pids()
    result = pool.answer(QueryRequest(wide_query(3, 8)), JSON)
    assert result.stream is not None
    del result
    gc.collect()
    deadline = time.monotonic() + 10
    while pool.stats()["idle"] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pool.stats()["idle"] == 1 and pool.worker_pids() == [pid]
    assert pool.query(QueryRequest("ASK {}")).boolean is True


def test_a_stalled_stream_is_stopped_at_the_time_limit(pool) -> None:
    [pid] = pool.worker_pids()
    result = pool.answer(QueryRequest(wide_query(3, 8), timeout=1.0), JSON)
    pieces = iter(result.stream)
    next(pieces)
    os.kill(pid, signal.SIGSTOP)
    try:
        with pytest.raises(QueryTimeout, match="stopped arriving for 1 s"):
            list(pieces)
    finally:
        if psutil.pid_exists(pid):
            os.kill(pid, signal.SIGCONT)
    assert pool.worker_pids() != [pid]
    assert pool.query(QueryRequest("ASK {}")).boolean is True


@pytest.mark.parametrize("text, measured", [
    (FAR_OVER, "takes at least 409600000 bytes"),
    (ESCAPED_OVER, "is 153970049 bytes in json"),
])  # fmt: skip
def test_an_answer_over_the_limit_is_refused_before_any_byte(pool, text, measured) -> None:
    with pytest.raises(ResultTooLarge) as caught:
        pool.answer(QueryRequest(text), JSON)
    assert caught.value.status == 503 and caught.value.kind == "query-too-large"
    assert measured in caught.value.message
    assert "over the limit of 120000000 bytes (max_result_bytes)" in caught.value.message


# -- a live server --------------------------------------------------------------------------------


def post(url: str, query: str, source: str, timeout: float = 120) -> http.client.HTTPResponse:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(
        parts.hostname, parts.port, timeout=timeout, source_address=(source, 0)
    )
    conn.request("POST", "/sparql", query.encode(), {
        "Content-Type": "application/sparql-query",
        "Accept": "application/sparql-results+json",
    })  # fmt: skip
    return conn.getresponse()


def test_four_huge_answers_at_once_keep_the_server_small_and_others_served() -> None:
    # A generous time limit: four workers write 100-400 MB each on a shared machine.
    server = LiveServer("--no-validate", "--timeout", "90", env={
        "AIGRAPH_MAX_RESULT_BYTES": str(LIMIT), "AIGRAPH_EXECUTORS": "6",
    })  # fmt: skip
    try:
        process = psutil.Process(server.pid)
        baseline = process.memory_info().rss
        peak = baseline
        done = threading.Event()
        outcomes: dict[str, tuple[int, str, bytes]] = {}
        sizes: dict[str, int] = {}

        def watch() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, process.memory_info().rss)
                time.sleep(0.01)

        def download(source: str, query: str) -> None:
            response = post(server.url, query, source)
            if response.status != 200:
                outcomes[source] = (
                    response.status,
                    response.getheader("Content-Type"),
                    response.read(),
                )
                return
            # Keep the one body the test parses; count the bytes of the other.
            kept, total = [], 0
            while piece := response.read(1 << 20):
                total += len(piece)
                if source == "127.0.0.2":
                    kept.append(piece)
            sizes[source] = total
            outcomes[source] = (200, response.getheader("Content-Length"), b"".join(kept))

        downloads = [
            threading.Thread(target=download, args=("127.0.0.2", UNDER)),
            threading.Thread(target=download, args=("127.0.0.3", UNDER)),
            threading.Thread(target=download, args=("127.0.0.4", FAR_OVER)),
            threading.Thread(target=download, args=("127.0.0.5", ESCAPED_OVER)),
        ]
        watcher = threading.Thread(target=watch)
        watcher.start()
        for thread in downloads:
            thread.start()
        asks = []
        while any(thread.is_alive() for thread in downloads):
            response = post(server.url, "ASK {}", "127.0.0.6", timeout=30)
            asks.append((response.status, response.read(), len(sizes)))
            time.sleep(0.05)
        for thread in downloads:
            thread.join()
        done.set()
        watcher.join()

        for source in ("127.0.0.2", "127.0.0.3"):
            status, length, _ = outcomes[source]
            assert status == 200, outcomes[source]
            assert sizes[source] == int(length) > 100 * MB, (sizes, length)
        body = json.loads(outcomes["127.0.0.2"][2])
        bindings = body["results"]["bindings"]
        assert len(bindings) == 10_000 and "truncated" not in body
        assert all(len(b["a10"]["value"]) == 10 * 1024 for b in bindings)
        for source, measured in (("127.0.0.4", "at least"), ("127.0.0.5", "in json")):
            status, _, raw_error = outcomes[source]
            error = json.loads(raw_error)
            assert status == 503 and error["error"] == "query-too-large", raw_error
            assert (
                measured in error["message"] and "over the limit of 120000000" in error["message"]
            )
        # Another client was answered while the answers were being produced and sent.
        assert asks and all(status == 200 for status, _, _ in asks), asks
        assert any(finished < 2 for _, _, finished in asks), asks
        grown = (peak - baseline) / MB
        print(f"server RSS: baseline {baseline / MB:.0f} MB, peak {peak / MB:.0f} MB")
        assert grown < 300, f"server RSS grew by {grown:.0f} MB (baseline {baseline / MB:.0f} MB)"
    finally:
        server.stop()


def test_a_client_that_leaves_mid_answer_frees_its_worker() -> None:
    server = LiveServer("--no-validate", env={
        "AIGRAPH_MAX_RESULT_BYTES": str(LIMIT), "AIGRAPH_EXECUTORS": "2",
    })  # fmt: skip
    try:
        response = post(server.url, UNDER, "127.0.0.2")
        assert response.status == 200
        response.read(1 << 20)
        response.close()  # leaves with about 100 MB unread
        deadline = time.monotonic() + 30
        stats: dict = {}
        while time.monotonic() < deadline:
            stats = json.loads(post_get(server.url, "/stats"))["engine_stats"]
            if stats["idle"] == 2:
                break
            time.sleep(0.2)
        # Its worker read what was left of the answer and went back to the pool.
        assert stats["idle"] == 2 and stats["restarts"] == 0, stats
        for _ in range(2):  # both workers answer cleanly
            again = post(server.url, wide_query(3, 8), "127.0.0.2")
            body = again.read()
            assert again.status == 200 and len(json.loads(body)["results"]["bindings"]) == 1000
    finally:
        server.stop()


def post_get(url: str, path: str) -> bytes:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    conn.request("GET", path)
    return conn.getresponse().read()


def test_a_graceful_stop_finishes_a_streamed_answer() -> None:
    server = LiveServer("--no-validate", env={"AIGRAPH_MAX_RESULT_BYTES": str(LIMIT)})
    try:
        response = post(server.url, UNDER, "127.0.0.2")
        assert response.status == 200
        size = int(response.getheader("Content-Length"))
        first = response.read(1 << 20)
        server.process.terminate()  # SIGTERM: in-flight answers, streams included, finish
        time.sleep(1.0)  # a slow reader: most of the answer is still in the worker
        rest = response.read()
        assert len(first) + len(rest) == size > 100 * MB
        assert server.process.wait(60) == 0
    finally:
        server.stop()


def test_a_streamed_answer_carries_its_truncation_headers(client) -> None:
    # 10 000 rows of 2.5 KiB, cut at the row limit of the test app (1000): 2.6 MB, streamed.
    response = client.get(
        "/sparql",
        query_string={"query": wide_query(4, 8)},
        headers={"Accept": "application/sparql-results+json"},
    )
    assert response.status_code == 200
    assert response.headers["X-Aigraph-Truncated"] == "true"
    assert response.headers["X-Aigraph-Row-Limit"] == "1000"
    assert not response.is_sequence  # the app answered with a stream, not bytes
    body = response.get_data()
    assert len(body) == int(response.headers["Content-Length"]) > 2 * MB
    document = json.loads(body)
    assert document["truncated"] is True and len(document["results"]["bindings"]) == 1000


def test_an_offer_for_another_form_of_result_is_refused_never_ignored():
    with pytest.raises(NotAcceptable, match="csv cannot write the answer to a construct query"):
        stream.written(QueryResult(form="construct"), CSV, 0)
    assert stream.written(QueryResult(form="select"), CSV, 0).body == b"\r\n"
