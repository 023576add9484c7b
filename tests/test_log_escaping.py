"""Client-controlled text reaches the log only escaped: no CR, LF or terminal escape in any
record of any logger, library warnings and Python warnings included."""

from __future__ import annotations

import logging
import re
import time
import urllib.request
import warnings
from collections.abc import Iterator
from urllib.parse import quote

import pytest

from aigraph import logs
from conftest import LiveServer

#: What a forged log line would look like, and a terminal escape (clear screen, red).
INJECTED = "http://example.org/g\r\n2026-01-01 00:00:00 ERROR aigraph.server: forged\x1b[2J\x1b[31m"
RAW = re.compile("[\r\n\x1b\x9b\u2028]")


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture()
def records() -> Iterator[list[logging.LogRecord]]:
    """Every record of every logger while the test runs (propagating or not)."""
    logs.install()
    handler = Collect()
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.DEBUG)
    loggers = [root, logging.getLogger("aigraph.access")]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield handler.records
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
        root.setLevel(level)


def assert_escaped(records: list[logging.LogRecord]) -> None:
    for record in records:
        message = record.getMessage()
        assert not RAW.search(message), (record.name, message)
        formatted = logging.Formatter("%(levelname)s %(name)s: %(message)s").format(record)
        for line in formatted.split("\n")[1:]:
            assert line.startswith(" "), (record.name, formatted)  # traceback lines only
        assert "\x1b" not in formatted and "\r" not in formatted, formatted


def test_a_graph_parameter_reaches_rdflibs_warning_only_escaped(client, records):
    client.get("/sparql", query_string={"query": "ASK {}", "default-graph-uri": INJECTED})
    client.get("/sparql", query_string={"query": "ASK {}", "named-graph-uri": INJECTED})
    warned = [r for r in records if r.name.startswith("rdflib")]
    # The library really logged the client's text (the case this guards)...
    assert warned, [(r.name, r.getMessage()) for r in records]
    assert any("forged" in r.getMessage() for r in warned)
    # ...but escaped: the line break and the escape sequence are visible, not acted on.
    assert any("\\r\\n2026-01-01" in r.getMessage() for r in warned), warned[0].getMessage()
    assert any("\\x1b[2J" in r.getMessage() for r in warned), warned[0].getMessage()
    assert_escaped(records)


def test_a_path_reaches_every_log_line_only_escaped(client, records):
    path = "/nothing" + quote("\r\nforged\x1b[2J\u2028\x9b")
    client.get(path)
    client.get("/sparql" + quote("\r\n\x1b"), headers={"X-Request-Id": "id\x1b[2Jforged"})
    logging.getLogger("aigraph.web").warning("odd path %s", "/x\r\nforged\x1b[31m")
    assert any("forged" in r.getMessage() for r in records), [r.getMessage() for r in records]
    assert_escaped(records)


def test_tracebacks_keep_client_text_on_indented_lines(records):
    try:
        raise ValueError("bad value\r\n2026-01-01 ERROR forged\x1b[2J")
    except ValueError:
        logging.getLogger("aigraph.web").exception("failed on %s", "/a\nb")
    (record,) = [r for r in records if r.name == "aigraph.web"]
    assert record.getMessage() == "failed on /a\\nb"
    assert "bad value\\r\n  2026-01-01 ERROR forged\\x1b[2J" in record.exc_text
    assert_escaped(records)


def test_python_warnings_are_logged_as_one_escaped_line(records):
    with warnings.catch_warnings():  # puts the previous showwarning back afterwards
        warnings.simplefilter("always")
        logs.capture_warnings()
        warnings.warn(f"graph {INJECTED} looks odd", UserWarning, stacklevel=1)
    (record,) = [r for r in records if r.name == "py.warnings"]
    assert "UserWarning: graph http://example.org/g\\r\\n2026" in record.getMessage()
    assert_escaped(records)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain text, tabs\tand ünïcode", "plain text, tabs\\tand ünïcode"),
        ("a\rb\nc\x1bd\x00e\x7ff\x9bg", "a\\rb\\nc\\x1bd\\x00e\\x7ff\\x9bg"),
        ("line\u2028sep\u202eevil", "line\\u2028sep\\u202eevil"),
    ],
)
def test_escape(text, expected):
    assert logs.escape(text) == expected


def test_install_is_idempotent():
    logs.install()
    factory = logging.getLogRecordFactory()
    logs.install()
    assert logging.getLogRecordFactory() is factory


# --- a real server ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    live = LiveServer("--max-rows", "10")
    yield live
    live.stop()


def test_a_live_server_writes_client_text_to_its_log_only_escaped(server):
    marker = f"marker{time.time_ns()}"
    for parameter in ("default-graph-uri", "named-graph-uri"):
        url = f"{server.url}/sparql?query=ASK%7B%7D&{parameter}=" + quote(
            f"{INJECTED}{marker}", safe=""
        )
        try:
            urllib.request.urlopen(url, timeout=30).read()
        except urllib.error.HTTPError as error:
            error.read()
    url = f"{server.url}/nothing" + quote(f"\r\nforged\x1b[2J{marker}")
    try:
        urllib.request.urlopen(url, timeout=30).read()
    except urllib.error.HTTPError as error:
        assert error.code == 404
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and server.output.count(marker) < 3:
        time.sleep(0.1)
    output = server.output
    # The rdflib warning and the access log lines hold the marker, each on one line.
    assert output.count(marker) >= 3, output[-3000:]
    assert "does not look like a valid URI" in output, output[-3000:]
    assert "\x1b" not in output and "\r" not in output and "\x9b" not in output
    lines = output.splitlines()
    assert not [line for line in lines if line.startswith("2026-01-01 00:00:00 ERROR")], lines
    assert not [line for line in lines if line.startswith("forged")], lines
