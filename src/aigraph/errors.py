"""The one error hierarchy of aigraph.

Every error carries the HTTP status the web layer answers with and the exit code the CLI
exits with, so both edges map errors in one place each (``web/errors.py`` and ``cli.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class AigraphError(Exception):
    """Base class: a problem the user can fix, described in ``message``."""

    status: int = 500
    exit_code: int = 2
    kind: str = "internal-error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        """Return the error as the one error body shape used everywhere."""
        body: dict[str, Any] = {"error": self.kind, "status": self.status, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body


class UsageError(AigraphError):
    """A command or setting was used wrongly."""

    status = 400
    exit_code = 2
    kind = "usage-error"


class DataError(AigraphError):
    """An RDF file cannot be read or parsed; names the file and, where known, the line."""

    status = 500
    exit_code = 2
    kind = "data-error"

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None) -> None:
        where = path or "<input>"
        if line is not None:
            where = f"{where}:{line}"
        super().__init__(f"{where}: {message}", path=path, line=line)
        self.path = path
        self.line = line


class NotConforming(AigraphError):
    """The data does not conform to the shapes."""

    status = 500
    exit_code = 1
    kind = "not-conforming"


class BadRequest(AigraphError):
    """The request is malformed (SPARQL protocol: 400)."""

    status = 400
    kind = "bad-request"


class QuerySyntaxError(BadRequest):
    """The SPARQL query does not parse; carries line and column where known."""

    kind = "query-syntax-error"

    def __init__(self, message: str, *, line: int | None = None, column: int | None = None) -> None:
        if line is not None:
            message = f"line {line}, column {column}: {message}"
        super().__init__(message, line=line, column=column)
        self.line = line
        self.column = column


class QueryRefused(BadRequest):
    """The query asks for something this endpoint never does (SERVICE, LOAD, deep nesting)."""

    kind = "query-refused"


class Forbidden(AigraphError):
    """The operation is not allowed here (SPARQL Update on a read-only endpoint)."""

    status = 403
    exit_code = 2
    kind = "forbidden"


class NotFound(AigraphError):
    """No such resource or named query."""

    status = 404
    exit_code = 2
    kind = "not-found"


class MethodNotAllowed(AigraphError):
    """The HTTP method is not allowed on this route."""

    status = 405
    kind = "method-not-allowed"


class NotAcceptable(AigraphError):
    """No representation matches the Accept header or ``format=``."""

    status = 406
    kind = "not-acceptable"


class PayloadTooLarge(AigraphError):
    """The request body is over the configured limit."""

    status = 413
    kind = "payload-too-large"


class UnsupportedMediaType(AigraphError):
    """The request body has a Content-Type the operation does not take."""

    status = 415
    kind = "unsupported-media-type"


class HeadersTooLarge(AigraphError):
    """The request headers are over the limit."""

    status = 431
    kind = "headers-too-large"


class QueryTimeout(AigraphError):
    """The query ran past the time limit and was stopped."""

    status = 503
    exit_code = 3
    kind = "query-timeout"


class ResultTooLarge(AigraphError):
    """The query needed more memory, or produced a bigger result, than the limits allow."""

    status = 503
    exit_code = 3
    kind = "query-too-large"


class Overloaded(AigraphError):
    """Every query worker is busy and the wait queue is full; the client may retry later."""

    status = 503
    exit_code = 3
    kind = "overloaded"

    def __init__(self, message: str, *, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TooManyQueries(AigraphError):
    """The client already has as many queries running as it may; it may retry later."""

    status = 429
    exit_code = 3
    kind = "too-many-queries"

    def __init__(self, message: str, *, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class EngineUnavailable(AigraphError):
    """The query engine failed or could not be reached (a crashed worker, a remote store)."""

    status = 502
    exit_code = 3
    kind = "engine-unavailable"


@dataclass(frozen=True)
class RemoteError(Exception):
    """An error answered by a remote SPARQL endpoint."""

    status: int
    message: str
    details: dict[str, Any] = field(default_factory=dict)
