"""The format table and content negotiation: which representations aigraph offers, and which
one a request gets.

Two tables of offers, one for SELECT/ASK results and one for RDF graphs (CONSTRUCT, DESCRIBE,
dumps), drive ``negotiate`` here and the writers in ``results`` and ``export``. Each offer
carries every name the format goes by (media type, file suffixes, rdflib and pyoxigraph format
names, EU file type, W3C format id, label): every other list of formats in aigraph derives
from these tables, and a test fails on a media-type table anywhere else.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass

from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

from aigraph.errors import BadRequest, NotAcceptable, UsageError


@dataclass(frozen=True)
class Offer:
    """One representation the endpoint can produce, as named by Accept and by ``format=``."""

    name: str
    media_type: str
    extension: str
    names: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    quads: bool = False
    #: How pages name the format ("N-Triples"); the short name when not given.
    label: str = ""
    #: Further file suffixes data files in this format are read from (besides ``extension``).
    suffixes: tuple[str, ...] = ()
    #: rdflib's parser name and pyoxigraph's ``RdfFormat`` member name (RDF formats only).
    rdflib: str = ""
    oxigraph: str = ""
    #: Whether a data file in this format names its own graphs (read as a dataset, not as
    #: one graph of its own).
    graphs: bool = False
    #: Code of the EU file-type authority list (``RDF_TURTLE``), for DCAT-AP distributions.
    file_type: str = ""
    #: Local name under http://www.w3.org/ns/formats/ (``Turtle``), for VoID and SD.
    w3c: str = ""

    def __hash__(self) -> int:
        # By name (unique among offers): negotiation results are cached per offer table, and
        # hashing every field of every offer on each request would cost more than it saves.
        return hash(self.name)

    @property
    def title(self) -> str:
        """Return the name people read for this format."""
        return self.label or self.name.upper()

    @property
    def format_names(self) -> tuple[str, ...]:
        """Return every name ``format=`` takes for this offer, the canonical one first."""
        return (self.name, *self.names)

    @property
    def media_types(self) -> tuple[str, ...]:
        """Return the media type and the aliases an Accept header may name it by."""
        return (self.media_type, *self.aliases)

    @property
    def file_suffixes(self) -> tuple[str, ...]:
        """Return the file suffixes (with the dot) data files in this format are read from."""
        return tuple(f".{ext}" for ext in (self.extension, *self.suffixes))

    @property
    def file_type_iri(self) -> str:
        """Return the IRI of the format in the EU file-type authority list."""
        return EU_FILE_TYPE + self.file_type

    @property
    def content_type(self) -> str:
        """Return the Content-Type header value of a response in this format."""
        return f"{self.media_type}; charset=utf-8"


#: The EU file-type authority list (DCAT-AP's dct:format).
EU_FILE_TYPE = "http://publications.europa.eu/resource/authority/file-type/"

#: SELECT/ASK result formats; the first is the default.
RESULTS: tuple[Offer, ...] = (
    Offer("json", "application/sparql-results+json", "srj", ("srj",), ("application/json",),
          label="SPARQL JSON", w3c="SPARQL_Results_JSON"),
    Offer("xml", "application/sparql-results+xml", "srx", ("srx",),
          ("application/xml", "text/xml"), label="SPARQL XML", w3c="SPARQL_Results_XML"),
    Offer("csv", "text/csv", "csv", label="CSV", w3c="SPARQL_Results_CSV"),
    Offer("tsv", "text/tab-separated-values", "tsv", label="TSV", w3c="SPARQL_Results_TSV"),
)  # fmt: skip

#: RDF graph formats (CONSTRUCT, DESCRIBE, dumps, pages); the first is the default. The
#: order is the order dumps are listed and files of one resource are written in.
GRAPH: tuple[Offer, ...] = (
    Offer("turtle", "text/turtle", "ttl", ("ttl", "n3"), ("application/x-turtle", "text/n3"),
          label="Turtle", rdflib="turtle", oxigraph="TURTLE", file_type="RDF_TURTLE",
          w3c="Turtle"),
    Offer("nt", "application/n-triples", "nt", ("ntriples", "n-triples"), ("text/plain",),
          label="N-Triples", rdflib="nt", oxigraph="N_TRIPLES", file_type="RDF_N_TRIPLES",
          w3c="N-Triples"),
    Offer("jsonld", "application/ld+json", "jsonld", ("json-ld",), ("application/json",),
          quads=True, label="JSON-LD", suffixes=("json",), rdflib="json-ld",
          oxigraph="JSON_LD", file_type="JSON_LD", w3c="JSON-LD"),
    Offer("rdfxml", "application/rdf+xml", "rdf", ("xml", "rdf", "rdf-xml"),
          ("application/xml", "text/xml"), label="RDF/XML", suffixes=("owl", "xml"),
          rdflib="xml", oxigraph="RDF_XML", file_type="RDF_XML", w3c="RDF_XML"),
    Offer("trig", "application/trig", "trig", (), ("application/x-trig",), quads=True,
          label="TriG", rdflib="trig", oxigraph="TRIG", graphs=True, file_type="RDF_TRIG",
          w3c="TriG"),
    Offer("nquads", "application/n-quads", "nq", ("nq", "n-quads"), ("text/x-nquads",),
          quads=True, label="N-Quads", rdflib="nquads", oxigraph="N_QUADS", graphs=True,
          file_type="RDF_N_QUADS", w3c="N-Quads"),
)  # fmt: skip

#: HTML pages: an offer like the others wherever a page and data share a URL.
HTML = Offer("html", "text/html", "html", (), ("application/xhtml+xml",), label="HTML")
#: Plain JSON documents (error bodies, the list of named queries).
JSON = Offer("json", "application/json", "json", label="JSON")

_ALL_OFFERS = RESULTS + GRAPH


def graph_offer(name: str) -> Offer:
    """Return the RDF format of ``GRAPH`` with the short name ``name``."""
    return next(offer for offer in GRAPH if offer.name == name)


#: Data file suffix (``.ttl``) -> format, for reading files and folders.
READ_SUFFIXES: dict[str, Offer] = {
    suffix: offer for offer in GRAPH for suffix in offer.file_suffixes
}
#: The formats of the catalogue and VoID descriptions (also at ``<path>.<extension>``) and of
#: each resource in the static copy; the first, RDF/XML, is what harvesters of the catalogue
#: expect by default.
DESCRIBED: tuple[Offer, ...] = tuple(map(graph_offer, ("rdfxml", "turtle", "jsonld", "nt")))


def offers_for(form: str) -> tuple[Offer, ...]:
    """Return the table of offers for a query form (select/ask or construct/describe)."""
    return RESULTS if form in ("select", "ask") else GRAPH


def find_offer(name: str, offers: Iterable[Offer] = _ALL_OFFERS) -> Offer | None:
    """Return the offer a ``format=`` name or a media type (or alias) designates, if any."""
    key = name.strip().lower()
    for offer in offers:
        if key in offer.format_names or key in offer.media_types:
            return offer
    return None


def pick_format(values: Iterable[str], offers: tuple[Offer, ...]) -> str | None:
    """Return the one ``format=`` value to use among those a client sent.

    Clients such as SPARQLWrapper send the format several times in different spellings
    (``tsv`` and ``text/tab-separated-values``) or as a comma-separated list; spellings that
    name an offer of ``offers`` count, and they must agree. Without any, the first value is
    returned so that ``negotiate`` reports it.
    """
    names = [part.strip() for value in values for part in value.split(",") if part.strip()]
    chosen = {offer.name for offer in map(lambda n: find_offer(n, offers), names) if offer}
    if len(chosen) > 1:
        raise BadRequest(
            f"'format' names different formats ({', '.join(sorted(chosen))}); give one"
        )
    if chosen:
        return chosen.pop()
    return names[0] if names else None


# -- content negotiation ------------------------------------------------------------------------

_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9a-z-]+")  # RFC 9110 token, lower-cased

#: A parsed media range: (type, subtype, q, specificity 0 for */*, 1 for type/*, 2 for type/sub).
_Range = tuple[str, str, float, int]


def negotiate(
    accept: str | None,
    offers: tuple[Offer, ...],
    default: Offer | None = None,
    explicit_format: str | None = None,
) -> Offer:
    """Choose the offer to answer with, from ``format=`` or else from the Accept header.

    ``explicit_format`` (a short name or a media type) wins over Accept; an unknown name is a
    ``UsageError``, a name of the other table (``csv`` for CONSTRUCT) is ``NotAcceptable``.
    Each offer gets the q of the most specific range matching its media type, or of a range
    naming one of its aliases exactly (parameters other than q are ignored); an offer whose own
    media type is named with q=0 is never chosen, even through ``*/*`` or an alias. The
    highest q wins, then the more specific range, then ``default``, then table order. A
    missing, empty or wholly unparseable header means the default; a header whose ranges match
    nothing is ``NotAcceptable``.
    """
    default = default or offers[0]
    if explicit_format is not None and explicit_format.strip():
        return _by_format(explicit_format, offers)
    if accept is not None and len(accept) <= _CACHED_ACCEPT:
        # Clients send a handful of distinct headers: each is parsed once per offer table.
        return _negotiate_cached(accept, offers, default)
    return _negotiate(accept, offers, default)


#: Longest Accept header whose negotiation result is cached (a longer one is parsed each time).
_CACHED_ACCEPT = 512


def _negotiate(accept: str | None, offers: tuple[Offer, ...], default: Offer) -> Offer:
    ranges = _parse_accept(accept)
    if not ranges:
        return default
    ordered = (default, *(offer for offer in offers if offer is not default))
    best: Offer | None = None
    best_key: tuple[float, int, int] | None = None
    for index, offer in enumerate(ordered):
        q, specificity = _offer_quality(offer, ranges)
        key = (q, specificity, -index)
        if q > 0 and (best_key is None or key > best_key):
            best, best_key = offer, key
    if best is None:
        raise NotAcceptable(
            f"Cannot produce any media type the Accept header allows ({accept!r}); "
            f"available: {_describe(offers)}",
            accept=accept,
            available=[offer.media_type for offer in offers],
        )
    return best


#: ``_negotiate`` for Accept headers up to ``_CACHED_ACCEPT`` long (NotAcceptable is not cached).
_negotiate_cached = functools.lru_cache(maxsize=1024)(_negotiate)


def _by_format(name: str, offers: tuple[Offer, ...]) -> Offer:
    offer = find_offer(name, offers)
    if offer is not None:
        return offer
    if find_offer(name) is not None:
        raise NotAcceptable(
            f"format={name!r} is not available for this kind of result; "
            f"available: {_describe(offers)}",
            format=name,
            available=[offer.name for offer in offers],
        )
    raise UsageError(
        f"Unknown format {name!r}; use one of: {_describe(offers)}",
        format=name,
        available=[offer.name for offer in offers],
    )


def _describe(offers: tuple[Offer, ...]) -> str:
    return ", ".join(f"{offer.media_type} (format={offer.name})" for offer in offers)


def _parse_accept(accept: str | None) -> list[_Range]:
    """Parse with Werkzeug, then keep the well-formed ranges (as Werkzeug does when matching)."""
    if not accept or not accept.strip():
        return []
    try:
        parsed = parse_accept_header(accept, MIMEAccept)
    except (ValueError, TypeError, IndexError):  # garbage is treated as no preference
        return []
    ranges: list[_Range] = []
    for item, q in parsed:
        mime = item.split(";", 1)[0].strip().lower()
        if mime == "*":  # some old clients send a bare "*"
            mime = "*/*"
        kind, _, sub = mime.partition("/")
        if not (_TOKEN.fullmatch(kind) and _TOKEN.fullmatch(sub)) or (kind == "*" != sub):
            continue
        specificity = 0 if kind == "*" else 1 if sub == "*" else 2
        ranges.append((kind, sub, float(q), specificity))
    return ranges


def _range_quality(media_type: str, ranges: list[_Range]) -> tuple[float, int] | None:
    """Return (q, specificity) of the most specific ranges matching the type, or None."""
    kind, _, sub = media_type.partition("/")
    found: tuple[float, int] | None = None
    for r_kind, r_sub, q, specificity in ranges:
        matches = r_kind == "*" or (r_kind == kind and (r_sub == "*" or r_sub == sub))
        if matches and (found is None or (specificity, q) > (found[1], found[0])):
            found = (q, specificity)
    return found


def _offer_quality(offer: Offer, ranges: list[_Range]) -> tuple[float, int]:
    best = _range_quality(offer.media_type, ranges) or (0.0, 0)
    if best[0] == 0 and best[1] == 2:
        return best  # the client named this very type and refused it
    # An alias counts only where named exactly: the response is labelled with the media type,
    # so text/* must not pick SPARQL XML through its text/xml alias.
    for alias in offer.aliases:
        found = _range_quality(alias, ranges)
        if found is not None and found[1] == 2 and found > best:
            best = found
    return best
