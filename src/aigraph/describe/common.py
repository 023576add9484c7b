"""What every description of the dataset shares: names, words, distributions and IRIs.

The words (titles, descriptions, keywords, themes, publisher, contact, licences) are data:
the project's ``dataset.ttl`` states them in DCAT, read once by ``read_metadata``. Every
description is computed from the statistics of the data (``statistics.facts``) and the
dump bytes (``distributions``), so counts, checksums and coverage cannot drift from what is
served. Pure functions over rdflib; no web framework.

IRIs of the description (all under the dataset base, stable wherever the server runs):
``{base}/catalog`` the catalogue, ``{base}/dataset`` the dataset (DCAT, VoID and SD agree),
``{base}/dataset#dump-{ext}`` the distributions, ``{base}/service/sparql`` the SPARQL service,
``{base}/catalog#publisher`` and ``{base}/catalog#contact`` the agent and contact point.
Download and endpoint URLs are under ``site``, the public URL of the running server.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

from rdflib import RDF, XSD, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, OWL, SKOS, VOID

from aigraph import content, formats
from aigraph.errors import DataError
from aigraph.graph import parse_error
from aigraph.statistics import DatasetFacts

SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
SPDX = Namespace("http://spdx.org/rdf/terms#")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
DCATAP = Namespace("http://data.europa.eu/r5r/")
W3C_FORMATS = Namespace("http://www.w3.org/ns/formats/")
EU = "http://publications.europa.eu/resource/authority/"
IANA = "https://www.iana.org/assignments/media-types/"
SPARQL_PROTOCOL = URIRef("https://www.w3.org/TR/sparql11-protocol/")

#: Titles and descriptions of each dump, formatted with the dump format's label.
DUMP_TEXT = {"sv": "Hela datamängden som {label}", "en": "The whole dataset as {label}"}
#: Where ``dataset.ttl`` is parsed: its relative IRIs only name the parts of the description.
_FILE_BASE = "http://dataset.invalid/"

Texts = Mapping[str, str]


@dataclass(frozen=True)
class Place:
    """A place of the spatial coverage: its IRI, names and the IRIs it is the same as."""

    iri: str
    names: Texts
    same_as: tuple[str, ...]


@dataclass(frozen=True)
class Metadata:
    """The editorial metadata of the dataset, as read from its ``dataset.ttl``.

    Texts map a language tag to the text; IRIs are strings. What the file does not state is
    empty (``""``, ``{}``, ``()``) and left out of every description; ``aigraph.describe.required``
    lists what DCAT-AP needs of it. Every description takes its words from here and adds what is
    computed from the data.
    """

    title: Texts = field(default_factory=dict)
    description: Texts = field(default_factory=dict)
    keywords: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    themes: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    spatial: tuple[str, ...] = ()
    data_license: str = ""
    sparql_title: Texts = field(default_factory=dict)
    catalog_title: Texts = field(default_factory=dict)
    catalog_description: Texts = field(default_factory=dict)
    catalog_license: str = ""
    catalog_languages: tuple[str, ...] = ()
    catalog_spatial: tuple[str, ...] = ()
    theme_taxonomy: tuple[str, ...] = ()
    service_title: Texts = field(default_factory=dict)
    service_description: Texts = field(default_factory=dict)
    publisher_names: Texts = field(default_factory=dict)
    publisher_type: str = ""
    contact_name: str = ""
    contact_email: str = ""
    contact_url: str = ""
    #: What the file says about the licence documents it refers to (title, ADMS type).
    licence_documents: tuple[tuple[str, str, Literal], ...] = ()
    #: What the file says about the places of ``spatial``.
    places: tuple[Place, ...] = ()
    #: ``dcterms:issued`` of the dataset, and its ``dcterms:temporal`` period (start, end), as
    #: stated (a date or a date-time literal); None: the data's own statements are used.
    issued: Literal | None = None
    temporal: tuple[Literal, Literal] | None = None
    #: Where the metadata was read from (None: no file).
    path: Path | None = None
    #: Which parts of the description the file types (dataset, catalog, service, ...).
    parts: frozenset[str] = frozenset()

    @property
    def publisher_name(self) -> str:
        """The publisher's name (English if it has one; empty when none is stated)."""
        return self.publisher_names.get("en") or next(iter(self.publisher_names.values()), "")

    @property
    def has_contact(self) -> bool:
        return bool(self.contact_name or self.contact_email or self.contact_url)


def text_in(texts: Texts, lang: str) -> str:
    """Return the text in ``lang``, else English, else any; empty when there is none."""
    return texts.get(lang) or texts.get("en") or next(iter(texts.values()), "")


def read_metadata(path: Path | None = None) -> Metadata:
    """Read the editorial metadata from ``path`` (default: the bundled ``dataset.ttl``).

    A missing file is no metadata (every description leaves the words out, and the check
    says what to add); a file that cannot be parsed raises DataError with its line.
    """
    resolved = Path(path or content.dataset_file()).resolve()
    try:
        stat = resolved.stat()
    except OSError:
        return Metadata()
    return _read(resolved, stat.st_mtime_ns, stat.st_size)  # an edited file is read again


@lru_cache(maxsize=8)
def _read(path: Path, _mtime: int, _size: int) -> Metadata:
    g = Graph()
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read: {exc.strerror}", path=str(path)) from exc
    try:
        g.parse(data=text, format="turtle", publicID=_FILE_BASE)
    except Exception as exc:  # rdflib raises many kinds; each means "fix the file"
        about = "cannot read the dataset description: "
        raise parse_error(exc, path, text, about) from exc

    def one(type_: URIRef) -> URIRef | None:
        found = sorted(s for s in g.subjects(RDF.type, type_) if isinstance(s, URIRef))
        if len(found) > 1:
            raise DataError(f"expected at most one {type_}, found {len(found)}", path=str(path))
        return found[0] if found else None

    def ref(subject: URIRef | None, predicate: URIRef) -> URIRef | None:
        value = g.value(subject, predicate) if subject is not None else None
        return value if isinstance(value, URIRef) else None

    def literals(subject: URIRef | None, predicate: URIRef) -> list[Literal]:
        if subject is None:
            return []
        found = [o for o in g.objects(subject, predicate) if isinstance(o, Literal)]
        return sorted(found, key=lambda o: (o.language or "", str(o)))

    def texts(subject: URIRef | None, predicate: URIRef) -> dict[str, str]:
        found = literals(subject, predicate)
        values = {o.language or "": str(o) for o in found}
        if len(values) != len(found):
            raise DataError(f"{subject} needs one {predicate} per language", path=str(path))
        return values

    def iris(subject: URIRef | None, predicate: URIRef) -> tuple[str, ...]:
        if subject is None:
            return ()
        return tuple(sorted(str(o) for o in g.objects(subject, predicate)))

    dataset, cat, service = one(DCAT.Dataset), one(DCAT.Catalog), one(DCAT.DataService)
    publisher = ref(dataset, DCTERMS.publisher) or ref(cat, DCTERMS.publisher)
    contact = ref(dataset, DCAT.contactPoint)
    sparql = ref(dataset, DCAT.distribution)
    keywords: dict[str, list[str]] = {}
    for word in literals(dataset, DCAT.keyword):
        keywords.setdefault(word.language or "", []).append(str(word))
    licences = (ref(dataset, DCTERMS.license), ref(cat, DCTERMS.license))
    documents = tuple(
        (str(iri), str(ref(iri, DCTERMS.type) or ""), title)
        for iri in dict.fromkeys(i for i in licences if i is not None)
        for title in literals(iri, DCTERMS.title)
    )
    spatial = iris(dataset, DCTERMS.spatial)
    places = tuple(
        Place(iri, texts(URIRef(iri), SKOS.prefLabel), iris(URIRef(iri), OWL.sameAs))
        for iri in spatial
    )
    email = ref(contact, VCARD.hasEmail)
    issued = g.value(dataset, DCTERMS.issued) if dataset is not None else None
    period = g.value(dataset, DCTERMS.temporal) if dataset is not None else None
    start, end = (
        (g.value(period, DCAT.startDate), g.value(period, DCAT.endDate))
        if period
        else (
            None,
            None,
        )
    )
    parts = {
        name
        for name, node in (
            ("dataset", dataset),
            ("catalog", cat),
            ("service", service),
            ("publisher", publisher),
            ("contact", contact),
        )
        if node is not None
    }
    return Metadata(
        title=texts(dataset, DCTERMS.title),
        description=texts(dataset, DCTERMS.description),
        keywords={lang: tuple(words) for lang, words in sorted(keywords.items())},
        themes=iris(dataset, DCAT.theme),
        languages=iris(dataset, DCTERMS.language),
        spatial=spatial,
        data_license=str(licences[0] or ""),
        sparql_title=texts(sparql, DCTERMS.title),
        catalog_title=texts(cat, DCTERMS.title),
        catalog_description=texts(cat, DCTERMS.description),
        catalog_license=str(licences[1] or ""),
        catalog_languages=iris(cat, DCTERMS.language),
        catalog_spatial=iris(cat, DCTERMS.spatial),
        theme_taxonomy=iris(cat, DCAT.themeTaxonomy),
        service_title=texts(service, DCTERMS.title),
        service_description=texts(service, DCTERMS.description),
        publisher_names=texts(publisher, FOAF.name),
        publisher_type=str(ref(publisher, DCTERMS.type) or ""),
        contact_name=str(g.value(contact, VCARD.fn) or "") if contact is not None else "",
        contact_email=str(email).removeprefix("mailto:") if email is not None else "",
        contact_url=str(ref(contact, VCARD.hasURL) or ""),
        licence_documents=documents,
        places=places,
        issued=issued if isinstance(issued, Literal) else None,
        temporal=(start, end) if isinstance(start, Literal) and isinstance(end, Literal) else None,
        path=path,
        parts=frozenset(parts),
    )


def __getattr__(name: str) -> str:
    """``DATA_LICENSE``: the data licence the bundled ``dataset.ttl`` states."""
    if name == "DATA_LICENSE":
        return read_metadata().data_license
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: The dump formats, in the order dumps are listed: the RDF formats of the format table.
DUMP_FORMATS: tuple[formats.Offer, ...] = formats.GRAPH
#: Result formats the endpoint answers in (W3C format IRIs), for the service description.
RESULT_FORMATS: tuple[str, ...] = tuple(o.w3c for o in (*formats.RESULTS, *formats.GRAPH))
#: EU file type of the endpoint's answers (DCAT-AP-SE allows one format per data service;
#: the service description lists every result format).
SERVICE_FILE_TYPE = "SPARQLQRES"


@dataclass(frozen=True)
class Distribution:
    """One dump file as served: name, media type, EU file type, size and digests."""

    ext: str
    file_name: str
    media_type: str
    file_type: str
    label: str
    byte_size: int
    sha256: str
    sha1: str

    @property
    def media_type_iri(self) -> str:
        return IANA + self.media_type

    @property
    def file_type_iri(self) -> str:
        return formats.EU_FILE_TYPE + self.file_type

    def digest(self, algorithm: str) -> str:
        return {"sha1": self.sha1, "sha256": self.sha256}[algorithm]


def distributions(dumps: Mapping[str, bytes], name: str = "aigraph") -> tuple[Distribution, ...]:
    """Describe each dump in ``dumps`` (``{ext: bytes}``) in the order of ``DUMP_FORMATS``."""
    known = {f.extension: f for f in DUMP_FORMATS}
    unknown = set(dumps) - set(known)
    if unknown:
        raise ValueError(f"unknown dump format(s): {', '.join(sorted(unknown))}")
    return tuple(
        Distribution(
            f.extension,
            f"{name}.{f.extension}",
            f.media_type,
            f.file_type,
            f.label,
            len(dumps[f.extension]),
            hashlib.sha256(dumps[f.extension]).hexdigest(),
            hashlib.sha1(dumps[f.extension]).hexdigest(),  # noqa: S324 - DCAT-AP-SE's algorithm
        )
        for f in DUMP_FORMATS
        if f.extension in dumps
    )


def format_of(ext: str) -> formats.Offer:
    """Return the dump format whose file suffix is ``ext``."""
    return next(f for f in DUMP_FORMATS if f.extension == ext)


def as_date(value: Literal, *, end: bool) -> Literal:
    """Widen a ``gYear``/``gYearMonth`` bound to the first (or last) ``xsd:date`` it covers.

    DCAT-AP 2.1.1's shapes, merged as validators merge them, accept only ``xsd:date`` and
    ``xsd:dateTime`` (``shapes_recommended.ttl`` redefines the date shape); every profile
    accepts ``xsd:date``, and a whole year is exactly the days from 1 January to 31 December.
    """
    text = str(value)
    if value.datatype == XSD.gYear and re.fullmatch(r"\d{4}", text):
        return Literal(f"{text}-12-31" if end else f"{text}-01-01", datatype=XSD.date)
    if value.datatype == XSD.gYearMonth and re.fullmatch(r"\d{4}-\d{2}", text):
        year, month = int(text[:4]), int(text[5:])
        last = (date(year + month // 12, month % 12 + 1, 1) - date.resolution).day
        return Literal(f"{text}-{last:02d}" if end else f"{text}-01", datatype=XSD.date)
    return value


def date_literal(value: str | date) -> Literal:
    """Return an ``xsd:date`` (or ``xsd:dateTime``) literal for a date or ISO string."""
    if isinstance(value, datetime):
        return Literal(value.isoformat(), datatype=XSD.dateTime)
    if isinstance(value, date):
        return Literal(value.isoformat(), datatype=XSD.date)
    try:
        return Literal(date.fromisoformat(value).isoformat(), datatype=XSD.date)
    except ValueError:
        return Literal(datetime.fromisoformat(value).isoformat(), datatype=XSD.dateTime)


def add_texts(graph: Graph, subject: URIRef, predicate: URIRef, texts: Texts, **fmt: str) -> None:
    """Add ``texts`` (language tag to text) in each of its languages, formatted with ``fmt``."""
    for lang, text in texts.items():
        graph.add(
            (subject, predicate, Literal(text.format(**fmt) if fmt else text, lang=lang or None))
        )


def add_counts(graph: Graph, subject: URIRef, facts: DatasetFacts) -> None:
    """Add the VoID statistics of the whole dataset to ``subject`` (VoID and SD share them)."""
    for prop, value in (
        (VOID.triples, facts.triples),
        (VOID.entities, facts.entities),
        (VOID.distinctSubjects, facts.distinct_subjects),
        (VOID.distinctObjects, facts.distinct_objects),
        (VOID.properties, len(facts.properties)),
        (VOID.classes, len(facts.classes)),
    ):
        graph.add((subject, prop, Literal(value)))


def bound_graph() -> Graph:
    """Return an empty graph with the prefixes of the descriptions bound."""
    graph = Graph()
    for prefix, ns in (
        ("dcat", DCAT),
        ("dct", DCTERMS),
        ("foaf", FOAF),
        ("vcard", VCARD),
        ("spdx", SPDX),
        ("void", VOID),
        ("sd", SD),
        ("owl", OWL),
        ("dcatap", DCATAP),
    ):
        graph.bind(prefix, ns, override=True)
    return graph


class Names:
    """The IRIs of the description, minted under the dataset base."""

    def __init__(self, base: str, site: str = "") -> None:
        self.base, self.site = base.rstrip("/"), site.rstrip("/")
        self.catalog = URIRef(f"{self.base}/catalog")
        self.dataset = URIRef(f"{self.base}/dataset")
        self.service = URIRef(f"{self.base}/service/sparql")
        self.publisher = URIRef(f"{self.base}/catalog#publisher")
        self.contact = URIRef(f"{self.base}/catalog#contact")
        self.home = URIRef(f"{self.site}/")
        self.endpoint = URIRef(f"{self.site}/sparql")

    def part(self, fragment: str) -> URIRef:
        return URIRef(f"{self.dataset}#{fragment}")

    def download(self, dist: Distribution) -> URIRef:
        return URIRef(f"{self.site}/dumps/{dist.file_name}")


def slug(iri: str) -> str:
    """Return ``iri`` without its scheme, as a fragment-safe name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", iri.split("://", 1)[-1]).strip("-")
