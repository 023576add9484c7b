"""The editorial metadata of the descriptions lives in ``dataset.ttl``, not in code.

The catalogue, VoID, service description and schema.org JSON-LD are compared with fixtures
captured before the metadata moved into the file (same inputs, same output), and editing a
copy of the file changes what the catalogue says.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import DCAT, DCTERMS, RDF

from aigraph import content
from aigraph.describe.common import VCARD, read_metadata
from aigraph.describe.dcat import catalog
from aigraph.describe.schema_org import schema_dataset_jsonld
from aigraph.describe.service import service_description
from aigraph.describe.void import void
from aigraph.statistics import DatasetFacts

FIXTURES = Path(__file__).resolve().parent / "describe_fixtures"
BASE, SITE, ENDPOINT = (
    "https://w3id.org/aigraph",
    "http://127.0.0.1:8000",
    "http://127.0.0.1:8000/sparql",
)
FACTS = DatasetFacts(
    base=BASE,
    triples=10,
    distinct_subjects=4,
    distinct_objects=7,
    entities=3,
    classes=(("http://schema.org/Organization", 2),),
    properties=(("http://schema.org/name", 3),),
    vocabularies=("http://schema.org/",),
    named_graphs=((f"{BASE}/graph/announcement", 10),),
    wikidata_links=(("http://www.w3.org/2002/07/owl#sameAs", 1),),
    examples=(f"{BASE}/id/vinnova",),
    labels=((f"{BASE}/id/vinnova", "Vinnova"),),
    temporal_start=Literal("2019", datatype=URIRef("http://www.w3.org/2001/XMLSchema#gYear")),
    temporal_end=Literal("2024", datatype=URIRef("http://www.w3.org/2001/XMLSchema#gYear")),
)
DUMPS = {"ttl": b"turtle bytes", "nt": b"n-triples bytes"}


def outputs() -> dict[str, Graph]:
    """Each description of the fixed inputs, as a graph (the JSON-LD parsed as JSON-LD)."""
    jsonld = schema_dataset_jsonld(FACTS, DUMPS, site=SITE, base=BASE, modified="2024-05-01")
    return {
        "catalog": catalog(
            FACTS, DUMPS, site=SITE, base=BASE, modified="2024-05-01", issued="2019-01-02"
        ),
        "void": void(FACTS, DUMPS, site=SITE, base=BASE),
        "service": service_description(FACTS, endpoint_url=ENDPOINT, base=BASE),
        "schema": _jsonld_graph(jsonld),
    }


def _jsonld_graph(doc: dict) -> Graph:
    context = {"@vocab": "https://schema.org/"}  # no network: the schema.org context inline
    return Graph().parse(data=json.dumps({**doc, "@context": context}), format="json-ld")


def _fixture(name: str) -> Graph:
    return Graph().parse(FIXTURES / f"{name}.nt", format="nt")


@pytest.mark.parametrize("name", ["catalog", "void", "service", "schema"])
def test_descriptions_unchanged_by_the_move_to_data(name):
    assert isomorphic(outputs()[name], _fixture(name))


def test_the_bundled_file_is_dcat():
    g = Graph().parse(content.dataset_file(), publicID="http://dataset.invalid/")
    assert (None, RDF.type, DCAT.Dataset) in g
    assert (None, RDF.type, DCAT.Catalog) in g
    metadata = read_metadata()
    assert metadata.title["sv"].startswith("aigraph: Vinnovas")
    # The source states no e-mail: none is made up (the metadata check lists it instead).
    assert metadata.contact_email == "" and metadata.contact_name == "aigraph"


def test_editing_the_file_changes_the_catalogue(tmp_path):
    edited = tmp_path / "dataset.ttl"
    text = content.dataset_file().read_text(encoding="utf-8")
    old = "aigraph: Vinnova's investment in AI Innovation of Sweden as linked data"
    assert old in text
    edited.write_text(text.replace(old, "An edited title"), encoding="utf-8")
    metadata = read_metadata(edited)
    g = catalog(FACTS, DUMPS, site=SITE, base=BASE, modified=None, issued=None, metadata=metadata)
    dataset = URIRef(f"{BASE}/dataset")
    titles = set(g.objects(dataset, DCTERMS.title))
    assert Literal("An edited title", lang="en") in titles
    assert Literal(old, lang="en") not in titles
    doc = schema_dataset_jsonld(FACTS, DUMPS, site=SITE, base=BASE, metadata=metadata)
    assert {"@language": "en", "@value": "An edited title"} in doc["name"]
    assert Literal("An edited title", lang="en") in set(
        void(FACTS, DUMPS, site=SITE, base=BASE, metadata=metadata).objects(dataset, DCTERMS.title)
    )
    # The bundled file is untouched.
    assert Literal(old, lang="en") in set(
        catalog(FACTS, DUMPS, site=SITE, base=BASE, modified=None, issued=None).objects(
            dataset, DCTERMS.title
        )
    )


def test_contact_email_setting_overrides_the_file():
    g = catalog(
        FACTS,
        DUMPS,
        site=SITE,
        base=BASE,
        modified=None,
        issued=None,
        contact_email="x@example.net",
    )
    assert URIRef("mailto:x@example.net") in set(g.objects(None, VCARD.hasEmail))


if __name__ == "__main__":  # capture the fixtures: python tests/test_dataset_metadata.py
    FIXTURES.mkdir(exist_ok=True)
    for name, graph in outputs().items():
        lines = sorted(set(graph.serialize(format="nt").splitlines()) - {""})
        (FIXTURES / f"{name}.nt").write_text("\n".join(lines) + "\n", encoding="utf-8")
