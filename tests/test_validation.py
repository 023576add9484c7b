"""Validation against SHACL shapes and the four report formats, on the fixtures of
``tests/validation_fixtures`` (their own shapes and ontology, not aigraph's)."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from rdflib import RDF, SH, BNode, Graph, Literal, URIRef

from aigraph import graph
from aigraph.errors import DataError, UsageError
from aigraph.settings import Settings
from aigraph.validation.locate import SourceIndex, turtle_subjects
from aigraph.validation.report import render
from aigraph.validation.union import UnionGraph
from aigraph.validation.validate import ValidationReport, Violation, validate

# rdflib and pySHACL warn about their own use of ConjunctiveGraph and default_context.
pytestmark = pytest.mark.filterwarnings(
    "ignore:.*(ConjunctiveGraph|default_context).*:DeprecationWarning"
)

FIXTURES = Path(__file__).parent / "validation_fixtures"
SHAPES = FIXTURES / "shapes.ttl"
ONTOLOGY = [FIXTURES / "ontology.ttl"]
EX = "https://example.org/fx/"
ALL = ["invalid.ttl", "named.trig", "warnings.ttl", "triples.nt", "conforming.ttl"]


def run(*names: str, severity: str = "Violation", **kwargs: object) -> ValidationReport:
    loaded = graph.load(Settings(), [FIXTURES / n for n in names])
    options = {"shapes": SHAPES, "ontology": ONTOLOGY, **kwargs}
    return validate(loaded, severity=severity, **options)  # type: ignore[arg-type]


def line_of(name: str, start: str) -> int:
    """Return the number of the first line of fixture ``name`` that starts with ``start``."""
    lines = (FIXTURES / name).read_text(encoding="utf-8").splitlines()
    return next(i for i, text in enumerate(lines, 1) if text.lstrip().startswith(start))


def find(report: ValidationReport, focus: str, path: str | None = None) -> Violation:
    found = [
        v
        for v in report.violations
        if v.focus_display == focus and (path is None or v.path == path)
    ]
    assert len(found) == 1, f"{focus} {path}: {found}\n{render(report, 'text')}"
    return found[0]


@pytest.fixture(scope="module")
def report() -> ValidationReport:
    return run(*ALL)


def test_report_fields(report: ValidationReport) -> None:
    v = find(report, "ex:bob", "ex:name")
    assert v.focus == URIRef(EX + "bob")
    assert v.value is None
    assert v.shape == "ex:PersonShape sh:property [ sh:path ex:name ]"
    assert v.constraint == "sh:MinCountConstraintComponent"
    assert v.severity == "Violation"
    assert v.message == "A person needs a name"
    assert v.messages == {"en": "A person needs a name", "sv": "En person behöver ett namn"}
    assert v.file is not None and v.file.endswith("invalid.ttl")
    warning = find(report, "ex:bob", "ex:email")
    assert (warning.severity, warning.value) == ("Warning", '"bob.example.org"')
    assert warning.shape == "ex:PersonEmailShape"
    assert report.counts_by_severity() == {"Violation": 7, "Warning": 2, "Info": 1}
    assert [Path(f).name for f in report.files] == ALL
    loaded = graph.load(Settings(), [FIXTURES / n for n in ALL])
    assert report.triples == len(set(loaded.dataset.triples((None, None, None))))
    assert not report.conforms and report.seconds > 0


def test_english_message_is_chosen_whatever_the_order(report: ValidationReport) -> None:
    v = find(report, "ex:grant2 ex:amount [ ]")
    assert v.message == "An amount needs a decimal value"
    assert set(v.messages) == {"en", "sv"}


def test_complex_path_and_value(report: ValidationReport) -> None:
    v = find(report, "ex:grant4")
    assert v.path == "ex:amount/ex:currency"
    assert v.value == '"USD"'
    assert v.shape == "ex:GrantShape sh:property [ sh:path ex:amount/ex:currency ]"


@pytest.mark.parametrize(
    ("focus", "path", "name", "start"),
    [
        ("ex:bob", "ex:name", "invalid.ttl", "ex:bob a ex:Person ;"),  # not the one in a string
        ("ex:fellowship3", None, "invalid.ttl", "ex:fellowship3"),
        ("ex:grant4", None, "invalid.ttl", "ex:grant4"),
        ("ex:dave", None, "named.trig", "ex:dave"),  # a triple in a named graph
        ("ex:erin", None, "named.trig", "ex:erin"),
        ("ex:frank", None, "warnings.ttl", "ex:frank"),
        ("ex:gina", None, "triples.nt", "<https://example.org/fx/gina>"),
    ],
)
def test_file_and_line_point_at_the_subject(
    report: ValidationReport, focus: str, path: str | None, name: str, start: str
) -> None:
    v = find(report, focus, path)
    assert v.file is not None and Path(v.file).name == name
    assert v.line == line_of(name, start)


def test_blank_node_focus_is_shown_from_nearest_iri(report: ValidationReport) -> None:
    v = find(report, "ex:grant2 ex:amount [ ]")
    assert isinstance(v.focus, BNode)
    assert v.file is not None and v.file.endswith("invalid.ttl")
    assert v.line == line_of("invalid.ttl", "<https://example.org/fx/grant2>")


def test_deeper_blank_node_takes_shortest_path(tmp_path: Path) -> None:
    data = tmp_path / "deep.ttl"
    data.write_text(
        "@prefix ex: <https://example.org/fx/> .\n\n"
        "ex:x ex:p [ ex:q [ a ex:Amount ] ] .\n"
        "[] ex:r [ ex:s [ ex:t [ a ex:Amount ] ] ] .\n",
        encoding="utf-8",
    )
    loaded = graph.load(Settings(), [data])
    report = validate(loaded, shapes=SHAPES, ontology=ONTOLOGY)
    shown = sorted(v.focus_display for v in report.violations)
    assert shown == ["[ ]", "ex:x ex:p [ ex:q [ ] ]"]
    deep = next(v for v in report.violations if v.focus_display.startswith("ex:x"))
    assert (deep.file, deep.line) == (str(data), 3)


def test_ontology_classes_are_used() -> None:
    with_ontology = run("invalid.ttl")
    without = run("invalid.ttl", ontology=[])
    assert any(v.focus_display == "ex:fellowship3" for v in with_ontology.violations)
    assert all(v.focus_display != "ex:fellowship3" for v in without.violations)


def test_conforming_data() -> None:
    report = run("conforming.ttl")
    assert report.conforms and report.violations == ()
    assert report.counts_by_severity() == {"Violation": 0, "Warning": 0, "Info": 0}


@pytest.mark.parametrize(
    ("names", "severity", "conforms"),
    [
        (["warnings.ttl"], "Violation", True),
        (["warnings.ttl"], "Warning", False),
        (["warnings.ttl"], "info", False),
        (["named.trig"], "Violation", False),
        (["conforming.ttl"], "Info", True),
    ],
)
def test_severity_threshold(names: list[str], severity: str, conforms: bool) -> None:
    report = run(*names, severity=severity)
    assert report.conforms is conforms, render(report, "text")
    assert report.threshold == severity.capitalize()
    assert report.fails(severity) is not conforms


def test_fails_helper() -> None:
    report = run("warnings.ttl")
    assert report.conforms
    assert (report.fails("Violation"), report.fails("Warning"), report.fails("Info")) == (
        False,
        True,
        True,
    )
    with pytest.raises(UsageError):
        report.fails("Fatal")
    with pytest.raises(UsageError):
        run("warnings.ttl", severity="Error")


def test_loaded_dataset_is_left_unchanged() -> None:
    loaded = graph.load(Settings(), [FIXTURES / n for n in ALL])
    before = set(loaded.dataset.quads((None, None, None, None)))
    validate(loaded, shapes=SHAPES, ontology=ONTOLOGY)
    assert set(loaded.dataset.quads((None, None, None, None))) == before


def test_sparql_constraints_see_named_graphs(report: ValidationReport) -> None:
    v = find(report, "ex:AllData")
    assert v.constraint == "sh:SPARQLConstraintComponent"
    assert (v.value, v.message) == ("ex:graphB", f"Named graph {EX}graphB is not reviewed")
    # the focus is written nowhere, so the result points where its value is
    assert v.file is not None and v.file.endswith("named.trig")
    assert v.line == line_of("named.trig", "GRAPH ex:graphB")


def test_union_graph_reads_all_quads_and_keeps_additions_to_itself() -> None:
    loaded = graph.load(Settings(), [FIXTURES / "named.trig", FIXTURES / "triples.nt"])
    quads = set(loaded.dataset.quads((None, None, None, None)))
    union = UnionGraph(loaded.dataset)
    distinct = {(s, p, o) for s, p, o, _ in quads}
    assert set(union) == distinct and len(union) == len(distinct)
    new = (URIRef(EX + "new"), RDF.type, URIRef(EX + "Person"))
    union.add(new)
    union.add(next(iter(distinct)))  # already in the dataset: not counted twice
    assert new in union and len(union) == len(distinct) + 1
    assert set(union.subjects(RDF.type, URIRef(EX + "Person"))) >= {URIRef(EX + "new")}
    assert set(loaded.dataset.quads((None, None, None, None))) == quads


def test_unreadable_shapes_raise_data_error_with_line(tmp_path: Path) -> None:
    shapes = tmp_path / "shapes.ttl"
    shapes.write_text("@prefix sh: <http://www.w3.org/ns/shacl#> .\n\nthis is not turtle\n")
    with pytest.raises(DataError) as caught:
        run("conforming.ttl", shapes=shapes)
    assert caught.value.path == str(shapes)
    assert caught.value.line == 3


# -- where subjects are written ----------------------------------------------------------------


def test_turtle_subjects_skip_graph_names_strings_and_nested_nodes() -> None:
    text = (
        "@base <https://example.org/base/> .\n"
        "PREFIX ex: <https://example.org/fx/>\n"
        "ex:g { <a> ex:p ex:b ; ex:q [ ex:r ex:c ] . }\n"
        "GRAPH ex:h {\n"
        '  ex:d ex:p \'x . ex:e ex:p ex:f\' , """y .\n'
        'ex:e ex:p ex:f .""" .\n'
        "  ex:local\\-name ex:p ( ex:i ex:j ) .\n"
        "}\n"
        "ex:b ex:p 1.5 .\n"
    )
    subjects, prefixes = turtle_subjects(text, "file:///tmp/x.trig")
    found = {iri.rsplit("/", 1)[1]: offset for iri, offset in subjects.items()}
    assert set(found) == {"a", "d", "local-name", "b"}
    assert "https://example.org/base/a" in subjects
    assert prefixes == {"ex": "https://example.org/fx/"}


def test_source_index_finds_rebased_iris_and_mentions(tmp_path: Path) -> None:
    data = tmp_path / "d.ttl"
    data.write_text(
        "@prefix ag: <https://w3id.org/aigraph/> .\nag:x ag:p ag:y .\nag:z ag:p ag:x .\n",
        encoding="utf-8",
    )
    index = SourceIndex([data], base="http://localhost:8000/")
    assert index.locate("http://localhost:8000/x") == (str(data), 2)
    assert index.locate("https://w3id.org/aigraph/y") == (str(data), 2)  # object only
    assert index.locate("https://w3id.org/aigraph/nowhere") is None


# -- report formats ------------------------------------------------------------------------------


def test_text_report(report: ValidationReport) -> None:
    text = render(report, "text")
    lines = text.splitlines()
    assert lines[0] == "7 violations, 2 warnings, 1 info in 4 files"
    bob = find(report, "ex:bob", "ex:name")
    assert f"{bob.file}:{bob.line}: Violation: A person needs a name" in lines
    assert "    focus: ex:grant2 ex:amount [ ]" in lines
    heads = [re.match(r"(\S+):(\d+): (Violation|Warning|Info): ", line) for line in lines]
    where = [(m.group(1), int(m.group(2))) for m in heads if m]
    assert len(where) == len(report.violations) and where == sorted(where)
    assert render(run("conforming.ttl"), "text").splitlines()[0] == "Conforms"
    assert render(run("warnings.ttl"), "text").splitlines()[0] == (
        "Conforms (0 violations, 1 warning in 1 file)"
    )


def test_turtle_report_is_a_shacl_report(report: ValidationReport) -> None:
    parsed = Graph().parse(data=render(report, "turtle"), format="turtle")
    node = parsed.value(None, RDF.type, SH.ValidationReport)
    assert node is not None
    assert parsed.value(node, SH.conforms) == Literal(False)
    assert len(list(parsed.objects(node, SH.result))) == len(report.violations)


def test_turtle_conforms_follows_the_threshold() -> None:
    for severity, conforms in (("Violation", True), ("Warning", False)):
        text = render(run("warnings.ttl", severity=severity), "turtle")
        parsed = Graph().parse(data=text, format="turtle")
        node = parsed.value(None, RDF.type, SH.ValidationReport)
        assert parsed.value(node, SH.conforms) == Literal(conforms)


def test_json_report(report: ValidationReport) -> None:
    body = json.loads(render(report, "json"))
    assert list(body)[:2] == ["conforms", "threshold"] and body["conforms"] is False
    assert body["counts"] == report.counts_by_severity()
    assert len(body["results"]) == len(report.violations)
    first = body["results"][0]
    assert list(first) == [
        "file",
        "line",
        "focus",
        "focusDisplay",
        "path",
        "value",
        "shape",
        "constraint",
        "severity",
        "message",
        "lang",
        "messages",
    ]
    assert "seconds" not in body  # no timings: the same input gives the same bytes
    v = report.violations[0]
    assert (first["file"], first["line"], first["focusDisplay"], first["message"]) == (
        v.file,
        v.line,
        v.focus_display,
        v.message,
    )
    blank = next(r for r in body["results"] if r["focusDisplay"] == "ex:grant2 ex:amount [ ]")
    assert blank["focus"].startswith("_:")
    assert blank["messages"]["sv"] == "Ett belopp behöver ett värde"
    assert (blank["lang"], body["lang"]) == ("en", "en")


def test_swedish_messages_on_request() -> None:
    report = run(*ALL, lang="sv")
    v = find(report, "ex:bob", "ex:name")
    assert (v.message, v.message_lang) == ("En person behöver ett namn", "sv")
    graph_b = find(report, "ex:AllData")  # a SPARQL constraint's message, {?value} filled in
    assert graph_b.message_lang == "sv" and graph_b.message.startswith("Den namngivna grafen")
    with pytest.raises(UsageError):
        run("conforming.ttl", lang="de")


def test_sparql_messages_keep_their_language_tags(report: ValidationReport) -> None:
    v = find(report, "ex:AllData")
    assert v.messages == {
        "en": f"Named graph {EX}graphB is not reviewed",
        "sv": f"Den namngivna grafen {EX}graphB är inte granskad",
    }
    parsed = Graph().parse(data=render(report, "turtle"), format="turtle")
    result = parsed.value(None, SH.value, URIRef(EX + "graphB"))
    messages = set(parsed.objects(result, SH.resultMessage))
    assert messages == {Literal(text, lang=lang) for lang, text in v.messages.items()}


def test_junit_report(report: ValidationReport) -> None:
    root = ET.fromstring(render(report, "junit"))
    suite = root.find("testsuite")
    assert suite is not None and suite.get("name") == "aigraph validate"
    failing = {(v.file, v.shape) for v in report.violations if v.severity == "Violation"}
    failures = suite.findall("testcase/failure")
    assert int(suite.get("failures", "-1")) == len(failures) == len(failing) == 7
    cases = suite.findall("testcase")
    assert int(suite.get("tests", "-1")) == len(cases)
    assert {c.get("classname") for c in cases} == set(report.files)
    bob = find(report, "ex:bob", "ex:name")
    assert any(f"line {bob.line}:" in (f.text or "") for f in failures)
    assert "frank" in (suite.findtext("system-out") or "")  # a warning below the threshold


def test_junit_conforming_run_has_a_passing_case_per_file() -> None:
    report = run("conforming.ttl", "warnings.ttl")
    suite = ET.fromstring(render(report, "junit")).find("testsuite")
    assert suite is not None
    assert suite.get("failures") == "0" and suite.get("tests") == "2"
    assert [c.get("name") for c in suite.findall("testcase")] == ["conforms", "conforms"]


def test_junit_escapes_markup_and_control_characters() -> None:
    nasty = 'a < b & "c" ]]> \x01 \x1b[31m'
    v = Violation(
        URIRef(EX + "x"),
        "ex:x",
        None,
        None,
        "ex:S<>",
        "sh:X",
        "Violation",
        nasty,
        {"": nasty},
        "a&b.ttl",
        3,
    )
    report = ValidationReport(False, (v,), Graph(), ("a&b.ttl",), 1, 0.1)
    root = ET.fromstring(render(report, "junit"))
    failure = root.find("testsuite/testcase/failure")
    assert failure is not None and 'a < b & "c" ]]>' in failure.get("message", "")
    assert root.find("testsuite/testcase").get("classname") == "a&b.ttl"  # type: ignore[union-attr]


def test_unknown_format_is_a_usage_error(report: ValidationReport) -> None:
    with pytest.raises(UsageError):
        render(report, "html")
