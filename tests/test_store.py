"""The persistent store: load once, serve without re-parsing, never half-loaded."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from rdflib import BNode

from aigraph import content, graph, queries, store
from aigraph.cli import cli
from aigraph.core import Aigraph
from aigraph.settings import Settings

NAMED = queries.load_all(content.queries_dir())
DEFAULT = [str(p) for p in graph.default_paths()]


def write_triples(path: Path, count: int) -> Path:
    """Write ``count`` distinct N-Triples quickly."""
    with path.open("w") as out:
        for i in range(count):
            out.write(f'<http://example.org/s{i // 10}> <http://example.org/p{i % 10}> "{i}" .\n')
    return path


def load(directory: Path, *paths: str | Path) -> object:
    return CliRunner().invoke(cli, ["load", "--store", str(directory), *map(str, paths)])


def state(directory: Path) -> tuple[str, int, int]:
    """The metadata and the real quad count of a store (opened read-only)."""
    info = store.read_info(directory)
    return (directory / store.METADATA).read_text(), info.quads, len(store.open_read_only(info))


@pytest.fixture(scope="module")
def loaded(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("store") / "s"
    result = load(directory, *DEFAULT)
    assert result.exit_code == 0, result.output
    return directory


@pytest.fixture(scope="module")
def stored(loaded) -> Aigraph:
    core = Aigraph.open(Settings(store=str(loaded), executors=2, max_rows=1000))
    yield core
    core.close()


def canonical(result) -> list[str]:
    """Rows as sorted strings, blank nodes made equal (their labels differ between stores)."""

    def term(value: object) -> str:
        return "_:b" if isinstance(value, BNode) else repr(value)

    return sorted(repr(sorted((k, term(v)) for k, v in row.items())) for row in result.rows)


def test_metadata_records_the_files(loaded) -> None:
    info = store.read_info(loaded)
    assert [Path(f.path).name for f in info.files] == [Path(p).name for p in DEFAULT]
    assert all(len(f.sha256) == 64 and f.quads > 0 for f in info.files)
    assert "aig" in info.prefixes


def test_store_answers_as_in_memory(stored, core) -> None:
    assert stored.triple_count == core.engine.triple_count()
    assert list(stored.engine.graph_names()) == list(core.engine.graph_names())
    for name, named in NAMED.items():
        assert canonical(stored.query(named.text)) == canonical(core.query(named.text)), name
    everything = "SELECT ?s ?p ?o WHERE { ?s ?p ?o }"
    assert canonical(stored.query(everything)) == canonical(core.query(everything))


def test_http_over_store(stored) -> None:
    from aigraph.web import create_app

    client = create_app(core=stored).test_client()
    response = client.get(
        "/sparql",
        query_string={"query": "ASK { ?s ?p ?o }"},
        headers={"Accept": "application/sparql-results+json"},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["boolean"] is True


def test_statistics_over_a_store_are_those_of_the_data(stored, core) -> None:
    """VoID, DCAT and the service description count the stored data, not an empty graph."""
    from aigraph.web import create_app

    assert stored.facts.triples == core.facts.triples > 0
    assert stored.facts.classes == core.facts.classes
    assert stored.facts.named_graphs == core.facts.named_graphs
    assert stored.facts.temporal_start == core.facts.temporal_start
    client = create_app(core=stored).test_client()
    void = client.get("/.well-known/void", headers={"Accept": "application/n-triples"})
    assert f'"{core.facts.triples}"'.encode() in void.data, void.data[:500]
    # Resource and documentation pages come from the store through the engine.
    page = client.get("/id/organisation/vinnova", headers={"Accept": "text/html"})
    assert page.status_code == 200, page.get_data(as_text=True)[:500]
    in_memory = create_app(core=core).test_client()
    for path in (
        "/id/organisation/vinnova",
        "/id/grant/vinnova-ai-innovation-of-sweden-2020-2024",
        "/id/person/darja-isaksson",
        "/graph/grant",
    ):
        for lang in ("en", "sv"):
            from_store = client.get(
                path, query_string={"lang": lang}, headers={"Accept": "text/html"}
            )
            from_memory = in_memory.get(
                path, query_string={"lang": lang}, headers={"Accept": "text/html"}
            )
            assert from_store.status_code == 200, (path, from_store.get_data(as_text=True)[:300])
            if path.startswith("/graph/"):  # rows are sorted by subject: blank-node labels differ
                assert sorted(from_store.data.splitlines()) == sorted(
                    from_memory.data.splitlines()
                ), path
            else:
                assert from_store.data == from_memory.data, path
    turtle = client.get("/id/grant/vinnova-ai-innovation-of-sweden-2020-2024.ttl")
    assert turtle.status_code == 200 and b"100000000" in turtle.data
    assert client.get("/id/organisation/no-such-thing").status_code == 404
    assert client.get("/ontology", headers={"Accept": "text/html"}).status_code == 200
    assert client.get("/graph/grant", headers={"Accept": "text/turtle"}).status_code == 200
    # No dump is offered (or catalogued) rather than an empty file posing as the data.
    assert client.get("/dumps/aigraph.nt").status_code == 404
    catalog = client.get("/catalog.nt").get_data(as_text=True)
    assert "/dumps/" not in catalog and "/sparql" in catalog


def test_two_workers_read_the_same_store(stored) -> None:
    # One worker at start, the second when queries overlap (tests/test_first_answer.py).
    assert len(stored.engine.worker_pids()) in (1, 2)
    answers: list[object] = []
    count = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"

    def ask() -> None:
        try:
            answers.append(int(stored.query(count).rows[0]["n"]))
        except Exception as exc:  # noqa: BLE001 - shown by the assert below
            answers.append(exc)

    threads = [threading.Thread(target=ask) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [answers[0]] * 6 and isinstance(answers[0], int), answers
    stats = stored.engine.stats()
    assert stats["crashes"] == 0 and stats["workers"] in (1, 2)


def test_malformed_file_loads_nothing(loaded, tmp_path) -> None:
    good = write_triples(tmp_path / "good.nt", 50)
    bad = tmp_path / "bad.ttl"
    bad.write_text("@prefix ex: <http://example.org/> .\nex:a ex:b ex:c .\nex:a ex:b .\n")
    before = state(loaded)
    result = load(loaded, good, bad)
    assert result.exit_code == 2, result.output
    assert f"{bad}:3: column 11:" in result.output
    assert "Traceback" not in result.output
    assert state(loaded) == before


def test_kill_during_load_leaves_old_or_new(tmp_path) -> None:
    directory = tmp_path / "s"
    assert load(directory, *DEFAULT).exit_code == 0
    big = write_triples(tmp_path / "big.nt", 200_000)
    _, old, old_real = state(directory)
    seen = set()
    for delay in (0.5, 1.5, 3.0):
        process = subprocess.Popen(
            [sys.executable, "-m", "aigraph", "load", "--store", str(directory), str(big)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(delay)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        _, recorded, real = state(directory)
        # The bundled data has triples in two graphs, so the store writes its union: every
        # triple is stored twice, in its graph and in the default graph.
        assert (recorded, real) in ((old, old_real), (old + 200_000, old_real + 400_000)), delay
        seen.add(recorded)
    assert seen <= {old, old + 200_000}
    # A load after the kills finishes the job and cleans up what the kills left.
    assert load(directory, big).exit_code == 0
    assert store.read_info(directory).quads == old + 200_000
    assert len([p for p in directory.iterdir() if p.name.startswith("data-")]) <= 2


def test_full_disk_during_load_leaves_the_store_as_it_was(tmp_path) -> None:
    """A write that fails for want of space (here: a file-size limit) changes nothing."""
    import resource

    directory = tmp_path / "s"
    assert load(directory, *DEFAULT).exit_code == 0
    big = write_triples(tmp_path / "big.nt", 300_000)
    before = state(directory)

    def small_disk() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes fail with EFBIG instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (4_000_000, 4_000_000))

    done = subprocess.run(
        [sys.executable, "-m", "aigraph", "load", "--store", str(directory), str(big)],
        capture_output=True,
        text=True,
        preexec_fn=small_disk,
        timeout=120,
    )
    assert done.returncode != 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert state(directory) == before
    # The next load (with room) succeeds and cleans up what the failed one left.
    assert load(directory, big).exit_code == 0
    assert store.read_info(directory).quads == before[1] + 300_000


def serve(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "aigraph", "serve", "--port", "0", *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("damage", ["garbage", "future", "no-data", "broken-data", "bad-json"])
def test_unusable_store_exits_2_with_a_message(loaded, tmp_path, damage) -> None:
    directory = tmp_path / "s"
    if damage == "garbage":
        directory.mkdir()
        (directory / "CURRENT").write_text("not rocksdb")
        expected = "not an aigraph store"
    else:
        subprocess.run(["cp", "-a", str(loaded), str(directory)], check=True)
        meta = directory / store.METADATA
        raw = json.loads(meta.read_text())
        generation = directory / raw["generation"]
        if damage == "future":
            raw["version"] = store.FORMAT_VERSION + 1
            meta.write_text(json.dumps(raw))
            expected = "newer than this aigraph supports"
        elif damage == "no-data":
            subprocess.run(["rm", "-rf", str(generation)], check=True)
            expected = "is missing"
        elif damage == "broken-data":
            for child in generation.iterdir():
                child.unlink() if child.is_file() else None
            (generation / "CURRENT").write_text("garbage\n")
            expected = "corrupted store"
        else:
            meta.write_text("{not json")
            expected = "corrupted store metadata"
    result = serve("--store", str(directory))
    assert result.returncode == 2, result.stdout + result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_load_refuses_a_foreign_folder(tmp_path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    result = load(tmp_path, *DEFAULT)
    assert result.exit_code == 2
    assert "not empty and not an aigraph store" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == [".lock", "notes.txt"]
