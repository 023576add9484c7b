"""aigraph on graphs nobody here wrote: Brick (``brickschema``) and the W3C SHACL vocabulary.

Each project folder is built at test time from files an installed package ships
(``tests/third_party``), then served by a real ``aigraph serve`` on a loopback port. The tests
show that such a project serves, that its catalogue conforms to DCAT-AP 2.1.1 and 3.0.1 (the
vendored shapes of ``test_catalog.py``), that its pages render in Chromium (hash IRIs such as
``brick:Equipment`` with their label and incoming links), that ``aigraph validate`` with the
project's own shapes finds exactly what the ``pyshacl`` command finds, and that the project
loads into a store and serves from there with the same pages.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections import Counter
from pathlib import Path
from urllib.parse import quote

import pytest
from rdflib import BNode, Graph, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, SH

from conftest import LiveServer
from test_catalog import KNOWN_VIOLATIONS, SHAPES, _keys, shacl_results
from third_party import BRICK_EQUIPMENT, Built, brick_project, shacl_project

#: The first catalogue or landing page of a project builds its six dumps (for their sizes and
#: checksums): for Brick, about 30 s of CPU, and minutes on a busy machine.
pytestmark = pytest.mark.timeout(1800)
BIN = Path(sys.executable).parent
SHACL_NODE_SHAPE = "http://www.w3.org/ns/shacl#NodeShape"
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"


def page_of(iri: str, ext: str = "") -> str:
    return f"/resource{'.' + ext if ext else ''}?iri={quote(iri, safe='')}"


def get(url: str, accept: str = "text/html") -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Accept": accept})
    with urllib.request.urlopen(request, timeout=900) as response:
        return response.status, response.read()


def count(server: str) -> int:
    url = f"{server}/sparql?query={quote(COUNT)}"
    _, body = get(url, "application/sparql-results+json")
    return int(json.loads(body)["results"]["bindings"][0]["n"]["value"])


@pytest.fixture(scope="module")
def brick(tmp_path_factory) -> Built:
    return brick_project(tmp_path_factory.mktemp("brick"))


@pytest.fixture(scope="module")
def shacl(tmp_path_factory) -> Built:
    return shacl_project(tmp_path_factory.mktemp("shacl"))


@pytest.fixture(scope="module")
def brick_server(brick: Built):
    # Validation at start is left out: Brick's 2 000 shapes take minutes to check, and
    # `aigraph validate` checks them below (the SHACL project is validated at start).
    server = LiveServer(str(brick.root), "--no-validate", "--max-rows", "1000")
    yield server.url
    server.stop()


@pytest.fixture(scope="module")
def shacl_server(shacl: Built):
    server = LiveServer(str(shacl.root), "--max-rows", "1000")
    yield server.url
    server.stop()


@pytest.fixture(scope="module")
def servers(brick, shacl, brick_server, shacl_server) -> dict[str, tuple[Built, str]]:
    return {"brick": (brick, brick_server), "shacl": (shacl, shacl_server)}


# -- it serves ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["brick", "shacl"])
def test_the_project_serves_its_data_and_its_description(servers, name):
    built, server = servers[name]
    assert count(server) == len(Graph().parse(built.data))
    status, body = get(f"{server}/healthz", "application/json")
    assert status == 200 and json.loads(body)["status"] == "ok"
    # The catalogue, VoID and landing page say what the project's dataset.ttl says.
    catalogue = Graph().parse(data=get(f"{server}/catalog.ttl", "text/turtle")[1], format="turtle")
    dataset = next(catalogue.subjects(RDF.type, DCAT.Dataset))
    assert str(catalogue.value(dataset, DCTERMS.title)) == built.title
    assert str(dataset).startswith(built.base)
    metadata = Graph().parse(built.root / "dataset.ttl", publicID=built.base + "/")
    publisher = next(metadata.objects(None, FOAF.name))
    assert publisher in set(catalogue.objects(None, FOAF.name))
    landing = get(f"{server}/")[1].decode()
    assert built.title in landing
    assert "Vinnova" not in landing and "Vinnova" not in catalogue.serialize(format="turtle")


@pytest.mark.parametrize("profile", sorted(SHAPES))
@pytest.mark.parametrize("name", ["brick", "shacl"])
def test_the_catalogue_conforms_to_dcat_ap(servers, name, profile):
    _, server = servers[name]
    shapes = Graph()
    for path in SHAPES[profile]:
        shapes.parse(path)
    codelists = Graph().parse(
        Path(__file__).parent / "reference" / "dcat-ap" / "codelists-extract.ttl"
    )
    catalogue = Graph().parse(data=get(f"{server}/catalog.ttl", "text/turtle")[1], format="turtle")
    results = shacl_results(catalogue, codelists, shapes)
    violations = _keys(results, "Violation")
    assert violations <= KNOWN_VIOLATIONS[profile], json.dumps(results, indent=1)
    assert (None, RDF.type, DCAT.Catalog) in catalogue and (None, DCAT.dataset, None) in catalogue


# -- pages, hash IRIs included, in a real browser -------------------------------------------------


def test_a_brick_hash_iri_has_a_page_with_label_and_incoming_links(browser, brick_server):
    from selenium.webdriver.common.by import By

    browser.get(brick_server + page_of(BRICK_EQUIPMENT))
    assert browser.find_element(By.TAG_NAME, "h1").text == "Equipment"
    assert (
        "serve all or part of the building" in browser.find_element(By.CSS_SELECTOR, ".lead").text
    )
    incoming = browser.find_elements(By.CSS_SELECTOR, "#h-incoming ~ table a")
    subclasses = {a.text: a.get_attribute("href") for a in incoming}
    assert "HVAC Equipment" in subclasses, sorted(subclasses)
    assert subclasses["HVAC Equipment"].startswith(brick_server + "/resource?iri=")
    # Follow the link: the page of the subclass, which links back to Equipment.
    browser.get(subclasses["HVAC Equipment"])
    assert browser.find_element(By.TAG_NAME, "h1").text == "HVAC Equipment"
    back = [a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "main a")]
    assert any(h.startswith(brick_server + page_of(BRICK_EQUIPMENT)) for h in back), back
    # The format links give the same resource as data.
    browser.get(brick_server + page_of(BRICK_EQUIPMENT))
    links = browser.find_elements(By.CSS_SELECTOR, ".ld-formats a")
    turtle = next(a.get_attribute("href") for a in links if a.text == "Turtle")
    described = Graph().parse(data=get(turtle, "text/turtle")[1], format="turtle")
    assert (URIRef(BRICK_EQUIPMENT), RDF.type, SH.NodeShape) in described


def test_a_w3c_term_reads_in_english_for_a_swedish_reader(browser, shacl_server):
    from selenium.webdriver.common.by import By

    browser.get(shacl_server + page_of(SHACL_NODE_SHAPE) + "&lang=sv")
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "sv"
    assert browser.find_element(By.TAG_NAME, "h1").text == "Node shape"  # its only label: @en
    browser.find_element(By.CSS_SELECTOR, ".lang-switch a[hreflang='en']").click()
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    assert browser.find_element(By.TAG_NAME, "h1").text == "Node shape"


# -- validation: the project's own shapes, as the pyshacl command sees them ----------------------

RESULT_PARTS = (SH.focusNode, SH.resultPath, SH.value, SH.sourceShape,
                SH.sourceConstraintComponent, SH.resultSeverity)  # fmt: skip


def result_keys(report: Graph) -> Counter:
    """Every result as its parts; blank nodes (shapes, lists) are compared as "a blank node"."""

    def shown(node) -> str:
        return "_:" if isinstance(node, BNode) else str(node)

    return Counter(
        tuple(shown(report.value(result, part)) for part in RESULT_PARTS)
        for result in report.subjects(RDF.type, SH.ValidationResult)
    )


@pytest.fixture(scope="module")
def reports(brick, shacl, tmp_path_factory) -> dict[str, tuple[int, Graph, int, Graph]]:
    """Run ``aigraph validate`` and ``pyshacl`` on each project, all four at once."""
    out = tmp_path_factory.mktemp("reports")
    running = {}
    for name, built in (("brick", brick), ("shacl", shacl)):
        ours, theirs = out / f"{name}-aigraph.ttl", out / f"{name}-pyshacl.ttl"
        running[name] = (
            subprocess.Popen(
                [sys.executable, "-m", "aigraph", "validate", str(built.root),
                 "--format", "turtle", "-o", str(ours)],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            ),
            # aigraph runs pySHACL with the SHACL advanced features and no inference.
            subprocess.Popen(
                [str(BIN / "pyshacl"), "-s", str(built.shapes), "-a", "-i", "none",
                 "-f", "turtle", "-o", str(theirs), str(built.data)],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            ),
            ours,
            theirs,
        )  # fmt: skip
    found = {}
    for name, (aigraph, pyshacl, ours, theirs) in running.items():
        aigraph_code = aigraph.wait(1700)
        pyshacl_code = pyshacl.wait(1700)
        assert aigraph_code in (0, 1), aigraph.stderr.read() if aigraph.stderr else ""
        assert pyshacl_code in (0, 1), pyshacl.stderr.read() if pyshacl.stderr else ""
        found[name] = (
            aigraph_code,
            Graph().parse(ours, format="turtle"),
            pyshacl_code,
            Graph().parse(theirs, format="turtle"),
        )
    return found


@pytest.mark.parametrize("name", ["brick", "shacl"])
def test_validate_with_the_project_s_shapes_finds_what_pyshacl_finds(reports, name):
    aigraph_code, ours, pyshacl_code, theirs = reports[name]
    assert aigraph_code == pyshacl_code
    assert ours.value(predicate=SH.conforms) == theirs.value(predicate=SH.conforms)
    assert result_keys(ours) == result_keys(theirs)
    if name == "brick":  # Brick's shapes find what its imports (QUDT) would have declared
        assert sum(result_keys(ours).values()) > 0


# -- a store ---------------------------------------------------------------------------------------


def test_the_project_loads_into_a_store_and_serves_from_it(brick, brick_server, tmp_path):
    store = tmp_path / "store"
    loaded = subprocess.run(
        [sys.executable, "-m", "aigraph", "load", "--project", str(brick.root), "--store", str(store)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert loaded.returncode == 0, loaded.stderr
    server = LiveServer(str(brick.root), "--store", str(store), "--max-rows", "1000")
    try:
        assert count(server.url) == count(brick_server)
        for path in (page_of(BRICK_EQUIPMENT), page_of(BRICK_EQUIPMENT) + "&lang=sv"):
            from_store, from_memory = get(server.url + path)[1], get(brick_server + path)[1]
            pairs = zip(from_store, from_memory, strict=False)
            at = next((i for i, (a, b) in enumerate(pairs) if a != b), 0)
            assert from_store == from_memory, (path, from_store[at - 300 : at + 200])
        catalogue = get(f"{server.url}/catalog.ttl", "text/turtle")[1]
        assert brick.title.encode() in catalogue
    finally:
        server.stop()
