"""Linked data: every IRI under the base dereferences, in HTML and every RDF format.

Uses the ``app``/``client``/``core``/``live_server`` fixtures of ``conftest.py``; the last test
drives a real headless Chromium like ``test_browser.py``.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import pytest
from rdflib import BNode, Dataset, Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import RDFS, SH

from aigraph import content, formats, graph
from aigraph.pages import resource as resources
from aigraph.project import Project
from aigraph.settings import CANONICAL_BASE, Settings

BASE = CANONICAL_BASE
AIG = f"{BASE}/ontology#"
VINNOVA = "/id/organisation/vinnova"
GRANT = "/id/grant/vinnova-ai-innovation-of-sweden-2020-2024"
GRANT_SENTENCE = (
    "Genom den nya satsningen från Vinnova finansieringen tillförs nu AI Innovation of Sweden "
    "ytterligare 100 miljoner under perioden 2020-2024."
)
RDFLIB_FORMATS = {
    "turtle": "turtle", "nt": "nt", "jsonld": "json-ld", "rdfxml": "xml", "trig": "trig",
    "nquads": "nquads",
}  # fmt: skip


def _dataset() -> Dataset:
    return graph.load(Settings()).dataset


def _paths_under_base() -> list[str]:
    """Return the path of every IRI under the base in the data (subjects, objects, graphs)."""
    found = set()
    for quad in _dataset().quads((None, None, None, None)):
        for term in quad:
            name = getattr(term, "identifier", term)
            if isinstance(name, URIRef) and str(name).startswith(BASE + "/"):
                found.add(str(name)[len(BASE) :].split("#", 1)[0])
    return sorted(found)


PATHS = _paths_under_base()


@pytest.fixture(scope="module")
def data() -> Dataset:
    return _dataset()


def _text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def _parse(body: bytes, name: str) -> Dataset:
    parsed = Dataset(default_union=True)
    parsed.parse(data=body, format=RDFLIB_FORMATS[name])
    return parsed


def _english_label(data: Dataset, iri: URIRef) -> str | None:
    for label in data.objects(iri, RDFS.label):
        if isinstance(label, Literal) and label.language == "en":
            return str(label)
    return None


def test_the_data_mints_iris_of_every_kind():
    kinds = {path.split("/")[1] + ("/" + path.split("/")[2] if path.startswith("/id/") else "")
             for path in PATHS}  # fmt: skip
    assert {"id/organisation", "id/person", "id/post", "id/grant", "id/node", "id/quote",
            "id/article", "graph", "ontology"} <= kinds, kinds  # fmt: skip


@pytest.mark.parametrize("path", PATHS)
def test_every_iri_dereferences_in_every_format(client, data, path):
    iris = [URIRef(BASE + path)]
    if path == "/ontology":  # the hash IRIs of the terms are answered by the ontology document
        iris += sorted({s for s in data.subjects() if str(s).startswith(AIG)})
    page = client.get(path, headers={"Accept": "text/html"})
    assert page.status_code == 200, page.get_data(as_text=True)[:500]
    assert page.headers["Vary"] == "Accept"
    assert page.headers["Content-Location"] == f"{path}.html"
    for iri in iris:
        label = _english_label(data, iri)
        if label:
            assert label in _text(page), (iri, label)
    for offer in formats.GRAPH:
        response = client.get(path, headers={"Accept": offer.media_type})
        assert response.status_code == 200, response.get_data(as_text=True)[:500]
        assert response.mimetype == offer.media_type
        assert response.headers["Vary"] == "Accept"
        assert response.headers["Content-Location"] == f"{path}.{offer.extension}"
        parsed = _parse(response.data, offer.name)
        for iri in iris:
            for s, p, o in data.triples((iri, None, None)):
                if isinstance(o, BNode):
                    assert (s, p, None) in parsed, (offer.name, s, p)
                else:
                    assert (s, p, o) in parsed, (offer.name, s, p, o)
        if path.startswith("/graph/"):  # a named graph's statements come with it
            members = [q for q in data.quads((None, None, None, iris[0]))
                       if not any(isinstance(t, BNode) for t in q[:3])]  # fmt: skip
            assert members and all((s, p, o) in parsed for s, p, o, _ in members), offer.name
        elif path != "/ontology":
            assert iris[0] in set(parsed.subjects()) | set(parsed.objects()), offer.name


@pytest.mark.parametrize("ext", ["ttl", "jsonld", "nt", "rdf", "trig", "nq", "html"])
def test_suffixed_documents_answer_directly(client, ext):
    negotiated_offer = {o.extension: o for o in formats.GRAPH}.get(ext)
    accept = negotiated_offer.media_type if negotiated_offer else "text/html"
    direct = client.get(f"{VINNOVA}.{ext}", headers={"Accept": "image/png"})
    negotiated = client.get(VINNOVA, headers={"Accept": accept})
    assert direct.status_code == 200, direct.get_data(as_text=True)[:300]
    assert direct.data == negotiated.data
    assert direct.headers["Content-Type"] == negotiated.headers["Content-Type"]
    assert direct.headers["Content-Location"] == f"{VINNOVA}.{ext}"


def test_format_parameter_wins_over_accept(client):
    response = client.get(f"{VINNOVA}?format=jsonld", headers={"Accept": "text/html"})
    assert response.mimetype == "application/ld+json"
    assert response.headers["Content-Location"] == f"{VINNOVA}.jsonld"


def test_curl_gets_turtle_and_browsers_get_html(client):
    assert client.get(VINNOVA, headers={"Accept": "*/*"}).mimetype == "text/turtle"
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    assert client.get(VINNOVA, headers={"Accept": browser}).mimetype == "text/html"
    refused = client.get(VINNOVA, headers={"Accept": "image/png"})
    assert refused.status_code == 406, refused.get_data(as_text=True)


@pytest.mark.parametrize(
    "path", ["/id/organisation/no-such-thing", "/graph/no-such-graph", "/id/x.ttl",
             "/ontology/9.9.9", "/id/organisation/vinnova.png"],
)  # fmt: skip
def test_unknown_iri_is_404_in_html_and_json(client, path):
    page = client.get(path, headers={"Accept": "text/html"})
    assert page.status_code == 404, page.get_data(as_text=True)[:300]
    assert page.mimetype == "text/html"
    assert "not-found" in page.get_data(as_text=True)
    rdf = client.get(path, headers={"Accept": "text/turtle"})
    assert rdf.status_code == 404
    body = rdf.get_json()
    assert body["error"] == "not-found" and body["status"] == 404, body
    assert set(body) >= {"message", "request_id"}


def test_grant_page_shows_its_source_sentences(client):
    page = _text(client.get(GRANT, headers={"Accept": "text/html"}))
    assert GRANT_SENTENCE in page
    assert 'href="/id/article/vinnova-utokar-sin-satsning-pa-det-svenska-ai-ekosystemet' in page
    assert 'href="/graph/grant' in page


def test_grant_turtle_carries_the_provenance(client):
    parsed = _parse(client.get(GRANT, headers={"Accept": "text/turtle"}).data, "turtle")
    sentence = Literal(GRANT_SENTENCE, lang="sv")
    assert (URIRef(f"{BASE}/graph/grant"), URIRef(AIG + "sourceSentence"), sentence) in parsed
    # The labels of what it links to come along.
    assert (URIRef(BASE + VINNOVA), RDFS.label, Literal("Vinnova", lang="en")) in parsed


def test_trig_keeps_the_named_graphs(client):
    parsed = _parse(client.get(GRANT, headers={"Accept": "application/trig"}).data, "trig")
    names = {getattr(g, "identifier", g) for *_, g in parsed.quads((None, None, None, None))}
    assert URIRef(f"{BASE}/graph/grant") in names
    assert URIRef(f"{BASE}/graph/provenance") in names


class _Page(HTMLParser):
    """Collect the h1 text, the links and the element ids of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.h1 = ""
        self.links: list[str] = []
        self.ids: set[str] = set()
        self._in_h1 = False

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if values.get("id"):
            self.ids.add(values["id"])
        if tag == "a" and values.get("href"):
            self.links.append(values["href"])
        self._in_h1 = self._in_h1 or tag == "h1"

    def handle_endtag(self, tag):
        if tag == "h1":
            self._in_h1 = False

    def handle_data(self, data):
        if self._in_h1:
            self.h1 += data


def _page(client, path: str) -> _Page:
    response = client.get(path, headers={"Accept": "text/html"})
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    parser = _Page()
    parser.feed(response.get_data(as_text=True))
    return parser


def test_language_switch_changes_the_heading(client):
    assert (
        _page(client, GRANT).h1.strip() == "Vinnova's funding of AI Innovation of Sweden 2020–2024"
    )
    swedish = _page(client, f"{GRANT}?lang=sv").h1.strip()
    assert swedish == "Vinnovas finansiering av AI Innovation of Sweden 2020–2024"
    response = client.get(f"{GRANT}?lang=sv", headers={"Accept": "text/html"})
    assert response.headers["Content-Location"] == f"{GRANT}.html?lang=sv"


def test_vinnova_page_links_to_wikidata(client):
    assert "http://www.wikidata.org/entity/Q4355568" in _page(client, VINNOVA).links


@pytest.mark.parametrize(
    "path", [VINNOVA, GRANT, "/graph/grant", "/id/quote/isaksson", "/ontology", "/shapes"]
)
def test_links_are_local_and_resolve(client, path):
    links = _page(client, path).links
    assert not [href for href in links if href.startswith(BASE)], links
    local = sorted({href.split("#", 1)[0] for href in links if href.startswith("/")} - {""})
    assert any(href.startswith(("/id/", "/graph/", "/ontology")) for href in local), local
    for href in local:
        if href.startswith(("/sparql", "/catalog", "/static")) or href.split("?")[0] == "/":
            continue  # other blueprints' pages
        response = client.get(href, headers={"Accept": "text/html"})
        assert response.status_code == 200, (path, href)


def test_ontology_page_documents_every_term(client):
    ontology = Graph().parse(content.ontology_file())
    terms = sorted({s for s in ontology.subjects() if str(s).startswith(AIG)})
    assert len(terms) > 20
    for lang in ("en", "sv"):
        response = client.get(f"/ontology?lang={lang}", headers={"Accept": "text/html"})
        page, parser = _text(response), _Page()
        parser.feed(response.get_data(as_text=True))
        for term in terms:
            assert str(term)[len(AIG) :] in parser.ids, term
            for label in ontology.objects(term, RDFS.label):
                assert str(label) in page, (term, label)
            assert {label.language for label in ontology.objects(term, RDFS.label)} == {"sv", "en"}


def test_ontology_turtle_is_the_ontology_file(client):
    response = client.get("/ontology", headers={"Accept": "text/turtle"})
    assert response.mimetype == "text/turtle"
    assert response.headers["Content-Location"] == "/ontology.ttl"
    served = Graph().parse(data=response.data, format="turtle")
    assert isomorphic(served, Graph().parse(content.ontology_file()))
    for ext in ("jsonld", "rdf"):
        assert client.get(f"/ontology.{ext}").status_code == 200


def test_shapes_page_lists_every_message(client):
    shapes = Graph().parse(content.shapes_file())
    page = _text(client.get("/shapes", headers={"Accept": "text/html"}))
    messages = list(shapes.objects(None, SH.message))
    assert len(messages) > 20
    for message in messages:
        assert str(message) in page, message
    parser = _Page()
    parser.feed(client.get("/shapes", headers={"Accept": "text/html"}).get_data(as_text=True))
    for shape in shapes.subjects(None, SH.NodeShape):
        assert str(shape).rsplit("#", 1)[-1] in parser.ids


def test_shapes_turtle_is_the_shapes_file(client):
    response = client.get("/shapes.ttl")
    assert response.mimetype == "text/turtle"
    shapes = Project.bundled().validation_shapes()  # its shapes and the closed-world shape
    assert response.data == b"\n".join(path.read_bytes() for path in shapes)
    assert response.data.startswith(content.shapes_file().read_bytes())
    negotiated = client.get("/shapes", headers={"Accept": "text/turtle"})
    assert negotiated.data == response.data and negotiated.headers["Vary"] == "Accept"


@pytest.mark.parametrize("path", [VINNOVA, "/graph/grant", "/ontology", "/shapes"])
def test_conditional_get_and_head(client, core, path):
    first = client.get(path, headers={"Accept": "text/turtle"})
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert etag and modified == core.last_modified
    assert client.get(path, headers={"Accept": "text/html"}).headers["ETag"] != etag
    cached = client.get(path, headers={"Accept": "text/turtle", "If-None-Match": etag})
    assert cached.status_code == 304 and cached.data == b""
    since = client.get(path, headers={"Accept": "text/turtle", "If-Modified-Since": modified})
    assert since.status_code == 304 and since.data == b""
    head = client.head(path, headers={"Accept": "text/turtle"})
    assert head.status_code == 200 and head.data == b"" and head.headers["ETag"] == etag


def test_describe_is_a_pure_function_of_the_dataset(data):
    described = resources.describe(data, URIRef(BASE + GRANT), BASE)
    names = {getattr(g, "identifier", g) for *_, g in described.quads((None, None, None, None))}
    assert URIRef(f"{BASE}/graph/provenance") in names
    amounts = list(described.objects(URIRef(BASE + GRANT), URIRef("http://schema.org/amount")))
    assert amounts and list(described.objects(amounts[0], URIRef("http://schema.org/value")))


def test_pages_follow_a_rebased_dataset():
    """With another base the same paths answer, and pages still link locally."""
    from aigraph.core import Aigraph
    from aigraph.web import create_app

    aigraph = Aigraph.open(Settings(base="http://example.org/kg", engine="rdflib", validate=False))
    try:
        client = create_app(core=aigraph).test_client()
        response = client.get(VINNOVA, headers={"Accept": "text/turtle"})
        assert response.status_code == 200
        parsed = _parse(response.data, "turtle")
        assert (URIRef("http://example.org/kg" + VINNOVA), RDFS.label, None) in parsed
        page = _page(client, VINNOVA)
        assert not [h for h in page.links if h.startswith("http://example.org/kg")]
    finally:
        aigraph.close()


# -- clients that read only the default graph, and prefixes ---------------------------------------


@pytest.mark.parametrize("name", ["trig", "nquads", "jsonld"])
@pytest.mark.parametrize("path", [VINNOVA, GRANT, "/graph/grant"])
def test_quad_formats_show_every_statement_in_the_default_graph(client, name, path):
    """A client that reads the default graph sees what Turtle shows; graphs keep provenance."""
    offer = formats.find_offer(name, formats.GRAPH)
    assert offer is not None
    quads = Dataset()
    quads.parse(data=client.get(path, headers={"Accept": offer.media_type}).data,
                format=RDFLIB_FORMATS[name])  # fmt: skip
    turtle = Graph().parse(data=client.get(path, headers={"Accept": "text/turtle"}).data)
    assert len(quads.default_graph) == len(turtle) > 0
    assert isomorphic(quads.default_graph, turtle)
    named = {g.identifier for g in quads.graphs() if g.identifier != quads.default_graph.identifier}
    assert URIRef(f"{BASE}/graph/provenance") in named
    in_graphs = Graph()
    for s, p, o, g in quads.quads((None, None, None, None)):
        if g != quads.default_graph.identifier:
            in_graphs.add((s, p, o))
    assert isomorphic(in_graphs, turtle), "every statement also sits in the graph it comes from"


_GENERATED_PREFIX = re.compile(rb"(@prefix|PREFIX|xmlns:)\s*ns\d+")
_CONSTRUCT = (
    "CONSTRUCT { ?s ?p ?o } WHERE { GRAPH <https://w3id.org/aigraph/graph/grant> { ?s ?p ?o } }"
)


@pytest.mark.parametrize(
    "path, expected",
    [
        ("/dumps/aigraph.ttl", [b"@prefix aig:", b"@prefix schema:", b"@prefix dcterms:",
                                b"@prefix orgn:"]),
        ("/dumps/aigraph.trig", [b"@prefix aig:", b"@prefix prov:"]),
        ("/dumps/aigraph.rdf", [b'xmlns:aig="', b'xmlns:schema="']),
        ("/catalog.ttl", [b"@prefix dcat:", b"@prefix dct:", b"@prefix vcard:", b"@prefix spdx:",
                          b"@prefix foaf:"]),
        ("/catalog.rdf", [b'xmlns:dcat="', b'xmlns:dct="']),
        ("/.well-known/void.ttl", [b"@prefix void:", b"@prefix dct:", b"@prefix aig:"]),
        (VINNOVA + ".ttl", [b"@prefix aig:", b"@prefix orgn:", b"@prefix schema:"]),
        ("/sparql?query=" + _CONSTRUCT, [b"@prefix aig:", b"@prefix schema:"]),
    ],
)  # fmt: skip
def test_documents_use_the_data_and_vocabulary_prefixes(client, path, expected):
    """No rdflib-generated ns1:, ns2:, ...: the data's own prefixes and the usual ones."""
    response = client.get(path, headers={"Accept": "text/turtle", "Accept-Encoding": "identity"})
    assert response.status_code == 200, response.data[:300]
    head = response.data[:6000]
    assert not _GENERATED_PREFIX.search(response.data), head.decode()
    for prefix in expected:
        assert prefix in head, (prefix, head.decode())


# -- the landing page ---------------------------------------------------------------------------


def _main_resources(client) -> list[str]:
    page = client.get("/", headers={"Accept": "text/html"}).get_data(as_text=True)
    listed = page.split('class="examples-list"', 1)[1].split("</ul>", 1)[0]
    return re.findall(r'href="([^"?]+)', listed)


def test_landing_page_lists_the_main_organisations(client):
    listed = _main_resources(client)
    for path in (VINNOVA, "/id/organisation/lindholmen-science-park",
                 "/id/organisation/ai-innovation-of-sweden", GRANT):  # fmt: skip
        assert path in listed, listed
    assert listed.index(VINNOVA) < listed.index(GRANT), "organisations come first"


@pytest.fixture(scope="module")
def store_client(tmp_path_factory):
    """A test client of a server over a store made by ``aigraph load --store``."""
    from click.testing import CliRunner

    from aigraph.cli import cli
    from aigraph.core import Aigraph
    from aigraph.web import create_app

    directory = tmp_path_factory.mktemp("store") / "store"
    loaded = CliRunner().invoke(cli, ["load", "--store", str(directory),
                                      *map(str, graph.default_paths())])  # fmt: skip
    assert loaded.exit_code == 0, loaded.output
    aigraph = Aigraph.open(Settings(store=str(directory), executors=1))
    yield create_app(core=aigraph).test_client()
    aigraph.close()


def test_landing_page_over_a_store_offers_no_empty_downloads(store_client):
    """A store-backed server has no dumps: the page says so rather than showing an empty table."""
    page = store_client.get("/", headers={"Accept": "text/html"}).get_data(as_text=True)
    downloads = page.split('id="downloads"', 1)[1].split("</section>", 1)[0]
    assert "<table" not in downloads and "/dumps/" not in downloads, downloads
    assert "SPARQL" in downloads, downloads
    assert VINNOVA in _main_resources(store_client)
    assert store_client.get("/dumps/aigraph.ttl").status_code == 404


def test_prefixes_over_a_store_are_the_data_s(store_client):
    """Over a store too: schema: is http://schema.org/ as in the data, nothing generated."""
    turtle = store_client.get(VINNOVA, headers={"Accept": "text/turtle"}).data
    assert b"@prefix schema: <http://schema.org/> ." in turtle, turtle[:800]
    assert not re.search(rb"@prefix \w+\d+:", turtle), turtle[:800]
    page = store_client.get("/sparql", headers={"Accept": "text/html"}).get_data(as_text=True)
    declared = dict(re.findall(r"PREFIX (\w+): &lt;([^&]+)&gt;", page))
    assert declared.get("schema") == "http://schema.org/", declared
    assert not [p for p in declared if p[-1].isdigit()], declared


def test_landing_page_in_memory_lists_every_dump(client):
    page = client.get("/", headers={"Accept": "text/html"}).get_data(as_text=True)
    downloads = page.split('id="downloads"', 1)[1].split("</section>", 1)[0]
    for ext in ("ttl", "nt", "jsonld", "rdf", "trig", "nq"):
        assert f'href="/dumps/aigraph.{ext}"' in downloads, ext


# -- a real browser -----------------------------------------------------------------------------


def test_browser_switches_the_resource_page_to_swedish(browser, live_server):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def heading() -> str:
        return browser.find_element(By.TAG_NAME, "h1").text.strip()

    wait = WebDriverWait(browser, 20)
    browser.get(f"{live_server}{VINNOVA}")
    assert heading() == "Vinnova"
    assert browser.find_element(By.CSS_SELECTOR, ".lead").text == "Sweden's innovation agency"
    browser.find_element(By.CSS_SELECTOR, ".lang-switch a[hreflang='sv']").click()
    wait.until(lambda d: d.find_element(By.TAG_NAME, "html").get_attribute("lang") == "sv")
    # Vinnova is "Vinnova" in both languages; its description and links change.
    assert heading() == "Vinnova"
    assert browser.find_element(By.CSS_SELECTOR, ".lead").text == "Sveriges innovationsmyndighet"
    grant = "Vinnovas finansiering av AI Innovation of Sweden 2020–2024"
    browser.find_element(By.LINK_TEXT, grant).click()
    wait.until(lambda d: heading() == grant)
    assert browser.current_url.endswith(f"{GRANT}?lang=sv")
    browser.find_element(By.CSS_SELECTOR, ".lang-switch a[hreflang='en']").click()
    wait.until(lambda d: heading() == "Vinnova's funding of AI Innovation of Sweden 2020–2024")
