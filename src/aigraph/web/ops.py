"""Named queries over HTTP, health, statistics and the OpenAPI description."""

from __future__ import annotations

import dataclasses
import time

from flask import Blueprint, current_app, jsonify, render_template, request, url_for
from werkzeug.wrappers import Response

from aigraph import formats, queries
from aigraph.errors import BadRequest
from aigraph.web import urls
from aigraph.web.context import core, wants_html
from aigraph.web.openapi import openapi
from aigraph.web.request_log import request_log
from aigraph.web.sparql import admission, answer, choose_offer, page_context

blueprint = Blueprint("pages", __name__)


@blueprint.get("/queries")
def query_list() -> Response:
    """List the named queries with title, description and parameters (HTML or JSON)."""
    listed = []
    for named in core().named.values():
        item = named.to_dict()
        item["url"] = urls.public_base() + url_for("pages.named_query", name=named.name)
        listed.append(item)
    if wants_html([formats.JSON]):
        html = render_template("queries.html", **page_context(), queries_listed=listed)
        return Response(html, mimetype=formats.HTML.media_type)
    return jsonify({"queries": listed})


@blueprint.get("/queries/<name>")
def named_query(name: str) -> Response:
    """Run a named query; parameters come from the query string and are bound, not pasted."""
    named = queries.lookup(core().named, name)
    params = {k: v for k, v in request.args.items() if k != "format"}
    unknown = set(params) - {p.name for p in named.params} - {"lang"}
    if unknown:
        declared = ", ".join(p.name for p in named.params) or "none"
        raise BadRequest(
            f"unknown parameter(s) {', '.join(sorted(unknown))} for {name!r}; it takes: {declared}"
        )
    checked = core().check(named.text)  # the server's one check; the worker re-checks
    request_log().note_query(named.text, checked.form)
    offer = choose_offer(checked.form, request.args.getlist("format"))
    bindings = named.bind(params)
    return answer(lambda: core().answer(checked, offer, bindings=bindings))


@blueprint.get("/healthz")
def healthz() -> Response:
    """Liveness: the process answers and holds a graph (never waits for a query worker)."""
    return jsonify({"status": "ok", "triples": core().triple_count})


@blueprint.get("/stats")
def stats() -> Response:
    """Counters: queries served, errors, timeouts, triples loaded, engine statistics."""
    metrics = current_app.extensions["aigraph.metrics"]
    aigraph = core()
    counts = metrics.snapshot()
    engine_stats: dict[str, int] = getattr(aigraph.engine, "stats", lambda: {})()
    return jsonify(
        {
            "engine": aigraph.engine.name,
            "triples": aigraph.triple_count,
            "named_graphs": aigraph.engine.graph_count(),
            "uptime_seconds": round(time.time() - metrics.started, 3),
            "queries": counts.get("queries", 0),
            "errors": counts.get("errors", 0),
            "timeouts": counts.get("timeouts", 0),
            "truncated": counts.get("truncated", 0),
            "counters": counts,
            "engine_stats": engine_stats,
            "sandbox": dataclasses.asdict(aigraph.confinement()),
            "validated": aigraph.validated,
            "metadata_missing": [str(gap) for gap in aigraph.metadata_gaps],
        }
    )


@blueprint.get("/metrics")
def metrics() -> Response:
    """Counters, gauges and a latency histogram in the Prometheus text format."""
    aigraph = core()
    engine_stats: dict[str, int] = getattr(aigraph.engine, "stats", lambda: {})()
    metrics_ = current_app.extensions["aigraph.metrics"]
    gauges = {
        "triples_loaded": (aigraph.triple_count, "Triples of the loaded dataset."),
        "in_flight_requests": (metrics_.in_flight, "Requests being answered now."),
        "worker_restarts": (
            engine_stats.get("restarts", 0),
            "Query worker processes replaced after a timeout or crash.",
        ),
        "queries_in_progress": (
            admission().in_progress(),
            "Endpoint and named queries running, waiting or streaming.",
        ),
        "queries_waiting": (
            engine_stats.get("waiting", 0),
            "Queries waiting for a free query worker.",
        ),
        "uptime_seconds": (time.time() - metrics_.started, "Seconds since the app started."),
    }
    counters = {  # the SERVICE broker's, with --allow-service
        name: (engine_stats[name], help_text)
        for name, help_text in _SERVICE_COUNTERS.items()
        if name in engine_stats
    }
    return Response(metrics_.prometheus(gauges, counters), mimetype="text/plain; version=0.0.4")


_SERVICE_COUNTERS = {
    "service_connections": "Connections the SERVICE broker opened to allow-listed endpoints.",
    "service_refused": "SERVICE connections the broker refused (not allow-listed, unreachable).",
}


@blueprint.get("/openapi.json")
def openapi_json() -> Response:
    return jsonify(openapi(urls.public_base()))
