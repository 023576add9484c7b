"""The one place errors become HTTP responses, with one body shape for every error.

JSON ``{"error": kind, "status": code, "message": text, "request_id": id}`` (plus ``details``
where an error has them) for programs; the same fields rendered as an HTML page for browsers.
An ``AigraphError`` is sent as its ``to_body()`` with the request id added.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from flask import Flask, current_app, g, jsonify, render_template, request
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from aigraph import formats
from aigraph.errors import (
    HTTP_KINDS,
    AigraphError,
    Forbidden,
    Overloaded,
    QueryTimeout,
    TooManyQueries,
)
from aigraph.web.context import wants_html
from aigraph.web.request_log import request_log

log = logging.getLogger("aigraph.web")


def register(app: Flask) -> None:
    app.register_error_handler(AigraphError, _aigraph_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)


def error_response(status: int, kind: str, message: str, details: Any = None) -> Response:
    """Return the error body for ``status`` in the form the client prefers."""
    body: dict[str, Any] = {"error": kind, "status": status, "message": message}
    if details:
        body["details"] = details
    return _send(body)


def _send(body: dict[str, Any], allow: Iterable[str] | None = None) -> Response:
    """Send ``body`` (an error body, as ``AigraphError.to_body`` makes) with the request id."""
    status = body["status"]
    metrics = current_app.extensions.get("aigraph.metrics")
    if metrics is not None:
        metrics.count("errors", f"status_{status}")
    body = {**body, "request_id": g.get("request_id", "")}
    if wants_html([formats.JSON]):
        html = render_template("error.html", **body)
        response = Response(html, status=status, mimetype=formats.HTML.media_type)
    else:
        response = jsonify(body)
        response.status_code = status
    if status == 405:
        response.headers["Allow"] = ", ".join(sorted(allow or _allowed_methods()))
    return response


def _allowed_methods() -> Iterable[str]:
    """Return the methods the router takes at this request's path (its ``valid_methods``)."""
    adapter = current_app.create_url_adapter(request)
    return adapter.allowed_methods() if adapter is not None else ()


def _aigraph_error(exc: AigraphError) -> Response:
    request_log().note_error(exc)
    if isinstance(exc, QueryTimeout):
        current_app.extensions["aigraph.metrics"].count("timeouts")
    if isinstance(exc, Forbidden):
        current_app.extensions["aigraph.metrics"].count("rejected_updates")
    if isinstance(exc, Overloaded | TooManyQueries):
        # Load shedding is the server working as designed: counted, not logged as an error.
        current_app.extensions["aigraph.metrics"].count("shed")
    elif exc.status >= 500 and not isinstance(exc, QueryTimeout):
        log.error("%s: %s", exc.kind, exc.message)
    response = _send(exc.to_body())
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


def _http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    kind, message = HTTP_KINDS.get(status, ("http-error", exc.description or "error"))
    if status == 413:
        message = message.format(max_body=current_app.config.get("MAX_CONTENT_LENGTH"))
    elif status == 405:
        message = f"method {request.method} is not allowed on {request.path}"
    elif status == 404:
        message = f"there is nothing at {request.path}"
    return _send(
        {"error": kind, "status": status, "message": message},
        allow=getattr(exc, "valid_methods", None),
    )


def _unexpected(exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.path)
    return error_response(500, *HTTP_KINDS[500])
