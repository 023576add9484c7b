"""Publish the dataset: dump files built once per data version, and a static copy of the site.

Pure core, no web framework: the static export walks the site through a ``fetch`` callable
(the CLI passes one over the Flask test client), so every file is the bytes the server answers.

Static layout (the same URLs as the server; host the directory at the root of ``site``):

- an HTML page at ``/p`` is ``p.html`` (``/`` is ``index.html``), its Swedish version
  (``/p?lang=sv``) ``p.sv.html``: static hosts that try ``$uri.html`` (GitHub Pages, Netlify,
  the bundled nginx and Apache configurations) serve ``/p`` from it;
- the RDF of a resource ``/p`` is ``p.ttl``, ``p.nt``, ``p.jsonld``, ``p.rdf``;
- files with an extension in their URL (dumps, ``catalog.rdf``, ``static/aigraph.css``) keep it;
  ``/.well-known/void`` is a Turtle file of that name;
- the page of an IRI outside the base, ``/resource?iri=<IRI>`` on the server, is
  ``resource/<key>.html`` (and ``.sv.html``, ``.ttl``, ...), ``key`` being the first 32 hex
  digits of the SHA-256 of the IRI (``resource_key``): a static host cannot route by query
  string, so the copy's pages link to ``/resource/<key>`` instead (``StaticResources``).
"""

from __future__ import annotations

import gzip
import hashlib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from html import escape, unescape
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path, PurePosixPath
from urllib.parse import parse_qs, quote, urlsplit

from rdflib import Dataset, URIRef

from aigraph import export
from aigraph.describe.common import DUMP_FORMATS
from aigraph.errors import DataError
from aigraph.formats import DESCRIBED, HTML
from aigraph.pages import labels as naming
from aigraph.settings import Settings

#: File name stem of the dumps (``/dumps/aigraph.ttl``).
DUMP_NAME = "aigraph"
GZIP_MEDIA_TYPE = "application/gzip"
#: Representations written for each resource and description: (extension, media type).
RDF_FILES: tuple[tuple[str, str], ...] = tuple((o.extension, o.media_type) for o in DESCRIBED)
#: URL prefixes only a running server can answer (queries); static pages link to them as is.
DYNAMIC = ("/sparql", "/queries", "/healthz", "/stats", "/openapi.json")


def etag(data: bytes) -> str:
    """Return the strong entity tag (without quotes) of a representation's bytes."""
    return hashlib.sha256(data).hexdigest()[:32]


@dataclass(frozen=True)
class Dump:
    """One dump: its bytes, and the same bytes gzip-compressed (deterministically)."""

    ext: str
    media_type: str
    data: bytes
    gzipped: bytes

    @property
    def file_name(self) -> str:
        return f"{DUMP_NAME}.{self.ext}"

    @property
    def gz_name(self) -> str:
        return f"{self.file_name}.gz"


@dataclass(frozen=True)
class Dumps:
    """Every dump of one data version, by extension in the order of ``DUMP_FORMATS``."""

    version: str
    by_ext: Mapping[str, Dump]

    def raw(self) -> dict[str, bytes]:
        """Return ``{ext: bytes}`` as ``describe`` takes it."""
        return {ext: dump.data for ext, dump in self.by_ext.items()}

    def lookup(self, file_name: str) -> tuple[Dump, bool] | None:
        """Return the dump a file name designates and whether it is the ``.gz`` file."""
        for dump in self.by_ext.values():
            if file_name in (dump.file_name, dump.gz_name):
                return dump, file_name == dump.gz_name
        return None

    def file_names(self) -> list[str]:
        return [name for d in self.by_ext.values() for name in (d.file_name, d.gz_name)]


def build_dumps(dataset: Dataset, version: str) -> Dumps:
    """Serialise ``dataset`` in every dump format, byte-identical to ``aigraph export``."""
    by_ext = {}
    serialised = export.export_all(dataset, [fmt.name for fmt in DUMP_FORMATS])
    for fmt in DUMP_FORMATS:
        data = serialised[fmt.name]
        # mtime=0 and no file name in the header: the same data always gives the same bytes.
        ext = fmt.extension
        by_ext[ext] = Dump(ext, fmt.media_type, data, gzip.compress(data, mtime=0))
    return Dumps(version, by_ext)


def local_path(iri: str, base: str) -> str | None:
    """Return the site path of an IRI under ``base`` (fragment dropped), None for others."""
    base = base.rstrip("/")
    if not iri.startswith(base + "/"):
        return None
    return iri[len(base) :].split("#", 1)[0] or "/"


def resource_paths(dataset: Dataset, base: str) -> list[str]:
    """Return the site paths of every IRI under ``base`` in the data (terms and graph names)."""
    found: set[str] = set()
    for quad in dataset.quads((None, None, None, None)):
        for term in quad:
            name = getattr(term, "identifier", term)
            if isinstance(name, URIRef) and (path := local_path(str(name), base)):
                found.add(path)
    return sorted(found)


# --- static site ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fetched:
    """What the server answered for one URL."""

    status: int
    media_type: str
    body: bytes
    location: str | None = None


#: ``fetch(path_and_query, accept)``: one GET to the site.
Fetch = Callable[[str, str], Fetched]


@dataclass
class SiteReport:
    """The files a static export wrote, and the URLs it could not render."""

    written: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def html_file(path: str, lang: str | None) -> str:
    """Return the file (relative to the output) of the HTML page at ``path`` in ``lang``."""
    stem = "index" if path in ("", "/") else path.strip("/")
    return f"{stem}.sv.html" if lang == "sv" else f"{stem}.html"


def has_extension(path: str) -> bool:
    """Tell whether a URL path names a file by extension (it is written under its own name)."""
    name = PurePosixPath(path).name
    return "." in name.lstrip(".") and not path.endswith("/")


def is_dynamic(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in DYNAMIC)


def write_site(
    fetch: Fetch,
    outdir: Path,
    *,
    site: str,
    seeds: Iterable[str],
    files: Iterable[str],
    rdf_resources: Iterable[str],
    extra: Mapping[str, bytes] | None = None,
    max_pages: int = Settings.max_pages,
) -> SiteReport:
    """Write the site under ``outdir``: HTML pages from ``seeds`` and every internal link.

    ``files`` are fetched as they are (dumps, catalogue formats); ``rdf_resources`` also get
    their RDF representations (``RDF_FILES``); ``extra`` are written verbatim (server configs).
    At most ``max_pages`` HTML pages are rendered; the pages left are reported as missing.
    """
    report = SiteReport()
    writer = _Writer(outdir, report)
    for name, data in (extra or {}).items():
        writer.write(name, data)
    for path in files:
        _fetch_file(fetch, writer, path, "*/*")
    for path in rdf_resources:
        for ext, media_type in RDF_FILES:
            _fetch_file(fetch, writer, path, media_type, f"{path.strip('/')}.{ext}")
    _crawl(fetch, writer, site, seeds, max_pages)
    report.written = sorted(set(report.written))
    report.missing.sort()
    return report


class _Writer:
    def __init__(self, outdir: Path, report: SiteReport) -> None:
        self.outdir, self.report = outdir, report

    def write(self, name: str, data: bytes) -> None:
        target = self.outdir / name.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        self.report.written.append(name.lstrip("/"))


def _fetch_file(fetch: Fetch, writer: _Writer, path: str, accept: str, name: str = "") -> None:
    answer = fetch(path, accept)
    if answer.status != 200:
        writer.report.missing.append(f"{path} ({accept}): {answer.status}")
        return
    writer.write(name or path, answer.body)


def _crawl(fetch: Fetch, writer: _Writer, site: str, seeds: Iterable[str], max_pages: int) -> None:
    """Render HTML pages breadth-first from ``seeds``, following internal links.

    Links to ``/resource?iri=`` pages are rewritten to their static files before a page is
    written, and those pages are rendered with their RDF like any other resource.
    """
    queue = [_page_key(seed) for seed in seeds]
    seen: set[tuple[str, str | None]] = set(queue)
    assets: set[str] = set()
    pages = StaticResources(site)
    rendered = 0
    while queue:
        if rendered >= max_pages:
            writer.report.missing.append(
                f"{len(queue)} more HTML page(s) not rendered: over max_pages ({max_pages})"
            )
            break
        rendered += 1
        path, lang = queue.pop(0)
        url = pages.source(path)
        answer = _follow(fetch, url + _lang_query(url, lang), HTML.media_type)
        if answer.status != 200 or answer.media_type != HTML.media_type:
            writer.report.missing.append(f"{path} ({HTML.media_type}): {answer.status}")
            continue
        html = pages.rewrite(answer.body.decode("utf-8"))
        writer.write(html_file(path, lang), html.encode("utf-8"))
        if url != path and lang is None:  # a /resource page: its RDF, as for /id/ pages
            for ext, media_type in RDF_FILES:
                assets.add(f"{path}.{ext}")
                _fetch_file(fetch, writer, url, media_type, f"{path}.{ext}")
        for link in links_of(html):
            target = internal_path(link, site)
            if target is None or is_dynamic(target[0]):
                continue
            if has_extension(target[0]) or target[0].startswith("/.well-known/"):
                if target[0] not in assets:
                    assets.add(target[0])
                    _fetch_file(fetch, writer, pages.source(target[0]), "*/*", target[0])
            elif target not in seen:
                seen.add(target)
                queue.append(target)


def _lang_query(url: str, lang: str | None) -> str:
    return ("&" if "?" in url else "?") + "lang=sv" if lang == "sv" else ""


def resource_key(iri: str) -> str:
    """Return the file name of the static page of an IRI: 32 hex digits of its SHA-256.

    The same IRI always gives the same name, 128 bits make a collision out of reach (one is
    still detected), and the name fits every file system whatever the IRI's length.
    """
    return hashlib.sha256(iri.encode("utf-8")).hexdigest()[:32]


#: ``/resource`` and its documents (``/resource.ttl``) on the server.
_RESOURCE_URL = re.compile(re.escape(naming.RESOURCE_PAGE) + r"(\.[A-Za-z0-9]+)?\Z")
#: A link attribute in a rendered page (the templates quote attributes with ``"``).
_LINK_ATTRIBUTE = re.compile(r'(\s(?:href|src)=")([^"]*)(")')


class StaticResources:
    """The static files of ``/resource?iri=<IRI>`` pages: ``/resource/<resource_key(IRI)>``.

    ``static`` turns a server link into the copy's link (keeping ``?lang=``, which the bundled
    server configurations and the ``.sv.html`` files answer like on every page), ``source``
    turns a copy's path back into the URL to ask the server for.
    """

    PREFIX = naming.RESOURCE_PAGE + "/"

    def __init__(self, site: str) -> None:
        self.site = site
        self.iris: dict[str, str] = {}

    def static(self, link: str) -> str | None:
        """Return the copy's link for a link to ``/resource[.ext]?iri=...``, else None."""
        parts = urlsplit(link)
        origin = f"{parts.scheme}://{parts.netloc}" if parts.scheme or parts.netloc else ""
        match = _RESOURCE_URL.match(parts.path)
        query = parse_qs(parts.query)
        if not match or origin not in ("", self.site) or set(query) - {"iri", "lang"}:
            return None
        if len(query.get("iri", [])) != 1 or len(query.get("lang", [])) > 1:
            return None
        iri = query["iri"][0]
        key = resource_key(iri)
        if self.iris.setdefault(key, iri) != iri:
            raise DataError(f"two IRIs share the static page {key}: {self.iris[key]} and {iri}")
        lang = "".join(f"?lang={quote(v, safe='')}" for v in query.get("lang", []))
        fragment = f"#{parts.fragment}" if parts.fragment else ""
        return f"{origin}{self.PREFIX}{key}{match.group(1) or ''}{lang}{fragment}"

    def source(self, path: str) -> str:
        """Return the server URL of a path of the copy (``/resource/<key>.ttl``: its document)."""
        if not path.startswith(self.PREFIX):
            return path
        key, dot, ext = path[len(self.PREFIX) :].partition(".")
        if key not in self.iris:
            return path
        return f"{naming.RESOURCE_PAGE}{dot}{ext}?iri={quote(self.iris[key], safe='')}"

    def rewrite(self, html: str) -> str:
        """Return ``html`` with its links to ``/resource`` pages pointing at the static files."""

        def one(found: re.Match[str]) -> str:
            new = self.static(unescape(found.group(2)))
            return found.group(0) if new is None else found.group(1) + escape(new) + found.group(3)

        return _LINK_ATTRIBUTE.sub(one, html)


def _follow(fetch: Fetch, url: str, accept: str, hops: int = 5) -> Fetched:
    """Fetch ``url``, following redirects within the site (a static file holds the target)."""
    answer = fetch(url, accept)
    while answer.status in (301, 302, 303, 307, 308) and answer.location and hops:
        answer, hops = fetch(answer.location, accept), hops - 1
    return answer


def _page_key(url: str) -> tuple[str, str | None]:
    parts = urlsplit(url)
    lang = parse_qs(parts.query).get("lang", [None])[0]
    return parts.path or "/", "sv" if lang == "sv" else None


def internal_path(link: str, site: str) -> tuple[str, str | None] | None:
    """Return ``(path, lang)`` of a same-site link, None for other sites and other schemes."""
    parts = urlsplit(link)
    origin = urlsplit(site)
    if parts.scheme or parts.netloc:
        if (parts.scheme, parts.netloc) != (origin.scheme, origin.netloc):
            return None
    elif not parts.path.startswith("/"):
        return None  # fragments, mailto:, relative links (aigraph pages use none)
    return _page_key(link)


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value and name in ("href", "src") and tag in ("a", "link", "script", "img"):
                self.found.append(value)


def links_of(html: str) -> list[str]:
    """Return the ``href``/``src`` values of links, stylesheets, scripts and images."""
    parser = _Links()
    parser.feed(html)
    parser.close()
    return parser.found


# --- server configurations for the static copy ------------------------------------------------


def server_configs() -> dict[str, bytes]:
    """Return example web-server configurations that add content negotiation to the copy.

    Accept headers are matched by regular expression (q-values are not weighed): a client
    naming an RDF media type and not ``text/html`` gets RDF. ``.nojekyll`` keeps GitHub Pages
    from hiding ``.well-known``. The configurations are the package's ``site/configs/`` files.
    """
    configs = resources.files("aigraph.site").joinpath("configs")
    return {
        ".htaccess": configs.joinpath("htaccess").read_bytes(),
        "nginx.conf": configs.joinpath("nginx.conf").read_bytes(),
        ".nojekyll": b"",
    }
