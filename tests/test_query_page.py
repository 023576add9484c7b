"""The query page and the named-graph page as a user sees them: a real browser at 1280×800.

Uses the ``browser`` and ``live_server`` fixtures of ``conftest.py`` (headless Chromium against
a running aigraph over the bundled data).
"""

from __future__ import annotations

import json
import re
import urllib.parse
import urllib.request
from collections.abc import Iterator

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

WAIT = 20  # seconds
PREFIX_LINE = re.compile(r"^\s*PREFIX\s+([^\s:]*):\s*<([^>]*)>", re.IGNORECASE | re.MULTILINE)


@pytest.fixture()
def screen(browser: WebDriver) -> Iterator[WebDriver]:
    """The browser in a 1280×800 window (a laptop screen), restored afterwards."""
    before = browser.get_window_size()
    browser.set_window_size(1280, 800)
    try:
        yield browser
    finally:
        browser.set_window_size(before["width"], before["height"])


def _open_query_page(driver: WebDriver, base: str) -> None:
    driver.get(f"{base}/sparql")
    WebDriverWait(driver, WAIT).until(
        lambda d: d.execute_script("return document.documentElement.classList.contains('js')")
    )


def _in_view(driver: WebDriver, css: str) -> tuple[float, float]:
    """Return the top of the first element matching ``css`` and the window's inner height."""
    top, height = driver.execute_script(
        "var r = document.querySelector(arguments[0]).getBoundingClientRect();"
        "return [r.top, window.innerHeight];",
        css,
    )
    return float(top), float(height)


def _ask(base: str, query: str) -> bool:
    url = f"{base}/sparql?" + urllib.parse.urlencode({"query": query})
    request = urllib.request.Request(url, headers={"Accept": "application/sparql-results+json"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return bool(json.load(answer)["boolean"])


def test_editor_starts_with_the_prefixes_the_data_uses(screen: WebDriver, live_server: str) -> None:
    _open_query_page(screen, live_server)
    text = screen.find_element(By.ID, "query").get_property("value")
    declared = PREFIX_LINE.findall(text)
    assert 5 <= len(declared) <= 12, text
    assert len({prefix for prefix, _ in declared}) == len(declared), text
    for prefix, namespace in declared:
        used = _ask(
            live_server,
            "ASK { { ?s ?p ?o FILTER(STRSTARTS(STR(?p), %s)) } UNION "
            "{ ?s a ?c FILTER(STRSTARTS(STR(?c), %s)) } }" % ((json.dumps(namespace),) * 2),
        )
        assert used, f"PREFIX {prefix}: <{namespace}> names no predicate or class of the data"
    # The vocabularies queries are written with are there; rdflib's stock prefixes are not.
    prefixes = {prefix for prefix, _ in declared}
    assert {"rdfs", "schema", "org", "aig", "prov"} <= prefixes, prefixes
    assert not prefixes & {"brick", "csvw", "doap", "odrl", "sosa", "schema1"}, prefixes


def test_run_shows_the_results_in_view(screen: WebDriver, live_server: str) -> None:
    _open_query_page(screen, live_server)
    screen.find_element(By.ID, "run").click()
    rows = (By.CSS_SELECTOR, "#results table tbody tr")
    WebDriverWait(screen, WAIT).until(ec.presence_of_all_elements_located(rows))
    # The scroll is instant, done as the results are shown.
    top, height = _in_view(screen, "#results table")
    assert -2 <= top < height - 60, (top, height)
    # The first row of results is visible too, not only the header.
    row_top, _ = _in_view(screen, "#results table tbody tr")
    assert row_top < height, (row_top, height)
    # The data's resources are named by its own prefixes (orgn:vinnova), linked in full.
    links = screen.find_elements(By.CSS_SELECTOR, "#results tbody a.iri")
    assert any(a.text == "orgn:vinnova" for a in links), [a.text for a in links][:20]


def test_example_far_down_the_list_shows_its_results_in_view(
    screen: WebDriver, live_server: str
) -> None:
    _open_query_page(screen, live_server)
    examples = screen.find_elements(By.CSS_SELECTOR, "[data-query-name]")
    last = examples[-1]
    screen.execute_script("arguments[0].scrollIntoView({block: 'end'});", last)
    name = last.get_attribute("data-query-name")
    last.click()
    WebDriverWait(screen, WAIT).until(
        lambda d: (
            d.find_element(By.ID, "status").text
            and not d.find_elements(By.CSS_SELECTOR, "#results[aria-busy='true']")
        )
    )
    top, height = _in_view(screen, "#output")
    assert -2 <= top < height - 60, (name, top, height)


def test_results_sit_beside_the_examples_not_below_them(
    screen: WebDriver, live_server: str
) -> None:
    """On a wide screen the results are in the editor's column, above the examples' end."""
    _open_query_page(screen, live_server)
    screen.find_element(By.ID, "run").click()
    WebDriverWait(screen, WAIT).until(
        ec.presence_of_all_elements_located((By.CSS_SELECTOR, "#results table tbody tr"))
    )
    output = screen.find_element(By.ID, "output").rect
    editor = screen.find_element(By.CSS_SELECTOR, ".editor-panel").rect
    examples = screen.find_element(By.CSS_SELECTOR, ".examples-panel").rect
    assert abs(output["x"] - editor["x"]) < 2, (output, editor)
    assert output["y"] < examples["y"] + examples["height"], (output, examples)
    assert output["x"] + output["width"] <= examples["x"], (output, examples)


@pytest.mark.parametrize("path", ["/graph/provenance", "/graph/grant", "/graph/ontology"])
def test_named_graph_predicate_column_is_readable(
    screen: WebDriver, live_server: str, path: str
) -> None:
    """Long objects (source sentences, descriptions) do not crush the predicate column."""
    screen.get(f"{live_server}{path}")
    WebDriverWait(screen, WAIT).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, "table.ld-statements"))
    )
    widths = screen.execute_script(
        "var rem = parseFloat(getComputedStyle(document.documentElement).fontSize);"
        "var cells = document.querySelectorAll('table.ld-statements thead th');"
        "return [rem].concat(Array.prototype.map.call(cells,"
        " function (c) { return c.getBoundingClientRect().width; }));"
    )
    rem, subject, predicate, _object = widths
    assert predicate >= 10 * rem and subject >= 8 * rem, widths
    # Every predicate label fits on a few lines, not one letter per line.
    heights = screen.execute_script(
        "return Array.prototype.map.call("
        "document.querySelectorAll('table.ld-statements tbody td:nth-child(2) .ld-pred-label'),"
        " function (e) { return e.getClientRects().length; });"
    )
    assert heights and max(heights) <= 3, heights
