"""Linked data: every IRI minted under the base dereferences on this server, by its path.

Cool URIs by content negotiation at the IRI itself (no 303): ``/id/<kind>/<name>``
answers ``200`` in the negotiated format with ``Vary: Accept`` and a ``Content-Location``
naming the format-specific document (``/id/<kind>/<name>.ttl``, ``.html``, ...), which
answers the same bytes directly. Each request is a short pipeline: resolve the path to an IRI
and a format, build the body from the core (``aigraph.pages.resource``), answer conditionally.

An IRI outside the base (another namespace, a hash IRI such as ``brick:Equipment``) that the
data holds has the same page and documents at ``/resource?iri=<IRI>`` and
``/resource.<ext>?iri=<IRI>``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from flask import Blueprint, render_template, request
from rdflib import Dataset, Graph, URIRef
from rdflib.namespace import OWL
from rdflib.term import Node
from werkzeug.wrappers import Response

from aigraph import export, formats, results
from aigraph.errors import BadRequest, NotAcceptable, NotFound, UsageError
from aigraph.pages import labels as naming
from aigraph.pages import resource as resources
from aigraph.pages import vocabulary
from aigraph.queries import ABSOLUTE_IRI
from aigraph.settings import CANONICAL_BASE
from aigraph.web import cache
from aigraph.web.context import core, lang, wants

blueprint = Blueprint("linked_data", __name__)
_T = TypeVar("_T")

HTML = formats.HTML
#: What a resource IRI can be negotiated to; without an Accept preference, Turtle.
OFFERS: tuple[formats.Offer, ...] = (*formats.GRAPH, HTML)
_BY_EXTENSION = {offer.extension: offer for offer in OFFERS}
#: The longest IRI ``/resource?iri=`` accepts (longer ones are refused with a 400).
MAX_IRI_LENGTH = 2048


@dataclass(frozen=True)
class Target:
    """What a request asks for: the document path (without extension) and the chosen format."""

    path: str
    offer: formats.Offer
    negotiated: bool
    lang: str
    #: The query string that names the resource (``?iri=...``) at ``/resource``, else ''.
    query: str = ""


@blueprint.get("/id/<path:rest>")
def resource(rest: str) -> Response:
    """Describe a resource minted under ``<base>/id/``."""
    return _dereference(f"/id/{rest}")


@blueprint.get("/resource")
def any_resource() -> Response:
    """Describe an IRI of the data, under the base or not: ``/resource?iri=<IRI>``."""
    return _any_resource(None)


@blueprint.get("/resource.<ext>")
def any_resource_document(ext: str) -> Response:
    """The description of ``?iri=`` in the format named by the extension."""
    return _any_resource(_extension(ext))


@blueprint.get("/graph/<path:rest>")
def named_graph(rest: str) -> Response:
    """Describe a named graph: its statements and its provenance."""
    return _dereference(f"/graph/{rest}")


@blueprint.get("/ontology")
def ontology() -> Response:
    """Document the ontology (HTML) or return it (Turtle, JSON-LD, RDF/XML, ...)."""
    return _ontology(_target("/ontology", None))


@blueprint.get("/ontology.<ext>")
def ontology_document(ext: str) -> Response:
    return _ontology(_target("/ontology", _extension(ext)))


@blueprint.get("/ontology/<path:rest>")
def ontology_version(rest: str) -> Response:
    """Answer for the version IRI of the ontology with the ontology."""
    path, offer = _split(f"/ontology/{rest}")
    if URIRef(_base() + "/ontology") not in _version_iris(path):
        raise NotFound(f"there is no ontology version at {request.path}")
    return _ontology(_target(path, offer))


@blueprint.get("/shapes")
def shapes() -> Response:
    """Show the SHACL shapes as a data contract (HTML) or return them as RDF."""
    return _shapes(_target("/shapes", None))


@blueprint.get("/shapes.<ext>")
def shapes_document(ext: str) -> Response:
    return _shapes(_target("/shapes", _extension(ext)))


# -- the pipeline -------------------------------------------------------------------------------


def _base() -> str:
    return core().settings.base.rstrip("/")


def _extension(ext: str) -> formats.Offer:
    offer = _BY_EXTENSION.get(ext.lower())
    if offer is None:
        raise NotFound(f"there is nothing at {request.path} (no format with extension .{ext})")
    return offer


def _split(path: str) -> tuple[str, formats.Offer | None]:
    """Split a known format extension off ``path`` unless the full path is itself an IRI."""
    extension = _extension_of(path)
    if extension is None or _exists(URIRef(_base() + path)):
        return path, None
    return extension


def _extension_of(path: str) -> tuple[str, formats.Offer] | None:
    """Return the stem of ``path`` and the format its extension names, if it names one."""
    stem, dot, ext = path.rpartition(".")
    if not dot or "/" in ext or ext.lower() not in _BY_EXTENSION:
        return None
    return stem, _BY_EXTENSION[ext.lower()]


def _exists(iri: URIRef) -> bool:
    """Tell whether ``iri`` occurs in the data (one ASK per data version)."""
    aigraph = core()
    return _cached(("exists", str(iri)), lambda: aigraph.exists(iri))


def _target(path: str, offer: formats.Offer | None) -> Target:
    if offer is not None:
        return Target(path, offer, False, lang())
    chosen = wants(formats.GRAPH, explicit=request.args.get("format"))
    return Target(path, chosen, True, lang())


def _dereference(path: str) -> Response:
    for reading in _readings(path):  # a tag this server gave: nothing to look up or build
        if (unchanged := _not_modified(reading)) is not None:
            return unchanged
    path, offer = _split(path)
    iri = URIRef(_base() + path)
    try:
        target = _target(path, offer)
    except (NotAcceptable, UsageError):
        if not _exists(iri):  # a missing resource is a 404 whatever the Accept header says
            raise NotFound(f"there is no resource {iri} in this dataset") from None
        raise
    return _answer(target, lambda: _resource_body(iri, target))


def _iri_parameter() -> URIRef:
    """Return the ``iri`` parameter of the request, or a 400 saying what to send."""
    given = request.args.getlist("iri")
    if len(given) != 1 or not given[0]:
        raise BadRequest("give the IRI of one resource as ?iri=<absolute IRI, percent-encoded>")
    iri = given[0]
    if len(iri) > MAX_IRI_LENGTH:
        raise BadRequest(f"the IRI is {len(iri)} characters long; at most {MAX_IRI_LENGTH}")
    if not ABSOLUTE_IRI.match(iri):
        raise BadRequest(
            "the iri parameter must be an absolute IRI (a scheme such as https:, no spaces, "
            'no <>"{}|^`\\)'
        )
    return URIRef(iri)


def _any_resource(offer: formats.Offer | None) -> Response:
    iri = _iri_parameter()
    query = naming.resource_path(str(iri))[len(naming.RESOURCE_PAGE) :]
    try:
        target = _target(naming.RESOURCE_PAGE, offer)
    except (NotAcceptable, UsageError):
        if not _exists(iri):  # a missing resource is a 404 whatever the Accept header says
            raise NotFound(f"there is no resource {iri} in this dataset") from None
        raise
    target = Target(target.path, target.offer, target.negotiated, target.lang, query)
    return _answer(target, lambda: _resource_body(iri, target))


def _readings(path: str) -> list[Target]:
    """Return what ``path`` may ask for: the IRI itself, or the stem in its extension's format."""
    readings = [(path, None), *filter(None, [_extension_of(path)])]
    found = []
    for stem, offer in readings:
        try:
            found.append(_target(stem, offer))
        except (NotAcceptable, UsageError):
            continue
    return found


def _resource_body(iri: URIRef, target: Target) -> bytes:
    """Build the page or document of ``iri``: the one look-up of its surroundings."""
    dataset = core().dataset_around(iri)
    if not resources.exists(dataset, iri):
        raise NotFound(f"there is no resource {iri} in this dataset")
    if target.offer is HTML:
        return _render_resource(dataset, iri, target)
    return _rdf(resources.describe(dataset, iri, _base()), target.offer)


def _ontology(target: Target) -> Response:
    if target.offer is HTML:
        return _answer(
            target, lambda: _page("ontology.html", target, model=_ontology_model(target))
        )
    return _answer(
        target,
        lambda: _rdf(resources.ontology_document(core().ontology_dataset, _base()), target.offer),
    )


def _ontology_model(target: Target) -> object:
    return _cached(
        ("ontology-model", target.lang),
        lambda: vocabulary.ontology_model(
            core().ontology_dataset, _base(), target.lang, _prefixes()
        ),
    )


def _shapes(target: Target) -> Response:
    if target.offer is HTML:
        return _answer(target, lambda: _page("shapes.html", target, model=_shapes_model(target)))
    turtle = vocabulary.shapes_turtle(core().project.validation_shapes())
    if target.offer.name == "turtle" and turtle is not None:  # the files, with their comments
        return _answer(target, lambda: turtle)
    return _answer(target, lambda: _rdf(_shapes_graph(), target.offer))


def _shapes_graph() -> Graph:
    """The shapes the project's data is validated against (none: an empty graph)."""
    files = core().project.validation_shapes()
    return _cached(
        ("shapes-graph",), lambda: vocabulary.load_shapes(files), lambda graph: len(graph) * 200
    )


def _shapes_model(target: Target) -> object:
    return _cached(
        ("shapes-model", target.lang),
        lambda: vocabulary.shapes_model(
            _shapes_graph(), core().ontology_dataset, _base(), target.lang, _prefixes()
        ),
    )


def _version_iris(path: str) -> set[Node]:
    """Return the ontologies whose owl:versionIRI is ``<base><path>``."""
    return set(core().ontology_dataset.subjects(OWL.versionIRI, URIRef(_base() + path)))


def _rdf(source: object, offer: formats.Offer) -> bytes:
    return results.serialize_graph(source, offer, prefixes=_prefixes())  # type: ignore[arg-type]


def _prefixes() -> dict[str, str]:
    """Return the data's prefixes (not those rdflib generated, such as ``schema1``), moved with
    the data: a namespace under the canonical base is under the served base."""
    base = _base()
    return {
        p: base + n[len(CANONICAL_BASE) :] if n.startswith(CANONICAL_BASE + "/") else n
        for p, n in core().prefixes.items()
        if not export.GENERATED_PREFIX.fullmatch(p)
    }


def _render_resource(dataset: Dataset, iri: URIRef, target: Target) -> bytes:
    model = resources.page_model(dataset, iri, _base(), target.lang, _prefixes())
    return _page("resource.html", target, page=model)


def _page(template: str, target: Target, **values: object) -> bytes:
    downloads = [
        {
            "label": offer.title,
            "href": f"{target.path}.{offer.extension}{target.query}",
            "media_type": offer.media_type,
        }
        for offer in formats.GRAPH
    ]
    html = render_template(
        template, lang=target.lang, downloads=downloads, page_query=target.query, **values
    )
    return html.encode("utf-8")


def _cached(
    key: tuple[object, ...], build: Callable[[], _T], cost: Callable[[_T], int] | None = None
) -> _T:
    """Return ``build()``, computed once per data version while the web cache keeps it."""
    return cache.cached(("linked-data", *key), build, cost)


def _answer(target: Target, body: Callable[[], bytes]) -> Response:
    """Answer with the body, its validators and, at a negotiated IRI, Vary and Content-Location.

    A client holding the current ETag gets its 304 before anything is looked up or built.
    """
    unchanged = _not_modified(target)
    if unchanged is not None:
        return unchanged
    lang = target.lang if target.offer is HTML else ""
    data = _cached(("body", target.path + target.query, target.offer.name, lang), body)
    return _with_validators(Response(data, content_type=target.offer.content_type), target)


def _not_modified(target: Target) -> Response | None:
    """Return the 304 for a request whose If-None-Match names the ETag of ``target``, or None.

    Only tags this server gave for the current data match, and it gives them only for what
    exists, so the answer needs no look-up. ``*`` is left to the full pipeline (a missing
    resource is a 404 whatever the preconditions say).
    """
    if not request.if_none_match or request.if_none_match.star_tag:
        return None
    response = _with_validators(Response(b"", content_type=target.offer.content_type), target)
    return response if response.status_code == 304 else None


def _with_validators(response: Response, target: Target) -> Response:
    lang = target.lang if target.offer is HTML else ""
    tag = f"{core().version}|{target.path}{target.query}|{target.offer.name}|{lang}"
    response.set_etag(hashlib.sha256(tag.encode()).hexdigest()[:32])
    if (last_modified := core().last_modified) is not None:  # None: the data states no date
        response.headers["Last-Modified"] = last_modified
    response.headers["Content-Location"] = _document(target)
    if target.negotiated:
        response.headers["Vary"] = "Accept"
    return response.make_conditional(request)


def _document(target: Target) -> str:
    """Return the path of the format-specific document (the Content-Location)."""
    document = f"{target.path}.{target.offer.extension}{target.query}"
    if target.offer is HTML and request.args.get("lang") == target.lang:
        document += f"{'&' if target.query else '?'}lang={target.lang}"
    return document
