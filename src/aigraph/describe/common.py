"""What every description of the dataset shares: names, words, distributions and IRIs.

Every description is computed from the statistics of the data (``statistics.facts``) and the
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
from dataclasses import dataclass
from datetime import date, datetime

from rdflib import XSD, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, OWL, VOID

from aigraph import formats
from aigraph.statistics import DatasetFacts

SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
SPDX = Namespace("http://spdx.org/rdf/terms#")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
DCATAP = Namespace("http://data.europa.eu/r5r/")
W3C_FORMATS = Namespace("http://www.w3.org/ns/formats/")
EU = "http://publications.europa.eu/resource/authority/"
IANA = "https://www.iana.org/assignments/media-types/"
SPARQL_PROTOCOL = URIRef("https://www.w3.org/TR/sparql11-protocol/")

#: Data licence (the exact IRI of DCAT-AP-SE's licence list) and catalogue-metadata licence
#: (DCAT-AP-SE requires CC0 on catalogue metadata).
DATA_LICENSE = "http://creativecommons.org/licenses/by/4.0/"
METADATA_LICENSE = "http://creativecommons.org/publicdomain/zero/1.0/"
#: Placeholder contact under the domain reserved for documentation (RFC 2606).
DEFAULT_CONTACT_EMAIL = "aigraph@example.org"
TEXT = {
    "title": {
        "sv": "aigraph: Vinnovas satsning på AI Innovation of Sweden som länkade data",
        "en": "aigraph: Vinnova's investment in AI Innovation of Sweden as linked data",
    },
    "description": {
        "sv": "En kunskapsgraf byggd ur ett svenskt pressmeddelande där Vinnova tillkännager "
        "långsiktig finansiering av AI Innovation of Sweden: organisationer, personer, "
        "platser och finansiering, med proveniens tillbaka till texten.",
        "en": "A knowledge graph built from a Swedish press release in which Vinnova announces "
        "long-term funding for AI Innovation of Sweden: organisations, people, places "
        "and funding, with provenance back to the text.",
    },
    "catalog": {"sv": "aigraph datakatalog", "en": "aigraph data catalogue"},
    "catalog_description": {
        "sv": "Katalog över datamängden och SPARQL-tjänsten från aigraph.",
        "en": "Catalogue of the aigraph dataset and its SPARQL service.",
    },
    "service": {"sv": "aigraph SPARQL-ändpunkt", "en": "aigraph SPARQL endpoint"},
    "service_description": {
        "sv": "SPARQL 1.1-frågetjänst (endast läsning) över hela kunskapsgrafen.",
        "en": "Read-only SPARQL 1.1 query service over the whole knowledge graph.",
    },
    "dump": {"sv": "Hela datamängden som {label}", "en": "The whole dataset as {label}"},
    "sparql_dist": {"sv": "Åtkomst via SPARQL", "en": "Access through SPARQL"},
}
KEYWORDS = {
    "sv": (
        "artificiell intelligens",
        "innovation",
        "forskningsfinansiering",
        "länkade data",
        "Vinnova",
    ),
    "en": ("artificial intelligence", "innovation", "research funding", "linked data", "Vinnova"),
}
THEMES = ("ECON", "TECH", "GOVE")
LANGUAGES = ("SWE", "ENG")
PUBLISHER_NAME = "aigraph"
PUBLISHER_TYPE = "http://purl.org/adms/publishertype/NonProfitOrganisation"


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


def add_texts(graph: Graph, subject: URIRef, predicate: URIRef, key: str, **fmt: str) -> None:
    """Add ``TEXT[key]`` in each of its languages, formatted with ``fmt``."""
    for lang, text in TEXT[key].items():
        graph.add((subject, predicate, Literal(text.format(**fmt), lang=lang)))


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
