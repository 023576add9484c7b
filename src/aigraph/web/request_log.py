"""What one request did, for the access log and the metrics: one ``RequestLog`` on ``flask.g``.

The views note the query they run and the answer they send, the error handler notes a
timeout, and the request's last hook writes the log line from it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from flask import g

from aigraph.errors import AigraphError, QueryTimeout


@dataclass
class RequestLog:
    """The query of one request and how it ended (unset fields are left out of the log)."""

    form: str | None = None
    query_hash: str | None = None
    rows: int | None = None
    truncated: bool | None = None
    timed_out: bool = False

    def note_query(self, text: str, form: str) -> None:
        """Remember the query being run: its form and a short hash of its text."""
        self.form = form
        self.query_hash = hashlib.sha256(text.encode()).hexdigest()[:16]

    def note_result(self, count: int, truncated: bool) -> None:
        """Remember the size of the answer sent and whether the row limit cut it."""
        self.rows = count
        self.truncated = truncated

    def note_error(self, error: AigraphError) -> None:
        """Remember how the query failed (a timeout is logged as such)."""
        self.timed_out = self.timed_out or isinstance(error, QueryTimeout)

    def fields(self) -> dict[str, Any]:
        """Return the access-log fields this request set."""
        found: dict[str, Any] = {
            "form": self.form,
            "query_hash": self.query_hash,
            "rows": self.rows,
            "truncated": self.truncated,
        }
        if self.timed_out:
            found["timed_out"] = True
        return {k: v for k, v in found.items() if v is not None}


def request_log() -> RequestLog:
    """Return this request's log (made on first use)."""
    found: RequestLog | None = g.get("request_log")
    if found is None:
        found = g.request_log = RequestLog()
    return found
