"""The web cache: bounded, one data version at a time, and no look-up for a 304."""

from __future__ import annotations

import dataclasses
import threading
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from aigraph.cli import cli
from aigraph.core import Aigraph
from aigraph.settings import Settings
from aigraph.web import create_app
from aigraph.web.cache import EXTENSION, VersionedCache, generation

THING = "https://w3id.org/aigraph/id/thing/a"
LABEL = "<http://www.w3.org/2000/01/rdf-schema#label>"
GRAPH = "http://example.org/g"


def data(label: str) -> str:
    return f'<{THING}> {LABEL} "{label}" .\n<{THING}> <http://example.org/near> <{THING}x> .\n'


# -- the cache itself ----------------------------------------------------------------------------


def test_cache_keeps_at_most_its_entries_least_recently_used_out() -> None:
    cache = VersionedCache(max_entries=3, max_bytes=1_000_000)
    for key in "abc":
        cache.put("v1", key, key.encode(), 1)
    assert cache.get("v1", "a") == b"a"  # now the most recently used
    cache.put("v1", "d", b"d", 1)
    assert len(cache) == 3
    assert cache.get("v1", "b") is None
    assert [cache.get("v1", k) for k in "acd"] == [b"a", b"c", b"d"]


def test_cache_keeps_at_most_its_bytes() -> None:
    cache = VersionedCache(max_entries=100, max_bytes=5 * (VersionedCache.ENTRY_BYTES + 1000))
    built = []
    for key in range(20):
        cache.fetch("v1", key, lambda key=key: built.append(key) or bytes(1000))
        assert cache.size <= cache.max_bytes
    assert len(cache) == 5 and built == list(range(20))
    assert cache.fetch("v1", 19, lambda: b"rebuilt") == bytes(1000)
    huge = bytes(cache.max_bytes)
    assert cache.fetch("v1", "huge", lambda: huge) is huge
    assert cache.get("v1", "huge") is None and len(cache) == 5  # too big: returned, not kept


def test_cache_drops_everything_built_for_another_version() -> None:
    cache = VersionedCache(max_entries=10, max_bytes=1_000_000)
    cache.put("v1", "page", b"old", 3)
    assert cache.get("v2", "page") is None
    assert len(cache) == 0 and cache.size == 0
    assert cache.fetch("v2", "page", lambda: b"new") == b"new"
    assert cache.get("v2", "page") == b"new"


def test_pages_and_descriptions_share_one_bounded_cache(core) -> None:
    small = dataclasses.replace(core, settings=core.settings.with_values(cache_entries=3))
    app = create_app(core=small)
    client = app.test_client()
    paths = [
        "/id/organisation/vinnova",
        "/id/person/martin-svensson",
        "/ontology",
        "/shapes",
        "/catalog.ttl",
        "/.well-known/void",
        "/",
    ]
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        assert len(app.extensions[EXTENSION]) <= 3
    budget = 3 * 20_000
    tight = dataclasses.replace(core, settings=core.settings.with_values(cache_bytes=budget))
    app = create_app(core=tight)
    for path in paths:
        assert app.test_client().get(path).status_code == 200
        assert app.extensions[EXTENSION].size <= budget


# -- a store or a backend ------------------------------------------------------------------------


class Counted:
    """Count the engine's queries and the core's look-ups of a resource's surroundings."""

    def __init__(self, aigraph: Aigraph) -> None:
        self.queries = 0
        self.around = 0
        aigraph.engine.query = self._counting(aigraph.engine.query, "queries")  # type: ignore[method-assign]
        aigraph.dataset_around = self._counting(aigraph.dataset_around, "around")  # type: ignore[method-assign]

    def _counting(self, wrapped: Callable[..., Any], name: str) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            setattr(self, name, getattr(self, name) + 1)
            return wrapped(*args, **kwargs)

        return call

    def reset(self) -> None:
        self.queries = self.around = 0


@pytest.fixture(scope="module")
def stored(tmp_path_factory) -> Iterator[Aigraph]:
    folder = tmp_path_factory.mktemp("cache")
    (folder / "thing.ttl").write_text(data("First"))
    result = CliRunner().invoke(
        cli, ["load", "--store", str(folder / "s"), str(folder / "thing.ttl")]
    )
    assert result.exit_code == 0, result.output
    aigraph = Aigraph.open(Settings(store=str(folder / "s"), executors=1))
    yield aigraph
    aigraph.close()


def test_a_304_in_store_mode_runs_no_query(stored) -> None:
    counted = Counted(stored)
    client = create_app(core=stored).test_client()
    first = client.get("/id/thing/a", headers={"Accept": "text/html"})
    assert first.status_code == 200, first.get_data(as_text=True)[:300]
    assert "First" in first.get_data(as_text=True)
    assert counted.around == 1 and counted.queries >= 1  # the counter sees the look-up
    for conditions in (
        {"If-None-Match": first.headers["ETag"]},
        {"If-None-Match": f'"other", {first.headers["ETag"]}'},
    ):
        counted.reset()
        again = client.get("/id/thing/a", headers={"Accept": "text/html", **conditions})
        assert again.status_code == 304, again.get_data(as_text=True)[:300]
        assert again.headers["ETag"] == first.headers["ETag"]
        assert again.headers["Content-Location"] == "/id/thing/a.html"
        assert again.headers["Vary"] == "Accept"
        assert (counted.queries, counted.around) == (0, 0)
    counted.reset()
    cached = client.get("/id/thing/a", headers={"Accept": "text/html"})
    assert cached.data == first.data and (counted.queries, counted.around) == (0, 0)
    # Only a tag given for what exists is answered early: a missing resource stays a 404.
    for headers in (
        {"If-None-Match": "*"},
        {"If-None-Match": first.headers["ETag"]},
        {"If-Modified-Since": "Tue, 01 Jan 2199 00:00:00 GMT"},
        {"If-None-Match": "*", "Accept": "application/x-nothing"},
    ):
        missing = client.get("/id/thing/nobody", headers=headers)
        assert missing.status_code == 404, (headers, missing.get_data(as_text=True)[:300])
    assert client.get("/id/thing/a", headers={"Accept": "application/x-nothing"}).status_code == 406


def test_a_document_in_store_mode_looks_its_resource_up_once(stored) -> None:
    counted = Counted(stored)
    client = create_app(core=stored).test_client()
    document = client.get("/id/thing/a.nt")
    assert document.status_code == 200, document.get_data(as_text=True)[:300]
    assert '"First"' in document.get_data(as_text=True)
    assert counted.around == 1
    counted.reset()
    unchanged = client.get("/id/thing/a.nt", headers={"If-None-Match": document.headers["ETag"]})
    assert unchanged.status_code == 304 and (counted.queries, counted.around) == (0, 0)


class CountingProxy(BaseHTTPRequestHandler):
    """Forward every request to ``upstream`` and count it."""

    upstream = ""
    count = 0

    def do_POST(self) -> None:
        type(self).count += 1
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        forwarded = urllib.request.Request(
            self.upstream + self.path,
            data=body,
            method="POST",
            headers={
                k: v for k, v in self.headers.items() if k.lower() in ("content-type", "accept")
            },
        )
        with urllib.request.urlopen(forwarded, timeout=30) as answer:
            payload = answer.read()
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.headers["Content-Type"])
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def backend(tmp_path_factory) -> Iterator[tuple[str, str]]:
    """An Oxigraph server of its own holding ``data("First")``, and a counting proxy to it."""
    import oxigraph_server  # here, once pytest has taken it as a plugin (test_remote.py)

    server = oxigraph_server.start(tmp_path_factory.mktemp("oxigraph"))
    CountingProxy.upstream = server.url
    proxy = ThreadingHTTPServer(("127.0.0.1", 0), CountingProxy)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        put(server.store, data("First"))
        yield f"http://127.0.0.1:{proxy.server_address[1]}/query", server.store
    finally:
        proxy.shutdown()
        oxigraph_server.stop(server)


def put(store: str, turtle: str) -> None:
    request = urllib.request.Request(
        f"{store}?graph={GRAPH}",
        data=turtle.encode(),
        method="PUT",
        headers={"Content-Type": "text/turtle"},
    )
    urllib.request.urlopen(request, timeout=10).close()


def test_a_304_over_a_backend_sends_it_no_request(backend) -> None:
    query, _ = backend
    aigraph = Aigraph.open(Settings(backend=query, executors=1))
    try:
        client = create_app(core=aigraph).test_client()
        CountingProxy.count = 0
        first = client.get("/id/thing/a", headers={"Accept": "text/turtle"})
        assert first.status_code == 200, first.get_data(as_text=True)[:300]
        assert 1 <= CountingProxy.count <= 2  # the surroundings and the ontology graph
        CountingProxy.count = 0
        again = client.get(
            "/id/thing/a", headers={"Accept": "text/turtle", "If-None-Match": first.headers["ETag"]}
        )
        assert again.status_code == 304, again.get_data(as_text=True)[:300]
        assert CountingProxy.count == 0
    finally:
        aigraph.close()


def test_a_reload_serves_the_new_data_and_drops_the_old(backend, tmp_path: Path) -> None:
    query, store = backend
    settings = Settings(backend=query, executors=1)
    app = create_app(core=Aigraph.open(settings))
    client = app.test_client()
    try:
        put(store, data("First"))
        for path in ("/id/thing/a", "/id/thing/a.ttl"):
            assert '"First"' in client.get(path).get_data(as_text=True)
        assert "First" in client.get("/id/thing/a", headers={"Accept": "text/html"}).get_data(True)
        put(store, data("Second"))
        old, app.extensions["aigraph"] = app.extensions["aigraph"], Aigraph.open(settings)
        old.close()  # as a SIGHUP reload does (``server.Lifecycle._reload``)
        for path in ("/id/thing/a", "/id/thing/a.ttl"):
            text = client.get(path).get_data(as_text=True)
            assert '"Second"' in text and "First" not in text, text
        page = client.get("/id/thing/a", headers={"Accept": "text/html"}).get_data(as_text=True)
        assert "Second" in page and "First" not in page
        assert app.extensions[EXTENSION].generation == generation(app.extensions["aigraph"])
    finally:
        app.extensions["aigraph"].close()
        put(store, data("First"))


def test_a_reload_empties_the_cache_at_once() -> None:
    """The old generation's pages are freed by the reload itself, not by the next request."""
    from aigraph.web.server import Lifecycle

    settings = Settings(engine="rdflib", validate=False, executors=1, query_timeout=1)
    app = create_app(core=Aigraph.open(settings))
    old = app.extensions["aigraph"]
    try:
        for path in ("/id/organisation/vinnova", "/ontology", "/catalog"):
            assert app.test_client().get(path).status_code == 200
        assert len(app.extensions[EXTENSION]) >= 3
        Lifecycle(app, None, settings)._reload()
        assert app.extensions["aigraph"] is not old
        assert len(app.extensions[EXTENSION]) == 0 and app.extensions[EXTENSION].size == 0
        assert app.test_client().get("/id/organisation/vinnova").status_code == 200
    finally:
        app.extensions["aigraph"].close()
        old.close()
