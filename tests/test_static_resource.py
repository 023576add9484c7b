"""Pages of IRIs outside the base in the static copy: ``/resource?iri=`` becomes ``/resource/<key>``."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from click.testing import CliRunner
from rdflib import Graph, URIRef

from aigraph.cli import cli
from aigraph.errors import DataError
from aigraph.site import build
from aigraph.site.build import StaticResources, resource_key
from aigraph.web import create_app

SITE = "https://aigraph.example.org"
CONCEPT = "http://www.w3.org/2004/02/skos/core#Concept"  # a hash IRI the data describes


def test_resource_key_is_deterministic_short_and_distinct():
    long_iri = "https://example.org/" + "x" * 5000
    assert resource_key(CONCEPT) == resource_key(CONCEPT)
    assert re.fullmatch(r"[0-9a-f]{32}", resource_key(long_iri))
    # IRIs that differ only in the fragment or in case get pages of their own.
    keys = {resource_key(i) for i in (CONCEPT, CONCEPT.lower(), CONCEPT + "Scheme", CONCEPT[:-8])}
    assert len(keys) == 4


def test_links_to_resource_pages_are_rewritten_and_mapped_back():
    pages = StaticResources(SITE)
    key = resource_key(CONCEPT)
    encoded = quote(CONCEPT, safe="")
    assert pages.static(f"/resource?iri={encoded}&lang=sv") == f"/resource/{key}?lang=sv"
    assert pages.static(f"/resource.ttl?iri={encoded}") == f"/resource/{key}.ttl"
    assert pages.static(f"{SITE}/resource?iri={encoded}") == f"{SITE}/resource/{key}"
    # Other sites, other parameters, other pages: left as they are.
    assert pages.static(f"https://elsewhere.example/resource?iri={encoded}") is None
    assert pages.static(f"/resource?iri={encoded}&format=ttl") is None
    assert pages.static(f"/resource?iri={encoded}&iri=x:y") is None
    assert pages.static("/id/article/x?lang=sv") is None
    assert pages.source(f"/resource/{key}") == f"/resource?iri={encoded}"
    assert pages.source(f"/resource/{key}.nt") == f"/resource.nt?iri={encoded}"
    assert pages.source("/resource/0123") == "/resource/0123"  # not a page it has seen
    html = (
        f'<a href="/resource?iri={encoded}&amp;lang=en" title="x">C</a>'
        f'<p>href="/resource?iri={encoded}"</p><a href="/id/x">x</a>'
    )
    assert pages.rewrite(html) == (
        f'<a href="/resource/{key}?lang=en" title="x">C</a>'
        f'<p>href="/resource?iri={encoded}"</p><a href="/id/x">x</a>'
    )


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> tuple[Path, str]:
    outdir = tmp_path_factory.mktemp("site")
    result = CliRunner().invoke(cli, ["publish", str(outdir), "--site", SITE])
    assert result.exit_code == 0, result.output
    return outdir, result.output


def test_the_copy_has_the_page_of_a_hash_iri(published, core):
    outdir, output = published
    assert "not generated" not in output, output
    key = resource_key(CONCEPT)
    client = create_app(core.settings.with_values(public_url=SITE), core=core).test_client()
    served = client.get(
        f"/resource?iri={quote(CONCEPT, safe='')}&lang=sv",
        base_url=SITE,
        headers={"Accept": "text/html"},
    )
    assert served.status_code == 200
    page = (outdir / "resource" / f"{key}.sv.html").read_text(encoding="utf-8")
    assert page == StaticResources(SITE).rewrite(served.get_data(as_text=True))
    assert "Concept" in page and "/resource?" not in page
    turtle = Graph().parse(outdir / "resource" / f"{key}.ttl", format="turtle")
    assert (None, None, URIRef(CONCEPT)) in turtle
    for ext, _ in build.RDF_FILES:
        assert (outdir / "resource" / f"{key}.{ext}").is_file(), ext


def test_no_page_of_the_copy_links_to_a_query_string_page(published):
    outdir, _ = published
    linking = [
        p.name
        for p in outdir.rglob("*.html")
        if re.search(r'="[^"]*/resource(\.\w+)?\?', p.read_text())
    ]
    assert not linking, linking[:5]


def test_links_of_resource_pages_resolve_to_files(published):
    outdir, _ = published
    pages = sorted((outdir / "resource").glob("*.html"))
    assert len(pages) > 10
    broken = []
    for page in pages:
        for link in build.links_of(page.read_text(encoding="utf-8")):
            target = build.internal_path(link, SITE)
            if target is None or build.is_dynamic(target[0]):
                continue
            path, lang = target
            candidates = [outdir / path.lstrip("/"), outdir / build.html_file(path, lang)]
            if not any(c.is_file() for c in candidates):
                broken.append(f"{page.name}: {link}")
    assert not broken, broken[:20]
    linked = {urlsplit(link).path for p in pages for link in build.links_of(p.read_text())}
    assert f"/resource/{resource_key(CONCEPT)}" in linked


def test_two_iris_on_one_static_page_are_refused():
    pages = StaticResources(SITE)
    pages.iris[resource_key("urn:a")] = "urn:b"  # forged: no two IRIs are known to collide
    with pytest.raises(DataError, match="two IRIs share the static page"):
        pages.static("/resource?iri=urn%3Aa")
