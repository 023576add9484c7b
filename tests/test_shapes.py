"""Data-driven tests of the SHACL shapes, and conformance of the real data.

Every file in ``tests/shapes/valid`` must conform; every file in ``tests/shapes/invalid`` must
not, and must produce each message named in its ``# expect:`` lines (and nothing else).

The data graph given to pyshacl is an rdflib ``Dataset`` (as ``aigraph.graph.load`` returns it):
pyshacl 0.40 validates the union of its graphs (so a resource described in one named graph and
used in another is seen whole), while the SPARQL-based provenance shapes still see the graph
names through ``GRAPH``. Shape tests are TriG for the same reason.
"""

from __future__ import annotations

from pathlib import Path

import pyshacl
import pytest
from rdflib import Dataset, Graph, Namespace, URIRef

from aigraph.graph import load
from aigraph.project import CLOSED_WORLD_SHAPES

ROOT = Path(__file__).resolve().parents[1]
ONTOLOGY = ROOT / "ontology"
SHAPE_TESTS = ROOT / "tests" / "shapes"
SH = Namespace("http://www.w3.org/ns/shacl#")
PROVENANCE = URIRef("https://w3id.org/aigraph/graph/provenance")


def shapes_graph() -> Graph:
    """The bundled project's shapes, with the closed-world shape its aigraph.toml turns on."""
    graph = Graph().parse(ROOT / "shapes" / "shapes.ttl", format="turtle")
    return graph.parse(CLOSED_WORLD_SHAPES, format="turtle")


def ontology_graph() -> Graph:
    graph = Graph().parse(ONTOLOGY / "aigraph.ttl", format="turtle")
    return graph.parse(ROOT / "shapes" / "vocabularies.ttl", format="turtle")


def validate(data: Dataset) -> tuple[bool, Graph, str]:
    """Validate ``data`` the way aigraph does."""
    return pyshacl.validate(
        data_graph=data,
        shacl_graph=shapes_graph(),
        ont_graph=ontology_graph(),
        inference="none",
        advanced=True,
        allow_warnings=True,
    )


def read(path: Path) -> Dataset:
    dataset = Dataset(default_union=True)
    dataset.parse(path, format="trig")
    return dataset


def expected_messages(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.split(":", 1)[1].strip() for line in lines if line.startswith("# expect:")]


def result_messages(report: Graph) -> list[list[str]]:
    """Return the messages of each validation result."""
    return [
        [str(m) for m in report.objects(result, SH.resultMessage)]
        for result in report.subjects(SH.resultSeverity, None)
    ]


def files(kind: str) -> list[Path]:
    return sorted((SHAPE_TESTS / kind).glob("*.t*"))


def test_shape_test_files_exist() -> None:
    assert files("valid")
    assert len(files("invalid")) >= 7


@pytest.mark.parametrize("path", files("valid"), ids=lambda p: p.name)
def test_valid_example_conforms(path: Path) -> None:
    conforms, _, text = validate(read(path))
    assert conforms, text


@pytest.mark.parametrize("path", files("invalid"), ids=lambda p: p.name)
def test_invalid_example_is_rejected_with_its_message(path: Path) -> None:
    expected = expected_messages(path)
    assert expected, f"{path.name} names no '# expect:' message"
    conforms, report, text = validate(read(path))
    assert not conforms, f"{path.name} conforms but should not"
    results = result_messages(report)
    every = [m for messages in results for m in messages]
    for message in expected:
        assert any(message in m for m in every), f"missing {message!r} in:\n{text}"
    for messages in results:
        # Only the intended shapes fire: each result matches an expected message.
        assert any(e in m for e in expected for m in messages), f"unexpected result:\n{text}"
        # Every result carries the English and the Swedish message (pyshacl drops the language
        # tag of SPARQL messages with {?value} in them, so count rather than read tags).
        assert len(set(messages)) >= 2, messages


def test_every_shape_has_english_and_swedish_messages() -> None:
    shapes = shapes_graph()
    constraints = set(shapes.subjects(SH.message, None))
    assert len(constraints) >= 20
    for constraint in constraints:
        langs = {m.language for m in shapes.objects(constraint, SH.message)}
        assert langs == {"en", "sv"}, constraint


def test_real_data_conforms() -> None:
    conforms, _, text = validate(load().dataset)
    assert conforms, text


def test_real_data_without_a_provenance_description_fails() -> None:
    dataset = load().dataset
    host = URIRef("https://w3id.org/aigraph/graph/host")
    dataset.graph(PROVENANCE).remove((host, None, None))
    conforms, _, text = validate(dataset)
    assert not conforms
    assert "/graph/host has no provenance" in text


def test_real_data_with_a_typo_fails() -> None:
    dataset = load().dataset
    typo = URIRef("http://schema.org/fundr")
    grant = URIRef("https://w3id.org/aigraph/id/grant/vinnova-ai-innovation-of-sweden-2020-2024")
    vinnova = URIRef("https://w3id.org/aigraph/id/organisation/vinnova")
    dataset.graph(URIRef("https://w3id.org/aigraph/graph/grant")).add((grant, typo, vinnova))
    conforms, _, text = validate(dataset)
    assert not conforms
    assert "Undefined property http://schema.org/fundr" in text
