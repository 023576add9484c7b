"""Result tables of the query page link IRIs like the pages do (``View.href``).

An IRI under the base at a served path opens its page here, an IRI outside the base that the
data describes opens ``/resource?iri=``, another http(s) IRI is a link out, any other IRI is
text. Checked in headless Chromium against a live server (``conftest.py`` fixtures).
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request

from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from aigraph.pages import labels

WAIT = 20  # seconds
CONCEPT = "http://www.w3.org/2004/02/skos/core#Concept"  # outside the base, described
NOWHERE = "https://example.org/not-in-the-data"  # outside the base, not in the data
URN = "urn:example:not-in-the-data"


def _config(driver: WebDriver) -> dict:
    return driver.execute_script(
        "return JSON.parse(document.getElementById('aigraph-config').textContent);"
    )


def _select(base: str, query: str) -> list[str]:
    data = urllib.parse.urlencode({"query": query}).encode()
    request = urllib.request.Request(
        f"{base}/sparql", data=data, headers={"Accept": "application/sparql-results+json"}
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return [row["iri"]["value"] for row in json.load(answer)["results"]["bindings"]]


def test_the_described_query_picks_the_iris_with_a_page(live_server: str) -> None:
    iris = [CONCEPT, NOWHERE, URN, "http://www.w3.org/2000/01/rdf-schema#label"]
    query = labels.DESCRIBED_QUERY.replace("{iris}", " ".join(f"<{i}>" for i in iris))
    assert _select(live_server, query) == [CONCEPT]  # rdfs:label: only ever a predicate
    # Each IRI it picks has a page.
    url = live_server + labels.resource_path(CONCEPT)
    with urllib.request.urlopen(urllib.request.Request(url, headers={"Accept": "text/html"})) as r:
        assert r.status == 200


def test_result_iris_link_to_their_pages(browser: WebDriver, live_server: str) -> None:
    browser.get(f"{live_server}/sparql")
    WebDriverWait(browser, WAIT).until(
        lambda d: d.execute_script("return document.documentElement.classList.contains('js')")
    )
    config = _config(browser)
    assert config["links"] == labels.page_links(config["links"]["shapes"])
    local = f"{config['base']}/id/sector/academia"
    iris = [CONCEPT, local, NOWHERE, URN]
    values = " ".join(f"<{i}>" for i in iris)
    query = f"SELECT ?x WHERE {{ VALUES ?x {{ {values} }} }}"
    browser.execute_script("document.getElementById('query').value = arguments[0];", query)
    browser.find_element(By.ID, "run").click()
    WebDriverWait(browser, WAIT).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#results table[data-links='checked']")
    )
    cells = browser.find_elements(By.CSS_SELECTOR, "#results tbody td .iri")
    shown = {
        c.get_attribute("title"): (
            c.tag_name,
            c.get_attribute("href") and c.get_dom_attribute("href"),
        )
        for c in cells
    }
    assert shown == {
        CONCEPT: ("a", labels.resource_path(CONCEPT)),
        local: ("a", "/id/sector/academia"),
        NOWHERE: ("a", NOWHERE),
        URN: ("span", None),
    }
    # The link opens the IRI's page on this server.
    browser.find_element(By.CSS_SELECTOR, f'#results a[title="{CONCEPT}"]').click()
    WebDriverWait(browser, WAIT).until(lambda d: "/resource" in d.current_url)
    assert urllib.parse.parse_qs(urllib.parse.urlsplit(browser.current_url).query)["iri"] == [
        CONCEPT
    ]
    assert "Concept" in browser.find_element(By.TAG_NAME, "h1").text
