"""The one error hierarchy of aigraph.

Every error carries the HTTP status the web layer answers with and the exit code the CLI
exits with, so both edges map errors in one place each (``web/errors.py`` and ``cli/__init__.py``).
"""

from __future__ import annotations

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

    def to_body(self) -> dict[str, Any]:
        """Return the error body: what the web layer sends (plus the request id)."""
        body: dict[str, Any] = {"error": self.kind, "status": self.status, "message": self.message}
        details = {k: v for k, v in self.details.items() if v is not None}
        if details:
            body["details"] = details
        return body

    #: The same body under its earlier name.
    to_dict = to_body

    def __reduce__(self) -> tuple[Any, ...]:
        # The subclasses' constructors rewrite their message (a file:line prefix, a position),
        # so an error is rebuilt from its state, never by calling the constructor again.
        return _rebuild, (type(self), self.args, self.__dict__)


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
            where = f"line {line}" if column is None else f"line {line}, column {column}"
            message = f"{where}: {message}"
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


class QueryCrashedWorker(EngineUnavailable):
    """A query killed its query worker twice in a row (the first death was retried).

    500, not 503: the fault is in the engine on this very query, and asking again will not
    help (a worker killed from outside once is retried transparently and never reported).
    """

    status = 500
    kind = "query-crashed-worker"


def _rebuild(cls: type[AigraphError], args: tuple[Any, ...], state: dict[str, Any]) -> AigraphError:
    """Return an error of ``cls`` with ``args`` and attributes ``state`` (for pickle)."""
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


#: Kinds and messages of the HTTP errors raised outside aigraph's own classes (the WSGI
#: server's and the web framework's): one table for the front door and the web layer.
HTTP_KINDS: dict[int, tuple[str, str]] = {
    400: ("bad-request", "the request is malformed"),
    404: ("not-found", "there is nothing at this address"),
    405: ("method-not-allowed", "this method is not allowed here"),
    406: ("not-acceptable", "no acceptable representation"),
    413: ("payload-too-large", "the request body is over the limit of {max_body} bytes"),
    414: ("uri-too-long", "the request URL is too long; send the query with POST"),
    415: ("unsupported-media-type", "unsupported Content-Type"),
    431: ("headers-too-large", "the request headers are too large"),
    500: ("internal-error", "the server hit an unexpected error; it has been logged"),
    501: ("not-implemented", "this Transfer-Encoding is not supported; send chunked or none"),
}
