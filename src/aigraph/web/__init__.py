"""The Flask adapter over the aigraph core: ``create_app`` is the one way to build the app."""

from __future__ import annotations

import itertools
import json
import logging
import time
import uuid

from flask import Flask, current_app, g, request
from werkzeug.wrappers import Response

from ..core import Aigraph
from ..errors import HeadersTooLarge
from ..settings import Settings
from . import errors, linked_data, pages, publishing, sparql
from .metrics import Metrics

EXTENSION = "aigraph"

#: One JSON line per request (configured by ``aigraph serve``; silent in tests).
access_log = logging.getLogger("aigraph.access")


def create_app(settings: Settings | None = None, core: Aigraph | None = None) -> Flask:
    """Build the web app over ``core`` (opened from ``settings`` when not given)."""
    if core is None:
        core = Aigraph.open(settings or Settings.from_env())
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = core.settings.max_body
    app.config["JSON_SORT_KEYS"] = False
    app.extensions[EXTENSION] = core
    app.extensions["aigraph.metrics"] = Metrics()
    app.before_request(_start_request)
    app.after_request(_finish_request)
    errors.register(app)
    app.register_blueprint(sparql.blueprint)
    app.register_blueprint(pages.blueprint)
    app.register_blueprint(publishing.blueprint)
    app.register_blueprint(linked_data.blueprint)
    return app


#: Most bytes of request headers taken; larger ones get a 431 in the one error shape.
MAX_HEADER_BYTES = 32 * 1024


_REQUEST_IDS = itertools.count(1)
_PROCESS_TAG = uuid.uuid4().hex[:8]


def _new_request_id() -> str:
    """Return an id unique to this server process and request (cheaper than a UUID each)."""
    return f"{_PROCESS_TAG}-{next(_REQUEST_IDS):x}"


def _start_request() -> None:
    g.started = time.perf_counter()
    current_app.extensions["aigraph.metrics"].begin()
    incoming = request.headers.get("X-Request-Id", "")
    g.request_id = incoming if 0 < len(incoming) <= 64 and incoming.isprintable() else None
    g.request_id = g.request_id or _new_request_id()
    size = sum(len(k) + len(str(v)) for k, v in request.headers.items())
    if size > MAX_HEADER_BYTES:
        raise HeadersTooLarge(
            f"the request headers are {size} bytes, over the limit of {MAX_HEADER_BYTES}"
        )


def _finish_request(response: Response) -> Response:
    seconds = time.perf_counter() - g.get("started", time.perf_counter())
    info = g.get("query_info", {})
    current_app.extensions["aigraph.metrics"].observe(
        response.status_code, info.get("form", "none"), seconds
    )
    if access_log.isEnabledFor(logging.INFO):
        access_log.info(json.dumps({
            "request_id": g.get("request_id", ""),
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "bytes": response.calculate_content_length(),
            "ms": round(seconds * 1000, 3),
            **info,
        }, ensure_ascii=False))
    response.headers["X-Request-Id"] = g.get("request_id", "")
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Expose-Headers"] = (
        "X-Request-Id, X-Aigraph-Truncated, X-Aigraph-Row-Limit, Content-Location, ETag"
    )
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return response
