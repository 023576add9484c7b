"""Publishing: dumps, gzip, caching and conditional requests, VoID, the landing page, the
link crawl, and the static copy written by ``aigraph publish``."""

from __future__ import annotations

import gzip
import json
from collections import deque
from html.parser import HTMLParser
from pathlib import Path
from typing import ClassVar
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner
from rdflib import Graph

from aigraph.cli import cli
from aigraph.site import build as publish
from aigraph.web import create_app

DUMPS = {
    "ttl": ("turtle", "text/turtle"),
    "nt": ("nt", "application/n-triples"),
    "jsonld": ("jsonld", "application/ld+json"),
    "rdf": ("rdfxml", "application/rdf+xml"),
    "trig": ("trig", "application/trig"),
    "nq": ("nquads", "application/n-quads"),
}
SITE = "https://aigraph.example.org"
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
#: One URL of each kind of cacheable response.
CACHED = [
    "/dumps/aigraph.ttl",
    "/dumps/aigraph.nq.gz",
    "/catalog",
    "/catalog.ttl",
    "/.well-known/void",
    "/",
]


def shown(response) -> str:
    return f"{response.status} {response.headers}\n{response.get_data(as_text=True)[:2000]}"


# --- dumps ------------------------------------------------------------------------------------


@pytest.mark.parametrize("ext", sorted(DUMPS))
def test_dump_is_the_export_output(client, runner, ext):
    fmt, media_type = DUMPS[ext]
    exported = runner.invoke(cli, ["export", "--format", fmt])
    assert exported.exit_code == 0, exported.output
    response = client.get(f"/dumps/aigraph.{ext}")
    assert response.status_code == 200, shown(response)
    assert response.data == exported.stdout_bytes
    assert response.headers["Content-Type"] == media_type
    assert response.headers["Content-Disposition"] == f"inline; filename=aigraph.{ext}"
    assert response.headers["Content-Length"] == str(len(response.data))
    gz = client.get(f"/dumps/aigraph.{ext}.gz")
    assert gz.headers["Content-Type"] == "application/gzip"
    assert "Content-Encoding" not in gz.headers
    assert gzip.decompress(gz.data) == response.data
    assert gz.data == gzip.compress(response.data, mtime=0)  # deterministic: no timestamp


def test_dumps_are_built_once(app, client):
    client.get("/dumps/aigraph.ttl")
    built = app.extensions["aigraph.publishing"].dumps()
    client.get("/dumps/aigraph.nt")
    assert app.extensions["aigraph.publishing"].dumps() is built


@pytest.mark.parametrize(
    ("accept_encoding", "encoded"),
    [
        ("gzip", True),
        ("gzip, deflate, br", True),
        ("*", True),
        ("deflate", False),
        ("gzip;q=0", False),
        ("gzip;q=0.5, identity", False),
        ("", False),
    ],
)
def test_content_encoding_gzip_when_accepted(client, accept_encoding, encoded):
    plain = client.get("/dumps/aigraph.trig").data
    response = client.get("/dumps/aigraph.trig", headers={"Accept-Encoding": accept_encoding})
    assert response.headers["Vary"] == "Accept-Encoding"
    assert response.headers["Content-Type"] == "application/trig"
    if encoded:
        assert response.headers["Content-Encoding"] == "gzip"
        assert gzip.decompress(response.data) == plain
        assert response.headers["ETag"] != client.get("/dumps/aigraph.trig").headers["ETag"]
    else:
        assert "Content-Encoding" not in response.headers
        assert response.data == plain


def test_unknown_dump_is_404_in_the_error_shape(client):
    response = client.get("/dumps/aigraph.csv")
    assert response.status_code == 404
    assert response.get_json()["error"] == "not-found"


# --- caching and conditional requests ---------------------------------------------------------


@pytest.mark.parametrize("path", CACHED)
def test_caching_headers_and_conditional_requests(client, core, path):
    first = client.get(path)
    assert first.status_code == 200, shown(first)
    etag = first.headers["ETag"]
    assert etag.startswith('"') and etag == f'"{publish.etag(first.data)}"'  # strong
    assert first.headers["Last-Modified"] == core.last_modified
    # Descriptions embed URLs built from Host (no public_url here): private; dumps: public.
    shared = "public" if path.startswith("/dumps/") else "private"
    assert first.headers["Cache-Control"] in (f"{shared}, max-age=3600", f"max-age=3600, {shared}")
    assert client.get(path).data == first.data
    for headers in (
        {"If-None-Match": etag},
        {"If-None-Match": f'"x", {etag}'},
        {"If-Modified-Since": core.last_modified},
    ):
        again = client.get(path, headers=headers)
        assert again.status_code == 304, (headers, shown(again))
        assert again.data == b"" and again.headers["ETag"] == etag
    assert client.get(path, headers={"If-None-Match": '"other"'}).status_code == 200
    old = "Mon, 01 Jan 2001 00:00:00 GMT"
    assert client.get(path, headers={"If-Modified-Since": old}).status_code == 200


@pytest.mark.parametrize("path", CACHED)
def test_head(client, path):
    get, head = client.get(path), client.head(path)
    assert head.status_code == 200 and head.data == b""
    for name in ("Content-Type", "ETag", "Last-Modified", "Content-Length", "Cache-Control"):
        assert head.headers[name] == get.headers[name], name


# --- catalogue, VoID --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        (None, "application/rdf+xml"),
        ("*/*", "application/rdf+xml"),
        ("application/rdf+xml", "application/rdf+xml"),
        ("text/turtle", "text/turtle"),
        ("application/ld+json", "application/ld+json"),
        ("application/n-triples", "application/n-triples"),
        ("text/turtle;q=0.5, application/ld+json", "application/ld+json"),
        (BROWSER, "text/html"),
    ],
)
def test_catalog_negotiation(client, accept, media_type):
    response = client.get("/catalog", headers={"Accept": accept} if accept else {})
    assert response.status_code == 200, shown(response)
    assert response.mimetype == media_type
    assert response.headers["Vary"] == "Accept"


def test_catalog_not_acceptable(client):
    response = client.get("/catalog", headers={"Accept": "text/csv"})
    assert response.status_code == 406 and response.get_json()["error"] == "not-acceptable"


@pytest.mark.parametrize("ext", ["rdf", "ttl", "jsonld", "nt"])
def test_description_files_parse_and_match(client, ext):
    rdflib_format = {"rdf": "xml", "ttl": "turtle", "jsonld": "json-ld", "nt": "nt"}[ext]
    for path in ("/catalog", "/.well-known/void"):
        response = client.get(f"{path}.{ext}")
        assert response.status_code == 200, shown(response)
        assert len(Graph().parse(data=response.data, format=rdflib_format)) > 20
        accept = response.mimetype
        assert client.get(path, headers={"Accept": accept}).data == response.data


def test_void_is_turtle_by_default_and_parses(client):
    response = client.get("/.well-known/void")
    assert response.mimetype == "text/turtle"
    void = Graph().parse(data=response.data, format="turtle")
    assert any("dumps/aigraph.ttl" in str(o) for o in void.objects())


def test_catalog_download_urls_follow_an_allowed_host(core):
    settings = core.settings.with_values(allowed_hosts="data.example.net")
    client = create_app(settings, core=core).test_client()
    response = client.get("/catalog.nt", base_url="https://data.example.net")
    text = response.get_data(as_text=True)
    assert "<https://data.example.net/dumps/aigraph.ttl>" in text
    assert "dcat#byteSize" not in text


# --- landing page -----------------------------------------------------------------------------


class _Checker(HTMLParser):
    """Collect links and report end tags that do not close the open element."""

    VOID: ClassVar[set[str]] = {
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "source",
        "track",
        "wbr",
    }

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.links: list[str] = []
        self.scripts: list[tuple[str, str]] = []
        self._script_type: str | None = None

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        for name in ("href", "src"):
            if values.get(name) and tag in ("a", "link", "script", "img"):
                self.links.append(values[name])
        if tag == "script":
            self._script_type = values.get("type") or ""
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in self.VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes <{self.stack[-1] if self.stack else ''}>")
            if tag in self.stack:
                del self.stack[len(self.stack) - 1 - self.stack[::-1].index(tag) :]
        else:
            self.stack.pop()

    def handle_data(self, data):
        if self._script_type is not None and self.stack and self.stack[-1] == "script":
            self.scripts.append((self._script_type, data))

    def close(self):
        super().close()
        if self.stack:
            self.problems.append(f"unclosed: {self.stack}")


def check_html(body: str) -> _Checker:
    checker = _Checker()
    checker.feed(body)
    checker.close()
    return checker


@pytest.mark.parametrize(
    ("lang", "title"),
    [
        ("en", "Vinnova's investment in AI Innovation of Sweden"),
        ("sv", "Vinnovas satsning på AI Innovation of Sweden"),
    ],
)
def test_landing_page(client, core, lang, title):
    response = client.get("/", query_string={"lang": lang}, headers={"Accept": BROWSER})
    assert response.status_code == 200, shown(response)
    html = response.get_data(as_text=True)
    assert f'<html lang="{lang}">' in html and title.replace("'", "&#39;") in html
    assert f"<strong>{core.facts.triples}</strong>" in html
    checker = check_html(html)
    assert not checker.problems, checker.problems
    for path in (
        "/sparql",
        "/queries",
        "/ontology",
        "/shapes",
        "/catalog",
        "/.well-known/void",
        "/catalog.rdf",
        "/dumps/aigraph.ttl",
        "/dumps/aigraph.ttl.gz",
        "/id/organisation/ai-innovation-of-sweden",
    ):
        assert any(link.split("?")[0] == path for link in checker.links), path
    [(_, text)] = [s for s in checker.scripts if s[0] == "application/ld+json"]
    doc = json.loads(text)
    assert doc["@type"] == "Dataset"
    assert {d["contentUrl"] for d in doc["distribution"]} == {
        f"http://localhost/dumps/aigraph.{ext}" for ext in DUMPS
    }
    assert all(d["@type"] == "DataDownload" for d in doc["distribution"])


def test_landing_sends_rdf_clients_to_the_catalogue(client):
    for accept in (
        "text/turtle",
        "application/rdf+xml",
        "application/ld+json;q=0.9, text/html;q=0.5",
    ):
        response = client.get("/", headers={"Accept": accept})
        assert response.status_code == 303 and response.headers["Location"] == "/catalog"
    assert client.get("/", headers={"Accept": "*/*"}).mimetype == "text/html"
    assert client.get("/").mimetype == "text/html"


def crawl(client, starts: list[str], limit: int = 400) -> tuple[dict[str, int], list[str]]:
    """Follow every same-origin link from ``starts``; return statuses and HTML problems."""
    statuses: dict[str, int] = {}
    problems: list[str] = []
    queue = deque(starts)
    while queue and len(statuses) < limit:
        url = queue.popleft()
        if url in statuses:
            continue
        response = client.get(url, headers={"Accept": BROWSER})
        statuses[url] = response.status_code
        if response.mimetype != "text/html" or response.status_code != 200:
            continue
        checker = check_html(response.get_data(as_text=True))
        problems += [f"{url}: {p}" for p in checker.problems]
        for link in checker.links:
            parts = urlsplit(link)
            if parts.scheme or parts.netloc or not parts.path.startswith("/"):
                continue  # other sites, data: URIs, fragments
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            if target not in statuses:
                queue.append(target)
    return statuses, problems


def test_every_link_from_the_landing_page_resolves(client):
    statuses, problems = crawl(client, ["/", "/?lang=sv", "/catalog?lang=en"])
    failed = {url: status for url, status in statuses.items() if status >= 400}
    assert len(statuses) > 20
    assert not failed, failed
    assert not problems, problems


# --- aigraph publish --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def static_site(tmp_path_factory) -> Path:
    outdir = tmp_path_factory.mktemp("site")
    result = CliRunner().invoke(cli, ["publish", str(outdir), "--site", SITE])
    assert result.exit_code == 0, result.output
    return outdir


def test_publish_writes_the_site(static_site: Path, core):
    client = create_app(core.settings.with_values(public_url=SITE), core=core).test_client()
    expected = [
        "index.html",
        "index.sv.html",
        "catalog.html",
        "catalog.rdf",
        "catalog.ttl",
        "catalog.jsonld",
        "catalog.nt",
        ".well-known/void",
        ".well-known/void.nt",
        ".htaccess",
        "nginx.conf",
        ".nojekyll",
        "static/aigraph.css",
        "id/organisation/ai-innovation-of-sweden.html",
        "id/organisation/ai-innovation-of-sweden.ttl",
        *(f"dumps/aigraph.{ext}{gz}" for ext in DUMPS for gz in ("", ".gz")),
    ]
    missing = [name for name in expected if not (static_site / name).is_file()]
    assert not missing, missing
    for name in ("index.html", "catalog.rdf", "dumps/aigraph.ttl", ".well-known/void"):
        path = "/" if name == "index.html" else "/" + name
        served = client.get(
            path, base_url=SITE, headers={"Accept": "text/html" if name.endswith("html") else "*/*"}
        )
        assert (static_site / name).read_bytes() == served.data, name
    assert f"{SITE}/dumps/aigraph.ttl" in (static_site / "catalog.rdf").read_text()


def test_static_links_resolve_to_files(static_site: Path):
    broken = []
    pages = sorted(static_site.rglob("*.html"))
    assert len(pages) > 20
    for page in pages:
        for link in check_html(page.read_text(encoding="utf-8")).links:
            parts = urlsplit(link)
            if parts.netloc and f"{parts.scheme}://{parts.netloc}" != SITE:
                continue
            if parts.scheme not in ("", "http", "https") or not parts.path.startswith("/"):
                continue
            if publish.is_dynamic(parts.path):
                continue  # needs a running server (SPARQL, named queries)
            stem = static_site / parts.path.lstrip("/")
            candidates = [stem, Path(f"{stem}.html"), stem / "index.html"]
            if not any(c.is_file() for c in candidates):
                broken.append(f"{page.relative_to(static_site)}: {link}")
    assert not broken, broken[:20]
