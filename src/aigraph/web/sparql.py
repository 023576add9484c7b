"""The SPARQL 1.1 Protocol endpoint at ``/sparql``: parse, execute, negotiate, serialise."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from flask import Blueprint, current_app, render_template, request
from werkzeug.wrappers import Response

from aigraph import formats, protocol, results
from aigraph.core import Aigraph
from aigraph.describe import service as describe
from aigraph.export import GENERATED_PREFIX, WELL_KNOWN_PREFIXES, choose_prefixes
from aigraph.model import Answer
from aigraph.pages import labels as naming
from aigraph.pages.resource import SHAPES_NS
from aigraph.web import urls
from aigraph.web.admission import Admission
from aigraph.web.context import core, lang, wants, wants_html
from aigraph.web.request_log import request_log

blueprint = Blueprint("sparql", __name__)

_CORS_PREFLIGHT = {
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type, Accept, X-Request-Id",
    "Access-Control-Max-Age": "86400",
}


@blueprint.route("/sparql", methods=["GET", "POST", "OPTIONS"])
def endpoint() -> Response:
    """Answer one query operation, or describe the service when no query is given."""
    if request.method == "OPTIONS":
        return Response(status=204, headers=_CORS_PREFLIGHT)
    parsed = protocol.parse(
        request.method,
        request.headers.get("Content-Type"),
        protocol.url_pairs(request.query_string),
        request.get_data(cache=False) if request.method == "POST" else b"",
    )
    if parsed.query is None:
        return service_description(parsed.formats)
    if not parsed.formats and wants_html((*formats.RESULTS, *formats.GRAPH)):
        return query_page(parsed.query)
    checked = core().check(parsed.query)  # the server's one check; the worker re-checks
    request_log().note_query(parsed.query, checked.form)
    offer = choose_offer(checked.form, parsed.formats)
    return answer(lambda: core().answer(checked, offer, dataset=parsed.dataset))


def admission() -> Admission:
    """Return the app's per-client admission (made on first use)."""
    found: Admission | None = current_app.extensions.get("aigraph.admission")
    if found is None:
        settings = core().settings
        made = Admission(settings.max_client_queries, settings.retry_after)
        found = current_app.extensions.setdefault("aigraph.admission", made)
    return found


def answer(run: Callable[[], Answer]) -> Response:
    """Run a query within the client's share and send its answer.

    The client's share is held until the answer is complete: a streamed answer keeps it
    until the last byte is sent or the client goes away.
    """
    release = admission().enter(request.remote_addr)
    written: Answer | None = None
    try:
        written = run()
        response = answer_response(written)
    except BaseException:
        if written is not None and written.stream is not None:
            written.stream.close()
        release()
        raise
    if written.stream is None:
        release()
    else:
        # In flight until the last byte is sent: a graceful stop waits for it.
        metrics = current_app.extensions["aigraph.metrics"]
        metrics.begin()
        written.stream.on_close(metrics.end)
        written.stream.on_close(release)
    return response


def choose_offer(form: str, explicit: Sequence[str] = ()) -> formats.Offer:
    """Choose the result format from ``format=`` values, else from the Accept header."""
    table = formats.offers_for(form)
    return wants(table, explicit=formats.pick_format(explicit, table), html=False)


def answer_response(written: Answer) -> Response:
    """Send ``written``, making any truncation visible in headers."""
    if written.stream is not None:
        # A large answer, forwarded piece by piece as the query worker sends it: never
        # gathered here (no implicit conversion to a list, for a length or anything else).
        response = Response(written.stream, content_type=written.media_type)
        response.implicit_sequence_conversion = False
        response.content_length = written.stream.size
    else:
        response = Response(written.body, content_type=written.media_type)
    response.headers["Vary"] = "Accept"
    current_app.extensions["aigraph.metrics"].count("queries")
    request_log().note_result(written.count, written.truncated)
    if written.truncated:
        current_app.extensions["aigraph.metrics"].count("truncated")
        response.headers["X-Aigraph-Truncated"] = "true"
        response.headers["X-Aigraph-Row-Limit"] = str(written.limit)
    return response


def service_description(explicit: Sequence[str]) -> Response:
    """Describe the service (RDF) or show the query page (browsers)."""
    if not explicit and wants_html(formats.GRAPH):
        return query_page()
    offer = choose_offer("describe", explicit)
    endpoint_url = urls.absolute(request.path)
    settings = core().settings
    graph = describe.service_description(
        core().facts,
        endpoint_url=endpoint_url,
        base=settings.base,
        allowed_services=settings.allow_service.split(),
    )
    response = Response(results.serialize_graph(graph, offer), mimetype=offer.media_type)
    response.headers["Vary"] = "Accept"
    return response


def query_page(query: str | None = None) -> Response:
    """Render the browser query page, optionally with a query to run."""
    html = render_template("query.html", **page_context(query))
    return Response(html, mimetype=formats.HTML.media_type)


def page_context(query: str | None = None) -> dict[str, object]:
    aigraph = core()
    return {
        "prefixes": prefix_block(aigraph),
        "queries": [q.to_dict() for q in aigraph.named.values()],
        "endpoint": "/sparql",
        "default_query": query or DEFAULT_QUERY,
        "result_formats": [{"name": o.name, "label": o.title} for o in formats.RESULTS],
        "graph_formats": [
            {"name": o.name, "label": o.title, "extension": o.extension} for o in formats.GRAPH
        ],
        "lang": lang(),
        "autorun": query is not None,
        "base": aigraph.settings.base.rstrip("/"),
        "name_prefixes": name_prefixes(aigraph),
        "links": naming.page_links(SHAPES_NS),
    }


def name_prefixes(aigraph: Aigraph) -> dict[str, str]:
    """Return the data's prefixes for its own resources (``orgn:``), to shorten result IRIs."""
    base = aigraph.settings.base.rstrip("/") + "/"
    return {p: n for p, n in sorted(aigraph.prefixes.items()) if n.startswith(base)}


DEFAULT_QUERY = """SELECT ?resource ?label WHERE {
  ?resource rdfs:label ?label .
  FILTER(lang(?label) = "en")
}
ORDER BY ?label
LIMIT 50"""


def prefix_block(aigraph: Aigraph) -> str:
    """Return PREFIX lines for the vocabularies the data is written in.

    A prefix the data declares is offered when its namespace is that of a predicate or class
    of the data (the names queries are written with): not rdflib's stock prefixes, not the
    namespaces of the resources themselves.
    """
    used = set(aigraph.facts.vocabularies)
    declared = {
        prefix: namespace
        for prefix, namespace in aigraph.prefixes.items()
        if namespace in used and not GENERATED_PREFIX.fullmatch(prefix)
    }
    # A used vocabulary the data names only by a generated prefix (schema1) gets its usual one.
    known = {p: n for p, n in WELL_KNOWN_PREFIXES.items() if n in used}
    chosen = choose_prefixes(declared, known)
    return "\n".join(f"PREFIX {p}: <{n}>" for p, n in sorted(chosen.items()))
