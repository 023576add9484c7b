"""What the dataset description lacks that DCAT-AP requires, or recommends, and where to add it.

The catalogue is computed from the data and ``dataset.ttl``; counts, dumps, URLs and dates are
always there, but the words only an editor can give are not. This lists them, per the mandatory
and recommended properties of DCAT-AP 2.1.1 and 3.0.1 (Catalogue, Dataset, Data Service,
Agent) and the contact e-mail DCAT-AP-SE requires. Missing metadata is not a data error: it is
reported at ``aigraph validate`` and ``aigraph serve`` and on the landing page, and never filled
with placeholders.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aigraph.describe.common import Metadata

MANDATORY, RECOMMENDED = "mandatory", "recommended"


@dataclass(frozen=True)
class Gap:
    """One missing piece: how much it matters, of what, which property, and where to add it."""

    level: str
    owner: str
    prop: str
    where: str

    def __str__(self) -> str:
        return f"{self.level}: {self.owner} {self.prop} is missing; {self.where}"


def gaps(metadata: Metadata, path: Path | str = "dataset.ttl", *, email: str = "") -> list[Gap]:
    """Return what ``metadata`` (read from ``path``) lacks, mandatory gaps first.

    ``email`` is the ``contact_email`` setting, which stands in for the file's ``vcard:hasEmail``.
    """
    m, file = metadata, str(path)
    if m.path is None:
        return [
            Gap(
                MANDATORY,
                "the dataset",
                "description",
                f"there is no {file}: write one in DCAT (run `aigraph init` for an example)",
            )
        ]
    dataset = f"add it to the dcat:Dataset in {file}"
    catalog = f"add it to the dcat:Catalog in {file}"
    service = f"add it to the dcat:DataService in {file}"
    publisher = f"add a dcterms:publisher (a foaf:Agent) to the dcat:Dataset in {file}"
    contact = f"add a dcat:contactPoint (a vcard:Kind) to the dcat:Dataset in {file}"
    checks = [
        (MANDATORY, "dcat:Dataset", "dcterms:title", m.title, dataset),
        (MANDATORY, "dcat:Dataset", "dcterms:description", m.description, dataset),
        (MANDATORY, "dcat:Catalog", "dcterms:title", m.catalog_title, catalog),
        (MANDATORY, "dcat:Catalog", "dcterms:description", m.catalog_description, catalog),
        (MANDATORY, "dcat:Catalog", "dcterms:publisher", m.publisher_names, publisher),
        (MANDATORY, "dcat:DataService", "dcterms:title", m.service_title, service),
        (RECOMMENDED, "dcat:Dataset", "dcat:contactPoint", m.has_contact or email, contact),
        (
            RECOMMENDED,
            "the contact point",
            "vcard:hasEmail (DCAT-AP-SE: mandatory)",
            not m.has_contact or m.contact_email or email,
            f"add it to the contact point in {file}, or set contact_email",
        ),
        (
            RECOMMENDED,
            "the publisher",
            "dcterms:type (an ADMS publisher type)",
            not m.publisher_names or m.publisher_type,
            f"add it to the publisher in {file}",
        ),
        (RECOMMENDED, "dcat:Dataset", "dcterms:license", m.data_license, dataset),
        (RECOMMENDED, "dcat:Catalog", "dcterms:license", m.catalog_license, catalog),
        (RECOMMENDED, "dcat:Dataset", "dcat:theme", m.themes, dataset),
        (RECOMMENDED, "dcat:Dataset", "dcat:keyword", m.keywords, dataset),
        (RECOMMENDED, "dcat:Dataset", "dcterms:spatial", m.spatial, dataset),
        (RECOMMENDED, "dcat:Dataset", "dcterms:language", m.languages, dataset),
        (RECOMMENDED, "dcat:Catalog", "dcat:themeTaxonomy", m.theme_taxonomy, catalog),
        (RECOMMENDED, "dcat:Catalog", "dcterms:language", m.catalog_languages, catalog),
    ]
    return [Gap(level, owner, prop, where) for level, owner, prop, ok, where in checks if not ok]


def summary(found: list[Gap]) -> str:
    """Return one line per gap, for logs and the command line (empty when nothing is missing)."""
    return "".join(f"metadata {gap}\n" for gap in found)
