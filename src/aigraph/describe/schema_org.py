"""The schema.org ``Dataset`` (JSON-LD) embedded in the landing page for search engines."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from aigraph.describe.common import (
    Metadata,
    Names,
    date_literal,
    distributions,
    read_metadata,
    text_in,
)
from aigraph.statistics import DatasetFacts


def schema_dataset_jsonld(
    facts: DatasetFacts,
    dumps: Mapping[str, bytes],
    *,
    site: str,
    base: str,
    modified: str | date | None = None,
    metadata: Metadata | None = None,
) -> dict[str, Any]:
    """Return a schema.org ``Dataset`` (JSON-LD, ready for ``json.dumps``) for the HTML page.

    Names, keywords and licence come from ``metadata`` (default: ``dataset.ttl``).
    """
    m = metadata or read_metadata()
    n = Names(base, site)
    agent = {
        "@type": "Organization",
        "@id": str(n.publisher),
        "name": m.publisher_name,
        "url": str(n.home),
    }
    doc: dict[str, Any] = {
        "@context": "https://schema.org/",
        "@type": "Dataset",
        "@id": str(n.dataset),
        "identifier": str(n.dataset),
        "url": str(n.home),
        "name": [{"@language": k, "@value": v} for k, v in m.title.items()],
        "description": [{"@language": k, "@value": v} for k, v in m.description.items()],
        # The languages the dataset is described in (the tags of its titles).
        "inLanguage": sorted({k for k in m.title if k}),
        "keywords": list(dict.fromkeys(w for words in m.keywords.values() for w in words)),
        **({"license": m.data_license} if m.data_license else {}),
        "isAccessibleForFree": True,
        **({"creator": agent, "publisher": agent} if m.publisher_names else {}),
        **_spatial(m),
        "includedInDataCatalog": {
            "@type": "DataCatalog",
            "@id": str(n.catalog),
            **({"name": text_in(m.catalog_title, "en")} if m.catalog_title else {}),
        },
        "distribution": [
            {
                "@type": "DataDownload",
                "contentUrl": str(n.download(dist)),
                "encodingFormat": dist.media_type,
                "contentSize": f"{dist.byte_size} B",
                "sha256": dist.sha256,
                "name": dist.file_name,
            }
            for dist in distributions(dumps)
        ],
    }
    # What the dataset is about: its most described entities, named as in the data.
    labels = dict(facts.labels)
    doc["about"] = [
        {"@id": iri, **({"name": labels[iri]} if iri in labels else {})} for iri in facts.examples
    ]
    start, end = m.temporal or (facts.temporal_start, facts.temporal_end)
    if start is not None and end is not None:
        doc["temporalCoverage"] = f"{start}/{end}"
    if modified is not None:
        doc["dateModified"] = str(date_literal(modified))
    return doc


def _spatial(m: Metadata) -> dict[str, Any]:
    """The spatial coverage: each place with its English name and the IRIs it is the same as."""
    places = [
        {
            "@type": "Place",
            **({"name": text_in(place.names, "en")} if place.names else {}),
            "sameAs": [*place.same_as, place.iri],
        }
        for place in m.places
    ]
    if not places:
        return {}
    return {"spatialCoverage": places[0] if len(places) == 1 else places}
