"""The browser surface: a strict CSP on every page, no inline script, links that stay on the
site, and result IRIs that are links only when they are http(s) (checked in real Chromium)."""

from __future__ import annotations

import http.client
import json
import urllib.request
from collections.abc import Iterator
from html.parser import HTMLParser
from urllib.parse import quote, unquote, urlsplit

import pytest
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
#: Script types a browser never executes: data blocks.
DATA_SCRIPTS = {"application/json", "application/ld+json"}
WAIT = 20
#: Links the walk does not follow: files that are not pages.
NOT_HTML = (".ttl", ".nt", ".rdf", ".jsonld", ".trig", ".nq", ".gz", ".json", ".css", ".js")


class Page(HTMLParser):
    """Collect the links, scripts and event-handler attributes of an HTML page."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []
        self.scripts: list[dict[str, str | None]] = []
        self.handlers: list[str] = []
        self.meta: dict[str, str | None] = {}
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name.startswith("on"):
                self.handlers.append(f"<{tag} {name}>")
            if name in ("href", "src", "action", "formaction") and value is not None:
                self.links.append((tag, value))
        if tag == "script":
            self.scripts.append(dict(attrs))
        if tag == "meta":
            found = dict(attrs)
            key = found.get("http-equiv") or found.get("name")
            if key:
                self.meta[key.lower()] = found.get("content")


def directives(policy: str) -> dict[str, list[str]]:
    found = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            found[words[0]] = words[1:]
    return found


def assert_strict_headers(response, where: str) -> None:
    policy = directives(response.headers.get("Content-Security-Policy", ""))
    assert policy.get("script-src") == ["'self'"], (where, policy)
    assert policy.get("object-src") == ["'none'"], (where, policy)
    assert policy.get("base-uri") in (["'none'"], ["'self'"]), (where, policy)
    assert policy.get("frame-ancestors") == ["'none'"], (where, policy)
    assert policy.get("form-action") == ["'self'"], (where, policy)
    assert policy.get("default-src") == ["'self'"], (where, policy)
    assert not any("unsafe" in v for values in policy.values() for v in values), (where, policy)
    assert response.headers.get("Referrer-Policy") in (
        "no-referrer",
        "strict-origin-when-cross-origin",
        "same-origin",
        "strict-origin",
    ), where
    assert response.headers.get("X-Frame-Options") == "DENY", where
    assert response.headers.get("X-Content-Type-Options") == "nosniff", where


def off_site(link: str) -> bool:
    """Whether a link leaves the site although it looks like a path (``//x``, ``/\\x``)."""
    stripped = link.strip(" \t\n\r\f\x00").replace("\\", "/")
    return stripped.startswith("//")


def html_pages(client) -> Iterator[tuple[str, object]]:
    """Walk the site from the landing page: every local HTML page reachable in two steps."""
    seen: set[str] = set()
    frontier = ["/", "/?lang=sv", "/nothing-here"]
    for _depth in range(3):
        following = []
        for path in frontier:
            if path in seen:
                continue
            seen.add(path)
            response = client.get(path, headers={"Accept": BROWSER})
            yield path, response
            if response.mimetype != "text/html":
                continue
            for _tag, link in Page(response.get_data(as_text=True)).links:
                parts = urlsplit(link)
                if parts.scheme or parts.netloc or not parts.path.startswith("/"):
                    continue
                target = parts.path + (f"?{parts.query}" if parts.query else "")
                if "/dumps/" not in target and not parts.path.endswith(NOT_HTML):
                    following.append(target)
        frontier = following


def test_every_html_page_has_a_strict_csp_and_no_inline_script(client):
    pages = 0
    for path, response in html_pages(client):
        if response.mimetype != "text/html":
            continue
        pages += 1
        assert_strict_headers(response, path)
        page = Page(response.get_data(as_text=True))
        for script in page.scripts:
            # Executable scripts come from a file of this site; the rest are data blocks.
            assert script.get("src") or script.get("type") in DATA_SCRIPTS, (path, script)
            if script.get("src"):
                assert not urlsplit(script["src"]).netloc, (path, script)
        assert not page.handlers, (path, page.handlers)
        # The page carries the policy itself too, for static copies served without headers.
        in_page = directives(page.meta.get("content-security-policy") or "")
        in_header = directives(response.headers["Content-Security-Policy"])
        assert in_page == {k: v for k, v in in_header.items() if k != "frame-ancestors"}, path
        assert page.meta.get("referrer") == response.headers["Referrer-Policy"], path
        assert not [
            link
            for _, link in page.links
            if link.strip().lower().startswith(("javascript:", "data:text", "vbscript:"))
        ], path
        assert not [link for _, link in page.links if off_site(link)], path
    assert pages > 20, pages


def test_json_and_rdf_answers_carry_the_headers_too(client):
    for path, accept in (
        ("/sparql?query=ASK%7B%7D", "application/sparql-results+json"),
        ("/catalog", "text/turtle"),
        ("/nothing-here", "application/json"),
    ):
        assert_strict_headers(client.get(path, headers={"Accept": accept}), path)


@pytest.mark.parametrize(
    "path",
    [
        "/%5Cevil.example",
        "//evil.example",
        "/%5C%5Cevil.example",
        "/%2F%2Fevil.example",
        "///evil.example",
        "/%5C/evil.example",
        "/%09/evil.example",
        "/%2Fevil.example/x",
    ],
)
def test_the_404_page_links_stay_on_the_site(client, path):
    # The raw path, as a server receives it (the test client would read '//x' as a host).
    raw = {"PATH_INFO": unquote(path, encoding="latin-1"), "REQUEST_URI": path, "RAW_URI": path}
    response = client.get("/", headers={"Accept": BROWSER}, environ_overrides=raw)
    assert response.status_code == 404, response.status_code
    assert_links_stay_on_the_site(response.get_data(as_text=True))


def test_the_404_page_links_stay_on_the_site_on_a_live_server(live_server: str):
    address = urlsplit(live_server)
    for path in ("/%5Cevil.example", "//evil.example", "/%5C%5Cevil.example"):
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
        connection.request("GET", path, headers={"Accept": BROWSER})
        answer = connection.getresponse()
        assert answer.status == 404, (path, answer.status)
        assert_links_stay_on_the_site(answer.read().decode())
        connection.close()


def assert_links_stay_on_the_site(html: str) -> None:
    page = Page(html)
    assert page.links
    bad = [link for _, link in page.links if off_site(link) or urlsplit(link).netloc]
    assert not bad, bad
    # The language links still lead back to the same (encoded) path.
    languages = [link for _, link in page.links if link.endswith("?lang=sv")]
    assert languages and all(link.startswith("/") for link in languages), languages


def test_language_links_keep_the_path_of_ordinary_pages(client):
    response = client.get("/queries?lang=sv", headers={"Accept": BROWSER})
    links = [link for _, link in Page(response.get_data(as_text=True)).links]
    assert "/queries?lang=en" in links, links


# --- in the browser -----------------------------------------------------------------------------

#: Records every CSP violation of a page in ``window.__violations`` (runs before page scripts).
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__violations.push(e.violatedDirective + ' ' + e.blockedURI);
});
"""


@pytest.fixture()
def watched(browser: WebDriver) -> Iterator[WebDriver]:
    """The browser, recording CSP violations on every page it opens during the test."""
    added = browser.execute_cdp_cmd(
        "Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_VIOLATIONS}
    )
    try:
        yield browser
    finally:
        browser.execute_cdp_cmd(
            "Page.removeScriptToEvaluateOnNewDocument", {"identifier": added["identifier"]}
        )


def violations(driver: WebDriver) -> list[str]:
    return driver.execute_script("return window.__violations || null")


def wait_for_results(driver: WebDriver) -> None:
    WebDriverWait(driver, WAIT).until(
        ec.presence_of_all_elements_located((By.CSS_SELECTOR, "#results table tbody tr"))
    )


def test_pages_work_in_chromium_without_csp_violations(watched: WebDriver, live_server: str):
    with urllib.request.urlopen(f"{live_server}/queries", timeout=30) as answer:
        named = [q["name"] for q in json.load(answer)["queries"]]
    paths = [
        "/",
        "/?lang=sv",
        "/queries",
        "/catalog",
        "/ontology",
        "/shapes",
        "/id/organisation/vinnova",
        "/nothing-here",
        f"/queries/{named[0]}",
    ]
    for path in paths:
        watched.get(live_server + path)
        WebDriverWait(watched, WAIT).until(
            lambda d: d.execute_script("return document.readyState") == "complete"
        )
        assert violations(watched) == [], (path, violations(watched))
    # The query page: its script runs (the document is marked), the default query runs.
    watched.get(f"{live_server}/sparql")
    WebDriverWait(watched, WAIT).until(
        lambda d: d.execute_script("return document.documentElement.classList.contains('js')")
    )
    watched.find_element(By.ID, "run").click()
    wait_for_results(watched)
    assert violations(watched) == [], violations(watched)
    # The policy is really enforced, and a violation would be seen: an injected inline
    # script does not run and is reported.
    watched.execute_script(
        "var s = document.createElement('script'); s.textContent = 'window.__ran = 1;';"
        "document.body.appendChild(s);"
    )
    WebDriverWait(watched, WAIT).until(lambda d: violations(d))
    assert watched.execute_script("return window.__ran === undefined")
    assert any("script-src" in v for v in violations(watched)), violations(watched)


def test_a_shared_query_url_renders_only_http_iris_as_links(watched: WebDriver, live_server):
    iris = {
        "http://example.org/plain": "http://example.org/plain",
        "https://example.org/secure": "https://example.org/secure",
        "javascript:alert(1)": None,
        "JavaScript:alert(2)": None,
        "data:text/html,hi": None,
        "urn:isbn:0451450523": None,
        # Under the dataset's base, but its path would start with '//' and leave the site.
        "https://w3id.org/aigraph//evil.example/x": "https://w3id.org/aigraph//evil.example/x",
        "https://w3id.org/aigraph/id/organisation/vinnova": "/id/organisation/vinnova",
    }
    values = " ".join(f"<{iri}>" for iri in iris)
    query = f"SELECT ?x WHERE {{ VALUES ?x {{ {values} }} }}"
    # The shareable URL of a query runs it when the page opens.
    watched.get(f"{live_server}/sparql?query={quote(query)}")
    wait_for_results(watched)
    rendered = {
        element.get_attribute("title"): element
        for element in watched.find_elements(By.CSS_SELECTOR, "#results tbody .iri")
    }
    assert set(rendered) == set(iris), rendered.keys()
    for iri, expected in iris.items():
        element = rendered[iri]
        if expected is None:
            assert element.tag_name == "span" and element.get_attribute("href") is None, iri
        else:
            assert element.tag_name == "a", iri
            href = element.get_dom_attribute("href")
            assert href == expected, (iri, href)
    assert not watched.find_elements(By.CSS_SELECTOR, "#results a[href^='javascript' i]")
    with pytest.raises(NoAlertPresentException):
        watched.switch_to.alert.text  # noqa: B018 - raises when no alert is open
    assert violations(watched) == [], violations(watched)


def test_the_live_server_sends_the_policy(live_server: str):
    request = urllib.request.Request(f"{live_server}/sparql", headers={"Accept": BROWSER})
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert_strict_headers(answer, "/sparql")


def test_a_bound_javascript_iri_is_text(watched: WebDriver, live_server: str):
    query = (
        'SELECT ?x ?y { BIND(IRI("javascript:alert(1)") AS ?x) '
        'BIND(IRI("http://example.org/y") AS ?y) }'
    )
    watched.get(f"{live_server}/sparql?query={quote(query)}")
    wait_for_results(watched)
    (row,) = watched.find_elements(By.CSS_SELECTOR, "#results tbody tr")
    first, second = row.find_elements(By.CSS_SELECTOR, "td")
    assert first.text == "javascript:alert(1)" and not first.find_elements(By.CSS_SELECTOR, "a")
    link = second.find_element(By.CSS_SELECTOR, "a")
    assert link.get_dom_attribute("href") == "http://example.org/y"
    assert violations(watched) == [], violations(watched)
