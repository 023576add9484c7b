"""The catalogue's dcterms:issued and dcterms:modified, the landing page's date and the
Last-Modified headers come from what the data and its metadata state: two checkouts made at
different times (different file times) serve the same dates."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest
from rdflib import Dataset, Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, PROV, RDF, XSD

from aigraph.core import Aigraph
from aigraph.describe import dates
from aigraph.errors import DataError, UsageError
from aigraph.settings import CANONICAL_BASE, Settings
from aigraph.web import create_app

ROOT = Path(__file__).resolve().parents[1]
METADATA = tomllib.loads((ROOT / "data" / dates.METADATA_FILE).read_text(encoding="utf-8"))
DATASET = URIRef(f"{CANONICAL_BASE}/dataset")
CATALOG = URIRef(f"{CANONICAL_BASE}/catalog")


def checkout(target: Path) -> Path:
    """Return a fresh copy of the repository's committed data: a git clone (or a copy)."""
    if (ROOT / ".git").exists():
        done = subprocess.run(
            ["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(target)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
    else:  # an unpacked source archive: copied files get new times too
        for folder in ("data", "ontology"):
            shutil.copytree(ROOT / folder, target / folder, copy_function=shutil.copy)
    return target


def set_times(folder: Path, when: float) -> None:
    for path in folder.rglob("*"):
        if ".git" not in path.parts:
            os.utime(path, (when, when))


@contextmanager
def served(data: list[Path], **settings: object) -> Iterator[object]:
    core = Aigraph.open(
        Settings(data=tuple(map(str, data)), validate=False, executors=1, **settings)
    )
    try:
        app = create_app(core=core)
        app.config["TESTING"] = True
        yield app.test_client()
    finally:
        core.close()


def catalogue_dates(client: object) -> dict[str, set[Literal]]:
    response = client.get("/catalog.ttl")  # type: ignore[attr-defined]
    assert response.status_code == 200, response.text
    graph = Graph().parse(data=response.data, format="turtle")
    assert (CATALOG, RDF.type, DCAT.Catalog) in graph and (DATASET, RDF.type, DCAT.Dataset) in graph
    return {
        f"{subject.rsplit('/', 1)[1]} {name}": set(graph.objects(subject, predicate))
        for subject in (CATALOG, DATASET)
        for name, predicate in (("issued", DCTERMS.issued), ("modified", DCTERMS.modified))
    }


def test_two_checkouts_at_different_times_serve_the_same_dates(tmp_path: Path) -> None:
    first = checkout(tmp_path / "first")
    set_times(first, time.mktime((2001, 1, 1, 12, 0, 0, 0, 0, -1)))
    second = checkout(tmp_path / "second")
    set_times(second, time.mktime((2031, 6, 15, 8, 30, 0, 0, 0, -1)))
    found = []
    for clone in (first, second):
        with served([clone / "ontology" / "aigraph.ttl", clone / "data"]) as client:
            dump = client.get("/dumps/aigraph.ttl")  # type: ignore[attr-defined]
            landing = client.get("/")  # type: ignore[attr-defined]
            found.append(
                (
                    catalogue_dates(client),
                    dump.headers.get("Last-Modified"),
                    landing.headers.get("Last-Modified"),
                    landing.text,
                )
            )
    (dates_1, dump_1, page_1, html_1), (dates_2, dump_2, page_2, html_2) = found
    issued = Literal(METADATA["issued"].isoformat(), datatype=XSD.date)
    modified = Literal(METADATA["modified"].isoformat(), datatype=XSD.date)
    assert (
        dates_1
        == dates_2
        == {
            "catalog issued": {issued},
            "catalog modified": {modified},
            "dataset issued": {issued},
            "dataset modified": {modified},
        }
    )
    expected = METADATA["modified"].strftime("%a, %d %b %Y 00:00:00 GMT")
    assert dump_1 == dump_2 == page_1 == page_2 == expected
    assert f'datetime="{METADATA["modified"].isoformat()}"' in html_1
    assert f'datetime="{METADATA["modified"].isoformat()}"' in html_2


def test_metadata_records_the_digest_of_the_data() -> None:
    """A change to the data without a new `modified` date fails here."""
    digest = dates.data_digest(ROOT / "data")
    assert METADATA["sha256"] == digest, (
        "the files of data/ changed: set `modified` in data/dataset.toml to the day of the "
        f'change and `sha256 = "{digest}"`'
    )
    assert METADATA["issued"] <= METADATA["modified"] <= date.today()


def test_settings_win_and_bad_ones_are_refused(tmp_path: Path) -> None:
    with served([ROOT / "data"], issued="2025-01-02", modified="2025-03-04") as client:
        found = catalogue_dates(client)
        assert found["dataset issued"] == {Literal("2025-01-02", datatype=XSD.date)}
        assert found["catalog modified"] == {Literal("2025-03-04", datatype=XSD.date)}
        dump = client.get("/dumps/aigraph.nt")  # type: ignore[attr-defined]
        assert dump.headers["Last-Modified"] == "Tue, 04 Mar 2025 00:00:00 GMT"
    with pytest.raises(UsageError):
        dates.dataset_dates(Dataset(), [], CANONICAL_BASE, modified="last week")


def small_dataset(*quads: tuple[URIRef, URIRef, Literal, URIRef]) -> Dataset:
    dataset = Dataset(default_union=True)
    for quad in quads:
        dataset.add(quad)
    return dataset


def test_dates_stated_in_the_data_come_before_the_metadata_file(tmp_path: Path) -> None:
    graph_a = URIRef(f"{CANONICAL_BASE}/graph/a")
    provenance = URIRef(f"{CANONICAL_BASE}/graph/provenance")
    dataset = small_dataset(
        (DATASET, DCTERMS.issued, Literal("2021-05-01", datatype=XSD.date), provenance),
        (
            graph_a,
            PROV.generatedAtTime,
            Literal("2023-02-03T10:00:00Z", datatype=XSD.dateTime),
            provenance,
        ),
        (graph_a, DCTERMS.modified, Literal("2022-12-24", datatype=XSD.date), provenance),
        (graph_a, DCTERMS.title, Literal("2029-01-01"), graph_a),  # not a date statement
    )
    (tmp_path / "dataset.toml").write_text('issued = 2019-01-01\nmodified = "2020-01-01"\n')
    files = [tmp_path / "facts.trig"]
    found = dates.dataset_dates(dataset, files, CANONICAL_BASE)
    assert found == dates.DatasetDates(issued=date(2021, 5, 1), modified=date(2023, 2, 3))
    from_file = dates.dataset_dates(Dataset(), files, CANONICAL_BASE)
    assert from_file == dates.DatasetDates(issued=date(2019, 1, 1), modified=date(2020, 1, 1))


def test_data_without_dates_gets_none_and_no_last_modified(tmp_path: Path) -> None:
    """No date is made up: without one the catalogue and the headers leave it out."""
    for name in ("announcement.trig", "provenance.trig"):
        shutil.copy(ROOT / "data" / name, tmp_path / name)
    with served([ROOT / "ontology" / "aigraph.ttl", tmp_path]) as client:
        found = catalogue_dates(client)
        assert all(values == set() for values in found.values()), found
        dump = client.get("/dumps/aigraph.ttl")  # type: ignore[attr-defined]
        assert dump.status_code == 200 and "Last-Modified" not in dump.headers
        again = client.get(
            "/dumps/aigraph.ttl",  # type: ignore[attr-defined]
            headers={"If-None-Match": dump.headers["ETag"]},
        )
        assert again.status_code == 304
        landing = client.get("/")  # type: ignore[attr-defined]
        assert landing.status_code == 200 and "<time datetime=" not in landing.text


def test_malformed_metadata_is_a_data_error(tmp_path: Path) -> None:
    (tmp_path / "dataset.toml").write_text('modified = "soon"\n')
    with pytest.raises(DataError) as caught:
        dates.metadata_dates([tmp_path / "facts.trig"])
    assert caught.value.path == str(tmp_path / "dataset.toml")
