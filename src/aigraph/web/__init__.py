"""The Flask adapter over the aigraph core: ``create_app`` is the one way to build the app."""

from __future__ import annotations

import json
import logging
import time

from flask import Flask, current_app, g, request
from werkzeug.wrappers import Response

from aigraph import logs
from aigraph.core import Aigraph
from aigraph.errors import HeadersTooLarge
from aigraph.settings import Settings
from aigraph.web import context, errors, linked_data, ops, publishing, sparql, urls
from aigraph.web import strings as ui_strings
from aigraph.web.metrics import Metrics
from aigraph.web.request_log import request_log

EXTENSION = context.EXTENSION

#: One JSON line per request (configured by ``aigraph serve``; silent in tests).
access_log = logging.getLogger("aigraph.access")


def create_app(settings: Settings | None = None, core: Aigraph | None = None) -> Flask:
    """Build the web app over ``core`` (opened from ``settings`` when not given).

    With both given, ``core`` answers the queries and ``settings`` says how the site is
    addressed (``public_url``, ``allowed_hosts``).
    """
    if core is None:
        core = Aigraph.open(settings or Settings.from_env())
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = core.settings.max_body
    app.config["JSON_SORT_KEYS"] = False
    app.extensions[EXTENSION] = core
    app.extensions["aigraph.metrics"] = Metrics()
    app.extensions[urls.EXTENSION] = urls.HostPolicy.from_settings(settings or core.settings)
    app.jinja_env.globals["local_path"] = urls.local_path
    app.jinja_env.globals["language"] = ui_strings.language
    app.jinja_env.globals["page_lang"] = context.lang
    app.jinja_env.globals["page_policy"] = PAGE_POLICY
    app.jinja_env.globals["referrer_policy"] = REFERRER_POLICY
    ui_strings.register(app.jinja_env.globals)
    logs.install()
    app.before_request(_start_request)
    app.after_request(_finish_request)
    errors.register(app)
    app.register_blueprint(sparql.blueprint)
    app.register_blueprint(ops.blueprint)
    app.register_blueprint(publishing.blueprint)
    app.register_blueprint(linked_data.blueprint)
    return app


#: Scripts and styles only from this site, no inline script, no plugins, no framing, forms
#: only to this site. The pages keep their JavaScript in ``static/`` and their settings in a
#: ``<script type="application/json">`` data block, which is never executed.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
#: The same policy in each page's ``<meta>``, for copies made by ``aigraph publish`` that a
#: static host serves without headers (``frame-ancestors`` only works as a header).
PAGE_POLICY = CONTENT_SECURITY_POLICY.replace("; frame-ancestors 'none'", "")
#: Other sites learn at most this site's origin, never a page's URL (which may hold a query).
REFERRER_POLICY = "strict-origin-when-cross-origin"


#: Headers every answer carries; no view sets them, so they are added in one step.
_EVERY_ANSWER = (
    ("Access-Control-Allow-Origin", "*"),
    (
        "Access-Control-Expose-Headers",
        "X-Request-Id, X-Aigraph-Truncated, X-Aigraph-Row-Limit, Content-Location, ETag",
    ),
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("Referrer-Policy", REFERRER_POLICY),
    ("X-Frame-Options", "DENY"),
)
#: Request headers WSGI keeps outside ``HTTP_*`` (their ``HTTP_*`` copies are not headers).
_UNPREFIXED = frozenset({"CONTENT_TYPE", "CONTENT_LENGTH"})
_COPIES = frozenset({"HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"})


def _start_request() -> Response | None:
    g.started = time.perf_counter()
    extensions = current_app.extensions
    extensions["aigraph.metrics"].begin()
    environ = request.environ
    incoming = environ.get("HTTP_X_REQUEST_ID", "")
    valid = 0 < len(incoming) <= 64 and incoming.isprintable()
    g.request_id = incoming if valid else logs.new_request_id()
    if not urls.host_allowed():
        return errors.error_response(
            400,
            "host-not-allowed",
            "this server does not answer to the host name in the Host header "
            "(see the allowed_hosts and public_url settings)",
        )
    size = header_bytes(environ)
    limit = extensions[EXTENSION].settings.max_header_bytes
    if size > limit:
        raise HeadersTooLarge(f"the request headers are {size} bytes, over the limit of {limit}")
    return None


def header_bytes(environ: dict[str, object]) -> int:
    """Return the size of the request's headers: names and values, as ``request.headers``
    lists them (read from the environ, without building the header names)."""
    size = 0
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            if key not in _COPIES:
                size += len(key) - 5 + len(str(value))
        elif key in _UNPREFIXED and value:
            size += len(key) + len(str(value))
    return size


def _finish_request(response: Response) -> Response:
    seconds = time.perf_counter() - g.get("started", time.perf_counter())
    noted = request_log()
    current_app.extensions["aigraph.metrics"].observe(
        response.status_code, noted.form or "none", seconds
    )
    request_id = g.get("request_id", "")
    if access_log.isEnabledFor(logging.INFO):
        access_log.info(
            json.dumps(
                {
                    "request_id": request_id,
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "bytes": response.calculate_content_length(),
                    "ms": round(seconds * 1000, 3),
                    **noted.fields(),
                },
                ensure_ascii=False,
            )
        )
    headers = response.headers
    headers["X-Request-Id"] = request_id
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.extend(_EVERY_ANSWER)
    urls.uncache_host_answers(response)
    return response
