"""The query page in a real headless Chromium (Debian ``chromium`` + ``chromium-driver``).

Uses the ``live_server`` fixture of ``conftest.py`` (base URL of a running aigraph with the
real data). Chromium and its driver must be installed (``run.py test`` installs them).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

WAIT = 20  # seconds


def _wait(driver: WebDriver) -> WebDriverWait:
    return WebDriverWait(driver, WAIT)


def _open_query_page(driver: WebDriver, base: str) -> None:
    driver.get(f"{base}/sparql")
    _wait(driver).until(ec.presence_of_element_located((By.ID, "query")))
    # query.js marks the document once it has wired up the page.
    _wait(driver).until(
        lambda d: d.execute_script("return document.documentElement.classList.contains('js')")
    )


def test_query_page_loads_with_prefixes_and_examples(browser: WebDriver, live_server: str) -> None:
    _open_query_page(browser, live_server)
    editor = browser.find_element(By.ID, "query")
    text = editor.get_property("value")
    assert "PREFIX" in text, text
    assert editor.get_attribute("name") == "query"
    # The editor and the run button are labelled for assistive technology.
    assert browser.find_element(By.CSS_SELECTOR, "label[for='query']").text.strip()
    assert browser.find_element(By.ID, "run").is_displayed()
    # Without JavaScript the page is a plain GET form on the endpoint.
    form = browser.find_element(By.ID, "query-form")
    assert form.get_attribute("method").lower() == "get"
    assert urlsplit(form.get_attribute("action")).path == "/sparql"
    examples = browser.find_elements(By.CSS_SELECTOR, "[data-query-name]")
    assert examples, "no named queries listed as examples"
    names = {e.get_attribute("data-query-name") for e in examples}
    assert "funding" in names
    assert all(e.text.strip() for e in examples)


def test_funding_example_shows_results(browser: WebDriver, live_server: str) -> None:
    _open_query_page(browser, live_server)
    browser.find_element(By.CSS_SELECTOR, "[data-query-name='funding']").click()
    rows_located = ec.presence_of_all_elements_located((By.CSS_SELECTOR, "#results table tbody tr"))
    rows = _wait(browser).until(rows_located)
    assert len(rows) >= 1
    # The editor now holds the named query.
    assert "SELECT" in browser.find_element(By.ID, "query").get_property("value").upper()

    headers = [th.text for th in browser.find_elements(By.CSS_SELECTOR, "#results thead th")]
    assert headers and all(h.startswith("?") for h in headers)
    cells = browser.find_elements(By.CSS_SELECTOR, "#results tbody td")
    assert any("100000000" in cell.text for cell in cells), [c.text for c in cells][:40]
    hrefs = [
        a.get_attribute("href")
        for a in browser.find_elements(By.CSS_SELECTOR, "#results tbody td a[href]")
    ]
    # IRIs of the dataset open on this server, which dereferences them.
    assert f"{live_server}/id/organisation/vinnova" in hrefs, hrefs

    status = browser.find_element(By.ID, "status").text
    assert str(len(rows)) in status and "ms" in status, status
    assert not browser.find_element(By.ID, "error").is_displayed()
    formats = {
        a.get_attribute("data-format")
        for a in browser.find_elements(By.CSS_SELECTOR, "#downloads a[href]")
    }
    assert {"json", "csv"} <= formats, formats
    for link in browser.find_elements(By.CSS_SELECTOR, "#downloads a[href]"):
        parts = urlsplit(link.get_attribute("href"))
        assert parts.path == "/sparql" and "query=" in parts.query and "format=" in parts.query

    browser.save_screenshot("/tmp/query-page.png")


def test_broken_query_shows_error(browser: WebDriver, live_server: str) -> None:
    _open_query_page(browser, live_server)
    editor = browser.find_element(By.ID, "query")
    editor.clear()
    editor.send_keys("SELECT ?s WHERE {\n  ?s ?p \n")  # unterminated group
    editor.send_keys(Keys.CONTROL, Keys.ENTER)  # Ctrl+Enter runs
    error = _wait(browser).until(ec.visibility_of_element_located((By.ID, "error")))
    assert error.get_attribute("role") == "alert"
    _wait(browser).until(lambda d: "line" in d.find_element(By.ID, "error").text.lower())
    assert not browser.find_elements(By.CSS_SELECTOR, "#results table")

    # The run button works too, and a good query clears the error.
    editor.clear()
    editor.send_keys("SELECT (1 AS ?one) WHERE {}")
    browser.find_element(By.ID, "run").click()
    _wait(browser).until(
        ec.presence_of_all_elements_located((By.CSS_SELECTOR, "#results table tbody tr"))
    )
    assert not browser.find_element(By.ID, "error").is_displayed()


def test_no_request_leaves_the_server(browser: WebDriver, live_server: str) -> None:
    _open_query_page(browser, live_server)
    browser.find_element(By.CSS_SELECTOR, "[data-query-name='funding']").click()
    _wait(browser).until(
        ec.presence_of_all_elements_located((By.CSS_SELECTOR, "#results table tbody tr"))
    )
    urls = browser.execute_script(
        "return performance.getEntriesByType('resource').map(function (e) { return e.name; })"
    )
    assert urls, "the page loaded no resources at all (stylesheet and script expected)"
    outside = [url for url in urls if not url.startswith(live_server)]
    assert not outside, outside
    assert any(url.startswith(f"{live_server}/static/") for url in urls), urls
