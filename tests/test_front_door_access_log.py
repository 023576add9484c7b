"""The batched access log holds at most ``limit`` lines: with stderr to a pipe nobody reads,
further lines are dropped and counted (memory stays bounded, requests are not held up), and one
JSON line says how many once the pipe is read again. A real OS pipe, a real writer thread.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time

from aigraph.web.server import BatchedLines

LIMIT = 500
EMITTED = 20_000


def record(number: int) -> logging.LogRecord:
    line = json.dumps({"request_id": f"r{number}", "path": "/sparql", "status": 200})
    return logging.LogRecord("aigraph.access", logging.INFO, __file__, 0, line, None, None)


def test_a_stalled_log_stream_drops_and_counts_lines_and_says_so_later():
    read_end, write_end = os.pipe()
    stream = os.fdopen(write_end, "w")
    handler = BatchedLines(stream, pause=0.01, limit=LIMIT)
    handler.setFormatter(logging.Formatter("%(message)s"))
    try:
        for number in range(EMITTED):
            handler.emit(record(number))  # never blocks, though nobody reads the pipe
        time.sleep(0.5)  # the writer fills the pipe and blocks in write()
        for number in range(EMITTED, EMITTED + 100):
            handler.emit(record(number))
        assert handler.lines.qsize() <= LIMIT  # bounded while the pipe is full
        assert handler.dropped > 0
        chunks: list[bytes] = []

        def drain() -> None:
            while data := os.read(read_end, 65536):
                chunks.append(data)

        reader = threading.Thread(target=drain, daemon=True)
        reader.start()  # the stream is read again
        handler.close()
        stream.close()
        reader.join(10)
        assert not reader.is_alive()
    finally:
        os.close(read_end)
        if not stream.closed:
            stream.close()
    lines = [json.loads(line) for line in b"".join(chunks).decode().splitlines()]
    notices = [line for line in lines if "dropped" in line]
    written = [line["request_id"] for line in lines if "dropped" not in line]
    assert notices, "no line says that lines were dropped"
    for notice in notices:
        assert f"{notice['dropped']} access-log lines dropped" in notice["message"]
    # Every line emitted is either written, once and in order, or counted as dropped.
    assert len(written) == len(set(written))
    assert written == sorted(written, key=lambda rid: int(rid[1:]))
    assert len(written) + sum(notice["dropped"] for notice in notices) == EMITTED + 100
    assert len(written) < EMITTED // 2  # most were dropped: the queue did not grow


def test_lines_are_all_written_when_the_stream_keeps_up(tmp_path):
    path = tmp_path / "access.log"
    with path.open("w") as stream:
        handler = BatchedLines(stream, pause=0.01, limit=LIMIT)
        handler.setFormatter(logging.Formatter("%(message)s"))
        for number in range(3 * LIMIT):
            handler.emit(record(number))
            if number % 100 == 99:
                time.sleep(0.05)  # the writer keeps up between bursts smaller than the limit
        handler.close()
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["request_id"] for line in lines] == [f"r{n}" for n in range(3 * LIMIT)]
