"""Publishing: the landing page, the dumps, the DCAT-AP catalogue and the VoID description.

Every response here is built from bytes computed once per data version (dumps) or once per
site URL and format (descriptions, kept in the bounded web cache), carries a strong ``ETag``
(a hash of the bytes), ``Last-Modified`` (the newest data file) and ``Cache-Control``, and
answers conditional requests with 304.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import date
from typing import Any

from flask import Blueprint, Flask, current_app, redirect, render_template, request
from markupsafe import Markup
from rdflib import URIRef
from werkzeug.wrappers import Response

from aigraph import formats, results
from aigraph.core import Aigraph
from aigraph.describe.common import Distribution, Metadata, distributions, text_in
from aigraph.describe.dcat import catalog as catalog_graph
from aigraph.describe.schema_org import schema_dataset_jsonld
from aigraph.describe.void import void as void_graph
from aigraph.errors import NotFound
from aigraph.pages import labels as naming
from aigraph.pages import resource as resources
from aigraph.site import build as publish
from aigraph.web import cache, urls
from aigraph.web.context import core, wants, wants_html
from aigraph.web.context import lang as page_lang

blueprint = Blueprint("publishing", __name__)

CACHE_CONTROL = "public, max-age=3600"
#: Formats of the catalogue and VoID, each also at ``<path>.<ext>``; the first is the default
#: of the catalogue (RDF/XML is what dataportal.se harvests), VoID defaults to Turtle.
CATALOG_OFFERS = formats.DESCRIBED
_BY_EXT: dict[str, formats.Offer] = {offer.extension: offer for offer in CATALOG_OFFERS}
#: The file suffixes the catalogue and the VoID description are offered under.
DESCRIBED_SUFFIXES = tuple(_BY_EXT)
VOID_DEFAULT = formats.graph_offer("turtle")


class Publication:
    """The dumps of the loaded data (built once) and the descriptions rendered from them."""

    def __init__(self, aigraph: Aigraph) -> None:
        self.core = aigraph
        self._lock = threading.Lock()
        self._dumps: publish.Dumps | None = None

    def dumps(self) -> publish.Dumps:
        with self._lock:
            if self._dumps is None or self._dumps.version != self.core.version:
                data = self.core.dumps()
                # A source that offers no dumps (a store, a backend): none catalogued, rather
                # than empty files that claim to be the data.
                self._dumps = (
                    publish.Dumps(self.core.version, {})
                    if data is None
                    else publish.build_dumps(data, self.core.version)
                )
            return self._dumps

    def cached(self, key: tuple[str, ...], build: Callable[[], bytes]) -> bytes:
        """Return the bytes for ``key``, built once per data version while the web cache (bounded:
        a Host header cannot grow it) keeps them."""
        return cache.shared().fetch(cache.generation(self.core), ("publishing", *key), build)


def publication() -> Publication:
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]  # noqa: SLF001 - Flask's documented way to the app
    found = app.extensions.get("aigraph.publishing")
    if found is None or found.core is not core():
        found = app.extensions["aigraph.publishing"] = Publication(core())
    return found


def site_url() -> str:
    return urls.public_base()


def data_date() -> date | None:
    """Return the date of the data's last change, as the data or its metadata state it."""
    return core().dates.modified


def issued_date() -> date | None:
    """Return the date the dataset was first published, as stated (see ``aigraph.describe.dates``)."""
    return core().dates.issued


@blueprint.record_once
def _check_settings(state: Any) -> None:
    """Refuse malformed dates (settings, ``dataset.toml``) when the app is built."""
    _ = state.app.extensions["aigraph"].dates


def cacheable(body: bytes, media_type: str, **headers: str) -> Response:
    """Return ``body`` with validators and caching headers, or 304 when the client has it."""
    response = Response(body, content_type=media_type)
    response.set_etag(publish.etag(body))
    if (last_modified := core().last_modified) is not None:  # None: the data states no date
        response.headers["Last-Modified"] = last_modified
    response.headers["Cache-Control"] = CACHE_CONTROL
    response.headers.update(headers)
    return response.make_conditional(request)


# --- dumps ------------------------------------------------------------------------------------


@blueprint.get("/dumps/<name>")
def dump(name: str) -> Response:
    """Serve a dump, gzip-encoded when the client accepts it, or its ``.gz`` file."""
    found = publication().dumps().lookup(name)
    if found is None:
        raise NotFound(f"there is no dump {name!r}; see /catalog")
    item, is_gz = found
    inline = f"inline; filename={name}"
    if is_gz:
        return cacheable(item.gzipped, publish.GZIP_MEDIA_TYPE, **{"Content-Disposition": inline})
    headers = {"Content-Disposition": inline, "Vary": "Accept-Encoding"}
    if accepts_gzip():
        headers["Content-Encoding"] = "gzip"
        return cacheable(item.gzipped, item.media_type, **headers)
    return cacheable(item.data, item.media_type, **headers)


def accepts_gzip() -> bool:
    """Tell whether Accept-Encoding allows gzip at least as much as the identity encoding."""
    encodings = request.accept_encodings
    gzip_q = encodings["gzip"]
    identity_q = encodings["identity"] if "identity" in encodings.values() else 1
    return gzip_q > 0 and gzip_q >= identity_q


# --- catalogue and VoID -----------------------------------------------------------------------


def _catalog_bytes(offer: formats.Offer) -> bytes:
    aigraph, site = core(), site_url()

    def build() -> bytes:
        graph = catalog_graph(
            aigraph.facts,
            publication().dumps().raw(),
            site=site,
            base=aigraph.settings.base,
            modified=data_date(),
            issued=issued_date(),
            contact_email=aigraph.settings.contact_email,
            metadata=aigraph.metadata,
        )
        return results.serialize_graph(graph, offer)

    return publication().cached(("catalog", site, offer.name), build)


def _void_bytes(offer: formats.Offer) -> bytes:
    aigraph, site = core(), site_url()

    def build() -> bytes:
        graph = void_graph(
            aigraph.facts,
            publication().dumps().raw(),
            site=site,
            base=aigraph.settings.base,
            metadata=aigraph.metadata,
        )
        return results.serialize_graph(graph, offer)

    return publication().cached(("void", site, offer.name), build)


def _described(
    build: Callable[[formats.Offer], bytes], offer: formats.Offer, negotiated: bool
) -> Response:
    headers = {"Vary": "Accept"} if negotiated else {}
    return cacheable(build(offer), offer.content_type, **headers)


@blueprint.get("/catalog")
def catalog() -> Response:
    """The DCAT-AP catalogue: RDF/XML unless another RDF format (or HTML) is preferred."""
    explicit = request.args.get("format")
    if explicit is None and wants_html(CATALOG_OFFERS):
        return landing_response("catalog")
    offer = wants(CATALOG_OFFERS, explicit=explicit, html=False)
    return _described(_catalog_bytes, offer, negotiated=True)


@blueprint.get("/.well-known/void")
def void() -> Response:
    """The VoID description: Turtle unless another RDF format is preferred."""
    offer = wants(CATALOG_OFFERS, VOID_DEFAULT, explicit=request.args.get("format"), html=False)
    return _described(_void_bytes, offer, negotiated=True)


def _fixed(build: Callable[[formats.Offer], bytes], offer: formats.Offer) -> Callable[[], Response]:
    return lambda: _described(build, offer, negotiated=False)


for _ext, _offer in _BY_EXT.items():
    blueprint.add_url_rule(f"/catalog.{_ext}", f"catalog_{_ext}", _fixed(_catalog_bytes, _offer))
    blueprint.add_url_rule(f"/.well-known/void.{_ext}", f"void_{_ext}", _fixed(_void_bytes, _offer))


# --- landing page -----------------------------------------------------------------------------


@blueprint.get("/")
def landing() -> Response:
    """The landing page (HTML, also for ``*/*``); RDF clients are sent to the catalogue (303)."""
    if not wants_html(CATALOG_OFFERS, default=formats.HTML):
        response = redirect("/catalog", code=303)
        response.headers["Vary"] = "Accept"
        return response
    return landing_response("landing")


def landing_response(page: str) -> Response:
    """Render the landing page (``page='landing'``) or the catalogue's HTML view."""
    lang, site = page_lang(), site_url()
    body = publication().cached(
        ("html", page, lang, site),
        lambda: render_template("landing.html", **landing_context(page, lang, site)).encode(),
    )
    return cacheable(body, formats.HTML.content_type, Vary="Accept")


def landing_context(page: str, lang: str, site: str) -> dict[str, Any]:
    aigraph = core()
    facts, dumps = aigraph.facts, publication().dumps()
    base = aigraph.settings.base
    metadata = aigraph.metadata
    schema = schema_dataset_jsonld(
        facts, dumps.raw(), site=site, base=base, modified=data_date(), metadata=metadata
    )
    labels = dict(facts.labels)
    return {
        "page": page,
        "lang": lang,
        "title": text_in(metadata.title, lang),
        "description": text_in(metadata.description, lang),
        "validated": aigraph.validated,
        "metadata_gaps": [str(gap) for gap in aigraph.metadata_gaps],
        "licence": _licence(metadata, lang),
        "facts": facts,
        "named_graph_count": len(facts.named_graphs),
        "examples": [
            {
                "path": _page_path(iri, base),
                "iri": iri,
                "local": _page_path(iri, base) == publish.local_path(iri, base),
                "label": _label(aigraph, iri, lang) or labels.get(iri, iri.rsplit("/", 1)[-1]),
            }
            for iri in _main_resources(aigraph)
        ],
        "dumps": [_dump_row(d) for d in distributions(dumps.raw())],
        "gz_sizes": {d.ext: len(d.gzipped) for d in dumps.by_ext.values()},
        "description_formats": list(_BY_EXT.items()),
        "modified": modified.isoformat() if (modified := data_date()) else "",
        "schema_json": Markup(_script_json(schema)),  # noqa: S704 - _script_json escapes < > &
    }


def _page_path(iri: str, base: str) -> str:
    """Return the page of an IRI of the data: its path under the base, else ``/resource``."""
    path = publish.local_path(iri, base)
    return path if path and naming.SERVED_PATH.match(path) else naming.resource_path(iri)


def _licence(metadata: Metadata, lang: str) -> dict[str, str] | None:
    """The data licence and its title as ``dataset.ttl`` states them (None: it states none).

    ``href`` is the IRI when a page may link to it (http or https), else empty: shown, not linked.
    """
    if not metadata.data_license:
        return None
    titles = {
        str(title.language or ""): str(title)
        for iri, _, title in metadata.licence_documents
        if iri == metadata.data_license
    }
    return {
        "iri": metadata.data_license,
        "href": naming.outbound(metadata.data_license) or "",  # a link out only to http(s)
        "title": text_in(titles, lang) or metadata.data_license,
    }


def _main_resources(aigraph: Aigraph) -> list[str]:
    """Return the organisations, grants and people, then the most described resources."""
    found = list(resources.main_resources(aigraph.query, aigraph.settings.base))
    return found + [iri for iri in aigraph.facts.examples if iri not in found]


def _label(aigraph: Aigraph, iri: str, lang: str) -> str:
    """Return the label of ``iri`` in ``lang`` (or a plain one) from the data, or ''."""
    node = URIRef(iri)
    return resources.View(aigraph.dataset_around(node), aigraph.settings.base, lang).label(
        node, fallback=False
    )


def _dump_row(dist: Distribution) -> dict[str, Any]:
    return {
        "ext": dist.ext,
        "label": dist.label,
        "file_name": dist.file_name,
        "media_type": dist.media_type,
        "size": dist.byte_size,
        "sha256": dist.sha256,
    }


def _script_json(doc: dict[str, Any]) -> str:
    """Return JSON safe inside ``<script>``: no ``<``, ``>`` or ``&`` can end the element."""
    text = json.dumps(doc, ensure_ascii=False, indent=2)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


# --- OpenAPI ----------------------------------------------------------------------------------

_DESCRIBED = {
    "200": {"description": "The bytes, with ETag and Last-Modified"},
    "304": {"description": "Not modified (If-None-Match / If-Modified-Since)"},
}
OPENAPI_PATHS: dict[str, Any] = {
    "/": {
        "get": {
            "summary": "Landing page (HTML; RDF Accept: 303 to /catalog)",
            "responses": {**_DESCRIBED, "303": {"description": "See /catalog"}},
        }
    },
    "/catalog": {
        "get": {
            "summary": "DCAT-AP catalogue (RDF/XML default; negotiated; HTML for browsers)",
            "parameters": [
                {
                    "name": "format",
                    "in": "query",
                    "schema": {"type": "string"},
                    "description": "Overrides Accept "
                    f"({', '.join(o.name for o in CATALOG_OFFERS)})",
                }
            ],
            "responses": {
                **_DESCRIBED,
                "400": {"$ref": "#/components/responses/Error"},
                "406": {"$ref": "#/components/responses/Error"},
            },
        }
    },
    "/.well-known/void": {
        "get": {"summary": "VoID description (Turtle default; negotiated)", "responses": _DESCRIBED}
    },
    "/dumps/{name}": {
        "get": {
            "summary": "A dump (aigraph.ttl, .nt, .jsonld, .rdf, .trig, .nq, each also .gz); "
            "Content-Encoding gzip when Accept-Encoding allows it",
            "parameters": [
                {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "responses": {**_DESCRIBED, "404": {"$ref": "#/components/responses/Error"}},
        }
    },
    **{
        f"{path}.{ext}": {
            "get": {"summary": f"{what} as {offer.media_type}", "responses": _DESCRIBED}
        }
        for path, what in (("/catalog", "The catalogue"), ("/.well-known/void", "VoID"))
        for ext, offer in zip(_BY_EXT, CATALOG_OFFERS, strict=True)
    },
}


# --- static copy ------------------------------------------------------------------------------
