"""Log records that cannot be forged: control characters in any message are escaped.

Requests carry client-controlled text (paths, graph IRIs, queries) that ends up in log
messages, ours and those of libraries (rdflib warns about malformed IRIs, quoting them). A
CR/LF in such text would start a forged log line; an ANSI escape would drive the terminal of
whoever reads the log. ``install`` wraps the process's log-record factory, so every record
of every logger is made safe when it is created, before any handler sees it.
"""

from __future__ import annotations

import itertools
import logging
import re
import traceback
import uuid
import warnings
from typing import Any

#: C0 and C1 controls, DEL, line and paragraph separators, and bidirectional overrides.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
#: The same, except the line feed that separates the lines of a traceback.
_UNSAFE_IN_TRACE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_char(found: re.Match[str]) -> str:
    char = found.group()
    named = _NAMED.get(char)
    if named:
        return named
    return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"


def escape(text: str) -> str:
    """Return ``text`` with every control character written as a backslash escape."""
    return _UNSAFE.sub(_escape_char, text)


def escape_trace(text: str) -> str:
    """Return a traceback with control characters escaped and every line indented, so that
    no line of it can pass for a log record of its own."""
    return "  " + _UNSAFE_IN_TRACE.sub(_escape_char, text.rstrip("\n")).replace("\n", "\n  ")


class _SafeRecords:
    """A log-record factory that escapes the message (and any traceback) of each record."""

    def __init__(self, wrapped: Any) -> None:
        self.wrapped = wrapped

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record: logging.LogRecord = self.wrapped(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string is the logging module's to report
            return record
        if _UNSAFE.search(message):
            record.msg, record.args = escape(message), None
        if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
            record.exc_text = escape_trace("".join(traceback.format_exception(*record.exc_info)))
        if record.stack_info:
            record.stack_info = escape_trace(record.stack_info)
        return record


def install() -> None:
    """Escape control characters in every log record of this process (idempotent)."""
    factory = logging.getLogRecordFactory()
    if not isinstance(factory, _SafeRecords):
        logging.setLogRecordFactory(_SafeRecords(factory))


def capture_warnings() -> None:
    """Send ``warnings`` to the ``py.warnings`` logger as one escaped line each.

    Unlike ``logging.captureWarnings`` the message is an argument of the record, not a
    preformatted block with the offending source line appended.
    """
    install()
    log = logging.getLogger("py.warnings")

    def show(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: Any = None,
        line: str | None = None,
    ) -> None:
        log.warning("%s:%s: %s: %s", filename, lineno, category.__name__, message)

    warnings.showwarning = show


_REQUEST_IDS = itertools.count(1)
_PROCESS_TAG = uuid.uuid4().hex[:8]


def new_request_id() -> str:
    """Return an id unique to this server process and request (cheaper than a UUID each)."""
    return f"{_PROCESS_TAG}-{next(_REQUEST_IDS):x}"
