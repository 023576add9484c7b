"""A resource page over data held in memory stops at ``internal_max_rows``, as in store mode.

The in-memory fast path hands the page code the whole dataset; a resource with tens of
thousands of incoming links would be rendered in full (seconds of work, megabytes of HTML in
the server process). It is refused with 503 and the store path's message instead, counted
lazily.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from rdflib import URIRef

from aigraph.core import Aigraph
from aigraph.errors import ResultTooLarge
from aigraph.neighbourhood import bounded
from aigraph.settings import Settings
from aigraph.web import create_app

LINKS = 20_000
CAP = 1_000
HUB = "http://ex.org/hub"
ID_HUB = f"{Settings().base}/id/hub"  # a resource with a page of its own under /id/


@pytest.fixture(scope="module")
def hub_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    data = tmp_path_factory.mktemp("hub") / "hub.nt"
    lines = (
        f"<http://ex.org/src{n}> <http://ex.org/p> <{hub}> .\n"
        for hub in (HUB, ID_HUB)
        for n in range(LINKS)
    )
    data.write_text("".join(lines), encoding="utf-8")
    core = Aigraph.open(
        Settings(data=(str(data),), validate=False, executors=1, internal_max_rows=CAP)
    )
    try:
        app = create_app(core=core)
        app.config["TESTING"] = True
        yield app.test_client()
    finally:
        core.close()


@pytest.mark.parametrize("accept", ["text/html", "text/turtle", "application/ld+json"])
def test_a_hub_page_in_memory_is_refused_past_the_cap(hub_client: object, accept: str) -> None:
    response = hub_client.get(  # type: ignore[attr-defined]
        "/resource", query_string={"iri": HUB}, headers={"Accept": accept}
    )
    assert response.status_code == 503
    body = response.get_data(as_text=True)
    assert "internal_max_rows" in body and f"more than {CAP} rows" in body
    assert len(body) < 100 * CAP  # bounded by the cap, not by the 20,000 links


def test_an_id_page_of_a_hub_is_refused_past_the_cap(hub_client: object) -> None:
    response = hub_client.get("/id/hub", headers={"Accept": "text/html"})  # type: ignore[attr-defined]
    assert response.status_code == 503
    assert "internal_max_rows" in response.get_data(as_text=True)


def test_a_small_resource_beside_the_hub_is_still_served(hub_client: object) -> None:
    response = hub_client.get(  # type: ignore[attr-defined]
        "/resource", query_string={"iri": "http://ex.org/src7"}, headers={"Accept": "text/html"}
    )
    assert response.status_code == 200
    assert HUB in response.get_data(as_text=True)


class _Counting:
    """A dataset stand-in that counts the quads read from it."""

    def __init__(self) -> None:
        self.read = 0

    def quads(self, pattern: tuple) -> Iterator[tuple]:
        s, _, o, g = pattern
        if o is not None:  # everything points at the hub
            for n in range(LINKS):
                self.read += 1
                yield URIRef(f"http://ex.org/src{n}"), URIRef("http://ex.org/p"), o, None


def test_the_cap_is_counted_lazily() -> None:
    counting = _Counting()
    with pytest.raises(ResultTooLarge, match="internal_max_rows"):
        bounded(counting, URIRef(HUB), CAP)  # type: ignore[arg-type]
    assert counting.read == CAP + 1
    small = _Counting()
    assert bounded(small, URIRef(HUB), LINKS) is small  # type: ignore[arg-type]
    assert small.read == LINKS
