"""What every route reads from the request it answers: the core, the page language, the format.

``wants`` is the one negotiation path of the web layer. HTML is an offer like the RDF and
SPARQL formats (``formats.HTML``), chosen by ``formats.negotiate`` with its q=0 semantics:
a browser's ``text/html;q=0`` never gets a page, and ``*/*`` (curl) gets the route's default,
which is data wherever a URL serves both data and a page.
"""

from __future__ import annotations

from collections.abc import Sequence

from flask import current_app, request

from aigraph import formats
from aigraph.core import Aigraph
from aigraph.errors import NotAcceptable
from aigraph.web import strings

#: Where ``create_app`` keeps the core among the app's extensions.
EXTENSION = "aigraph"


def core() -> Aigraph:
    """Return the core the app serves."""
    found: Aigraph = current_app.extensions[EXTENSION]
    return found


def lang() -> str:
    """Return the language of the page asked for by ``?lang=``, else the fallback language."""
    return strings.language(request.args.get("lang"))


def wants(
    offers: Sequence[formats.Offer],
    default: formats.Offer | None = None,
    explicit: str | None = None,
    html: bool = True,
) -> formats.Offer:
    """Return the offer this request gets among ``offers`` and, with ``html``, the HTML page.

    ``explicit`` is a ``format=`` value (it wins over Accept); ``default`` is what ``*/*`` and
    a missing Accept header get (the first of ``offers`` when not given). Raises
    ``NotAcceptable`` when the Accept header allows none of them.
    """
    table = tuple(offers)
    if html and formats.HTML not in table:
        table = (*table, formats.HTML)
    return formats.negotiate(
        request.headers.get("Accept"), table, default=default or table[0], explicit_format=explicit
    )


def wants_html(offers: Sequence[formats.Offer], default: formats.Offer | None = None) -> bool:
    """Tell whether the page (not one of ``offers``) is what this request gets.

    For a URL whose data answers with its own format choice (or its own error): an Accept
    header that allows nothing gets ``False`` here and the route's data answer decides.
    """
    try:
        return wants(offers, default) is formats.HTML
    except NotAcceptable:
        return False
