"""Pages for any IRI of the data: ``/resource?iri=`` for IRIs outside the base.

The bundled data holds IRIs of other namespaces (hash IRIs such as ``org:FormalOrganization``,
Wikidata entities): their pages have the design, incoming links and formats of the ``/id/``
pages, and every link between pages works for both kinds. Hostile IRIs and labels (written here
as data, served by a real ``aigraph serve``) are escaped and never become links out, checked in
a real Chromium. The third-party graphs of ``test_third_party.py`` exercise the same pages on
Brick's hash IRIs.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from rdflib import Dataset, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, FOAF, RDF, RDFS, SKOS

from aigraph.pages import labels
from aigraph.pages.resource import View, page_model
from aigraph.web.linked_data import MAX_IRI_LENGTH
from conftest import LiveServer

ORG_CLASS = "http://www.w3.org/ns/org#FormalOrganization"
VINNOVA = "/id/organisation/vinnova"
WIKIDATA_VINNOVA = "http://www.wikidata.org/entity/Q4355568"


def page_of(iri: str, ext: str = "") -> str:
    return f"/resource{'.' + ext if ext else ''}?iri={quote(iri, safe='')}"


class _Page(HTMLParser):
    def __init__(self, html: str) -> None:
        super().__init__()
        self.links: list[str] = []
        self.h1 = ""
        self._in_h1 = False
        self.handlers: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name == "href" and value is not None:
                self.links.append(value)
            if name.startswith("on"):
                self.handlers.append(f"<{tag} {name}>")
        self._in_h1 = self._in_h1 or tag == "h1"

    def handle_endtag(self, tag):
        self._in_h1 = self._in_h1 and tag != "h1"

    def handle_data(self, data):
        if self._in_h1:
            self.h1 += data


def _html(client, path: str) -> _Page:
    response = client.get(path, headers={"Accept": "text/html"})
    assert response.status_code == 200, (path, response.get_data(as_text=True)[:400])
    return _Page(response.get_data(as_text=True))


# -- the page and its formats ---------------------------------------------------------------------


def test_hash_iri_outside_the_base_has_a_page_with_incoming_links(client):
    page = _html(client, page_of(ORG_CLASS))
    assert page.h1.strip() == "FormalOrganization"  # no label in the data: its local name
    # Vinnova is typed org:FormalOrganization: the page lists it as an incoming link.
    assert f"{VINNOVA}?lang=en" in page.links, page.links
    # The format links name the same resource.
    for ext in ("ttl", "jsonld", "nt", "rdf", "trig", "nq"):
        assert page_of(ORG_CLASS, ext) in page.links, ext


def test_resource_pages_negotiate_like_the_id_pages(client):
    negotiated = client.get(page_of(ORG_CLASS), headers={"Accept": "text/turtle"})
    assert negotiated.status_code == 200
    assert negotiated.mimetype == "text/turtle"
    assert negotiated.headers["Vary"] == "Accept"
    assert negotiated.headers["Content-Location"] == page_of(ORG_CLASS, "ttl")
    document = client.get(page_of(ORG_CLASS, "ttl"))
    assert document.data == negotiated.data
    parsed = Graph().parse(data=document.data, format="turtle")
    assert (None, RDF.type, URIRef(ORG_CLASS)) in parsed
    assert client.get(page_of(ORG_CLASS) + "&format=jsonld").mimetype == "application/ld+json"
    html = client.get(page_of(ORG_CLASS) + "&lang=sv", headers={"Accept": "text/html"})
    assert html.headers["Content-Location"] == page_of(ORG_CLASS, "html") + "&lang=sv"
    again = client.get(
        page_of(ORG_CLASS, "ttl"), headers={"If-None-Match": document.headers["ETag"]}
    )
    assert again.status_code == 304
    other = client.get(page_of(WIKIDATA_VINNOVA, "ttl"))
    assert other.status_code == 200 and other.headers["ETag"] != document.headers["ETag"]


def test_pages_link_to_pages_of_iris_outside_the_base(client):
    links = _html(client, VINNOVA).links
    assert page_of(ORG_CLASS) + "&lang=en" in links
    assert page_of(WIKIDATA_VINNOVA) + "&lang=en" in links
    assert WIKIDATA_VINNOVA in links  # the owl:sameAs card still links out to Wikidata
    # A property the data only uses (never labels nor types) links out to its vocabulary.
    assert "http://schema.org/name" in links
    back = _html(client, page_of(WIKIDATA_VINNOVA)).links
    assert f"{VINNOVA}?lang=en" in back


def test_language_switch_keeps_the_resource(client):
    links = _html(client, page_of(ORG_CLASS) + "&lang=sv").links
    assert page_of(ORG_CLASS) + "&lang=en" in links
    assert page_of(ORG_CLASS) + "&lang=sv" in links
    assert f"{VINNOVA}?lang=sv" in links


def test_an_iri_under_the_base_is_answered_at_resource_too(client):
    page = _html(client, page_of("https://w3id.org/aigraph" + VINNOVA))
    assert page.h1.strip() == "Vinnova"


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("", "give the IRI of one resource"),
        ("?iri=", "give the IRI of one resource"),
        ("?iri=http://a.example/&iri=http://b.example/", "give the IRI of one resource"),
        ("?iri=relative/path", "absolute IRI"),
        ("?iri=" + quote("http://a.example/with space"), "absolute IRI"),
        ("?iri=" + quote('http://a.example/"><script>'), "absolute IRI"),
        ("?iri=http://a.example/" + "a" * MAX_IRI_LENGTH, f"at most {MAX_IRI_LENGTH}"),
    ],
)
def test_a_bad_iri_parameter_is_a_400_that_says_what_to_send(client, query, says):
    response = client.get("/resource" + query, headers={"Accept": "application/json"})
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    assert says in response.get_json()["message"]
    page = client.get("/resource" + query, headers={"Accept": "text/html"})
    assert page.status_code == 400 and "<script>" not in page.get_data(as_text=True)


def test_an_iri_the_data_does_not_hold_is_a_404(client):
    for accept in ("text/html", "text/turtle", "application/x-nonsense"):
        response = client.get(page_of("http://nowhere.example/thing#x"), headers={"Accept": accept})
        assert response.status_code == 404, accept
    assert client.get(page_of("http://nowhere.example/x", "ttl")).status_code == 404
    assert client.get("/resource.nope?iri=" + quote(ORG_CLASS)).status_code == 404


# -- labels ---------------------------------------------------------------------------------------

EX = "https://example.org/thing/"


def _labelled() -> Dataset:
    data = Dataset(default_union=True)
    graph = data.graph(URIRef(EX + "graph"))
    pairs = [
        ("a", RDFS.label, Literal("Etikett", lang="sv")),
        ("a", RDFS.label, Literal("Label", lang="en")),
        ("b", URIRef("https://schema.org/name"), Literal("Name over https")),
        ("c", DCTERMS.title, Literal("Titel", lang="de")),
        ("d", FOAF.name, Literal("Foaf", lang="en-GB")),
        ("e", SKOS.prefLabel, Literal("Preferred", lang="en")),
        ("e", RDFS.label, Literal("Other", lang="en")),
    ]
    for local, prop, value in pairs:
        graph.add((URIRef(EX + local), prop, value))
    graph.add((URIRef(EX + "a"), URIRef(EX + "linksTo"), URIRef(EX + "Unlabelled%20Thing")))
    graph.add((URIRef(EX + "a"), URIRef(EX + "linksTo"), URIRef("http://x.example/v#Frag")))
    graph.add((URIRef(EX + "a"), URIRef(EX + "seeAlso"), URIRef("javascript:alert(1)")))
    return data


@pytest.mark.parametrize(
    ("local", "lang", "expected"),
    [
        ("a", "sv", "Etikett"),
        ("a", "en", "Label"),
        ("b", "sv", "Name over https"),
        ("c", "en", "Titel"),  # the only label, in another language
        ("d", "en", "Foaf"),  # en-GB serves an English reader
        ("e", "en", "Preferred"),  # skos:prefLabel before rdfs:label
        ("Unlabelled%20Thing", "en", "Unlabelled Thing"),  # the local name, decoded
    ],
)
def test_labels_come_from_the_common_properties_in_the_reader_s_language(local, lang, expected):
    view = View(_labelled(), "https://w3id.org/aigraph", lang)
    assert view.label(URIRef(EX + local)) == expected


def test_local_names_are_readable():
    assert labels.local_name("https://brickschema.org/schema/Brick#Air_Handling_Unit") == (
        "Air_Handling_Unit"
    )
    assert labels.local_name("http://example.org/a/b/") == "b"
    assert labels.local_name("urn:isbn:0451450523") == "isbn:0451450523"


def test_only_web_iris_link_out_and_only_data_iris_get_pages():
    data = _labelled()
    model = page_model(data, URIRef(EX + "a"), "https://w3id.org/aigraph", "en")
    values = {v.term.iri: v.term for p in model.properties for v in p.values}
    assert values[EX + "Unlabelled%20Thing"].href == labels.resource_path(EX + "Unlabelled%20Thing")
    script = values["javascript:alert(1)"]  # in the data: its page here, never a link to it
    assert script.local and script.link("en") == labels.resource_path(script.iri) + "&lang=en"
    assert labels.outbound("javascript:alert(1)") is None
    assert labels.outbound("data:text/html,<script>") is None
    predicates = {p.predicate.iri: p.predicate for p in model.properties}
    assert predicates[EX + "linksTo"].href == EX + "linksTo"  # used only: links out
    assert not predicates[EX + "linksTo"].local


# -- over a store the pages are the same ------------------------------------------------------------


@pytest.fixture(scope="module")
def store_client(tmp_path_factory):
    from click.testing import CliRunner

    from aigraph import graph
    from aigraph.cli import cli
    from aigraph.core import Aigraph
    from aigraph.settings import Settings
    from aigraph.web import create_app

    directory = tmp_path_factory.mktemp("store") / "store"
    loaded = CliRunner().invoke(cli, ["load", "--store", str(directory),
                                      *map(str, graph.default_paths())])  # fmt: skip
    assert loaded.exit_code == 0, loaded.output
    aigraph = Aigraph.open(Settings(store=str(directory), executors=1))
    yield create_app(core=aigraph).test_client()
    aigraph.close()


@pytest.mark.parametrize("iri", [ORG_CLASS, WIKIDATA_VINNOVA, "http://schema.org/Person"])
def test_resource_pages_over_a_store_are_those_in_memory(client, store_client, iri):
    for lang in ("en", "sv"):
        path = page_of(iri) + f"&lang={lang}"
        from_store = store_client.get(path, headers={"Accept": "text/html"})
        from_memory = client.get(path, headers={"Accept": "text/html"})
        assert from_store.status_code == 200, from_store.get_data(as_text=True)[:300]
        assert from_store.data == from_memory.data, iri
    assert store_client.get(page_of("http://nowhere.example/x")).status_code == 404


# -- hostile IRIs and labels in a real browser -----------------------------------------------------

#: IRIs and labels that would inject markup or script if anything were left unescaped (an IRI
#: with ``<`` or ``"`` in it never loads: the data is refused at start).
HOSTILE = r"""
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix schema: <http://schema.org/> .

<http://hostile.example/x'onmouseover='window.pwned=1> rdfs:label "<script>window.pwned=2</script><img src=x onerror=window.pwned=3>" ;
    schema:about <http://hostile.example/q?a=1&b=%22%3E%3Cscript%3Ewindow.pwned=4%3C/script%3E> ;
    schema:url <javascript:window.pwned=5> ;
    <javascript:window.pwned=6> "a property named by a script" ;
    schema:sameAs <javascript:window.pwned=7> .

<http://hostile.example/plain#Thing> rdfs:label "A plain thing" ;
    schema:knows <http://hostile.example/x'onmouseover='window.pwned=1> .
"""
HOSTILE_SUBJECT = "http://hostile.example/x'onmouseover='window.pwned=1"
HOSTILE_LABEL = "<script>window.pwned=2</script><img src=x onerror=window.pwned=3>"


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory):
    folder: Path = tmp_path_factory.mktemp("hostile")
    (folder / "hostile.ttl").write_text(HOSTILE, encoding="utf-8")
    server = LiveServer("--data", str(folder), "--no-validate", "--max-rows", "1000")
    yield server.url
    server.stop()


def test_hostile_iris_are_escaped_in_the_markup(hostile_server):
    import urllib.request

    request = urllib.request.Request(
        hostile_server + page_of(HOSTILE_SUBJECT), headers={"Accept": "text/html"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        html = response.read().decode("utf-8")
    page = _Page(html)
    assert page.h1.strip() == HOSTILE_LABEL
    assert page.handlers == [], page.handlers
    assert not [href for href in page.links if href.lower().startswith("javascript")], page.links
    assert "<script>window" not in html and "<img src=x" not in html


def test_hostile_pages_render_inert_in_chromium(browser, hostile_server):
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By

    browser.get(hostile_server + page_of("http://hostile.example/plain#Thing"))
    assert browser.find_element(By.TAG_NAME, "h1").text == "A plain thing"
    link = browser.find_element(By.CSS_SELECTOR, f"a[title={_css_string(HOSTILE_SUBJECT)}]")
    link.click()  # the hostile IRI's page, through its link
    assert browser.find_element(By.TAG_NAME, "h1").text == HOSTILE_LABEL
    query = parse_qs(urlsplit(browser.current_url).query)
    assert query["iri"] == [HOSTILE_SUBJECT]
    for element in browser.find_elements(By.CSS_SELECTOR, "main a, main code, main span"):
        browser.execute_script("arguments[0].dispatchEvent(new MouseEvent('mouseover'))", element)
    assert browser.execute_script("return window.pwned === undefined")
    assert (
        browser.execute_script("return document.querySelectorAll('main img, main script').length")
        == 0
    )
    hrefs = [a.get_attribute("href") or "" for a in browser.find_elements(By.CSS_SELECTOR, "a")]
    assert not [h for h in hrefs if not h.startswith(hostile_server) and not h.startswith("http")]
    assert not [h for h in hrefs if re.match(r"\s*javascript:", h, re.I)], hrefs
    try:
        browser.switch_to.alert  # noqa: B018 - raises when no alert is open
        raise AssertionError("a script opened an alert")
    except NoAlertPresentException:
        pass


def _css_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
