"""The schema.org ``Dataset`` (JSON-LD) embedded in the landing page for search engines."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from aigraph.describe.common import (
    EU,
    Metadata,
    Names,
    date_literal,
    distributions,
    read_metadata,
)
from aigraph.statistics import WIKIDATA_ENTITY, DatasetFacts


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
        "inLanguage": ["sv", "en"],
        "keywords": list(dict.fromkeys(w for words in m.keywords.values() for w in words)),
        "license": m.data_license,
        "isAccessibleForFree": True,
        "creator": agent,
        "publisher": agent,
        "spatialCoverage": {
            "@type": "Place",
            "name": "Sweden",
            "sameAs": [f"{WIKIDATA_ENTITY}Q34", f"{EU}country/SWE"],
        },
        "includedInDataCatalog": {
            "@type": "DataCatalog",
            "@id": str(n.catalog),
            "name": m.catalog_title.get("en") or next(iter(m.catalog_title.values())),
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
    if facts.temporal_start is not None and facts.temporal_end is not None:
        doc["temporalCoverage"] = f"{facts.temporal_start}/{facts.temporal_end}"
    if modified is not None:
        doc["dateModified"] = str(date_literal(modified))
    return doc
