"""A harvester's walk over a real server: catalogue, every distribution, checksums, shapes."""

from __future__ import annotations

import gzip
import hashlib
import json
import urllib.request

import pytest
from rdflib import BNode, Dataset, Graph, URIRef
from rdflib.compare import isomorphic
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID
from rdflib.namespace import DCAT

from aigraph.describe import common
from aigraph.settings import CANONICAL_BASE
from test_catalog import KNOWN_VIOLATIONS, KNOWN_WARNINGS, REFERENCE, SHAPES, _keys, shacl_results

SPDX = common.SPDX
#: Accept header -> (expected media type, rdflib parser).
NEGOTIATED = {
    None: ("application/rdf+xml", "xml"),
    "*/*": ("application/rdf+xml", "xml"),
    "text/turtle": ("text/turtle", "turtle"),
    "application/ld+json": ("application/ld+json", "json-ld"),
    "application/n-triples": ("application/n-triples", "nt"),
}
PARSERS = {
    "text/turtle": "turtle",
    "application/n-triples": "nt",
    "application/ld+json": "json-ld",
    "application/rdf+xml": "xml",
    "application/trig": "trig",
    "application/n-quads": "nquads",
}


def fetch(url: str, accept: str | None = None) -> tuple[str, bytes]:
    """GET ``url`` as a plain harvester does (no compression); return media type and body."""
    request = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200
        return response.headers.get_content_type(), response.read()


@pytest.fixture(scope="module")
def served_catalog(live_server: str) -> Graph:
    media_type, body = fetch(f"{live_server}/catalog")
    assert media_type == "application/rdf+xml"
    return Graph().parse(data=body, format="xml")


@pytest.mark.parametrize("accept", list(NEGOTIATED), ids=str)
def test_catalog_by_negotiation(live_server: str, served_catalog: Graph, accept: str | None):
    expected, parser = NEGOTIATED[accept]
    media_type, body = fetch(f"{live_server}/catalog", accept)
    assert media_type == expected
    assert isomorphic(Graph().parse(data=body, format=parser), served_catalog)


def test_rdflib_fetches_the_catalogue_itself(live_server: str, served_catalog: Graph):
    for fmt in ("xml", "turtle", "json-ld", "nt"):
        assert isomorphic(Graph().parse(f"{live_server}/catalog", format=fmt), served_catalog)


def _quads(dataset: Dataset) -> set[tuple]:
    # Terms are compared exactly: a dump must keep every lexical form (e.g. of xsd:decimal).
    out = set()
    for s, p, o, g in dataset.quads((None, None, None, None)):
        name = g.identifier if isinstance(g, Graph) else g
        out.add((s, p, o, None if name in (None, DATASET_DEFAULT_GRAPH_ID) else name))
    return out


def _same_quads(served: Dataset, expected: Dataset) -> bool:
    """Compare datasets graph by graph (blank nodes up to isomorphism)."""
    got = _quads(served)
    want = _quads(expected)
    if {q for q in got if not any(isinstance(t, BNode) for t in q)} != {
        q for q in want if not any(isinstance(t, BNode) for t in q)
    }:
        return False
    names = {q[3] for q in got | want}
    for name in names:
        a, b = Graph(), Graph()
        for s, p, o, g in got:
            if g == name:
                a.add((s, p, o))
        for s, p, o, g in want:
            if g == name:
                b.add((s, p, o))
        if not isomorphic(a, b):
            return False
    return True


def test_every_distribution_downloads_as_described(live_server, served_catalog, core):
    dists = list(served_catalog.subjects(DCAT.downloadURL, None))
    assert len(dists) == len(common.DUMP_FORMATS)
    union = Graph()
    for s, p, o, _ in _quads(core.dumps()):
        union.add((s, p, o))
    for dist in dists:
        url = str(served_catalog.value(dist, DCAT.downloadURL))
        assert url.startswith(f"{live_server}/dumps/")
        media_type, body = fetch(url)
        declared = str(served_catalog.value(dist, DCAT.mediaType))
        assert declared == common.IANA + media_type, url
        checksum = served_catalog.value(dist, SPDX.checksum)
        algorithm = served_catalog.value(checksum, SPDX.algorithm)
        assert algorithm == SPDX.checksumAlgorithm_sha1
        value = str(served_catalog.value(checksum, SPDX.checksumValue))
        assert hashlib.sha1(body).hexdigest() == value, url
        parser = PARSERS[media_type]
        if parser in ("trig", "nquads", "json-ld"):
            dataset = Dataset()
            dataset.parse(data=body, format=parser)
            assert _same_quads(dataset, core.dumps()), url
        else:
            parsed = Graph()
            for s, p, o in Graph().parse(data=body, format=parser):
                parsed.add((s, p, o))
            assert isomorphic(parsed, union), url


def test_turtle_dump_keeps_lexical_forms(live_server, core):
    _, body = fetch(f"{live_server}/dumps/aigraph.trig")
    assert b'"100000000"^^xsd:decimal' in body
    dataset = Dataset()
    dataset.parse(data=body, format="trig")
    assert _same_quads(dataset, core.dumps())


def test_compressed_download_is_the_same_file(served_catalog):
    dist = URIRef(f"{CANONICAL_BASE}/dataset#dump-ttl")
    url = str(served_catalog.value(dist, DCAT.downloadURL))
    request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.headers["Content-Encoding"] == "gzip"
        encoded = response.read()
    assert gzip.decompress(encoded) == fetch(url)[1]
    assert gzip.decompress(fetch(url + ".gz")[1]) == fetch(url)[1]


@pytest.mark.parametrize("profile", sorted(SHAPES))
def test_served_catalogue_against_dcat_ap(served_catalog: Graph, profile: str):
    shapes_graph = Graph()
    for path in SHAPES[profile]:
        shapes_graph.parse(path)
    codelists = Graph().parse(REFERENCE / "codelists-extract.ttl")
    results = shacl_results(served_catalog, codelists, shapes_graph)
    shown = json.dumps(results, indent=1)
    assert _keys(results, "Violation") == KNOWN_VIOLATIONS[profile], shown
    assert _keys(results, "Warning") == KNOWN_WARNINGS[profile], shown
