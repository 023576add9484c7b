"""The reports for CI and reviewers: SARIF 2.1.0, GitHub workflow commands and Markdown.

SARIF is checked against the official OASIS schema (tests/reference/sarif/, see SOURCE.md).
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import jsonschema
import pytest

from aigraph import graph
from aigraph.cli import cli
from aigraph.settings import Settings
from aigraph.validation.report import escape_data, escape_property, md, render
from aigraph.validation.validate import ValidationReport, Violation, validate

pytestmark = pytest.mark.filterwarnings(
    "ignore:.*(ConjunctiveGraph|default_context).*:DeprecationWarning"
)

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "tests/reference/sarif/sarif-schema-2.1.0.json").read_text("utf-8"))
FIXTURES = Path("tests/validation_fixtures")  # relative: reports name files as given
INVALID = Path("tests/shapes/invalid")


@pytest.fixture(autouse=True)
def _in_repository(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def run(*names: str, lang: str = "en") -> ValidationReport:
    loaded = graph.load(Settings(), [FIXTURES / n for n in names])
    return validate(
        loaded,
        shapes=FIXTURES / "shapes.ttl",
        ontology=[FIXTURES / "ontology.ttl"],
        lang=lang,
    )


def sarif_errors(text: str) -> list[str]:
    validator = jsonschema.validators.validator_for(SCHEMA)(SCHEMA)
    return [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(json.loads(text))]


def test_schema_rejects_a_broken_log() -> None:
    """The vendored schema is real: a result without a message is not SARIF."""
    broken = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [{}]}]}
    assert sarif_errors(json.dumps(broken))


def test_sarif_is_valid_and_complete() -> None:
    report = run("invalid.ttl", "warnings.ttl", "named.trig")
    text = render(report, "sarif")
    assert sarif_errors(text) == []
    log = json.loads(text)
    assert log["version"] == "2.1.0"
    run_ = log["runs"][0]
    rules = run_["tool"]["driver"]["rules"]
    ids = [rule["id"] for rule in rules]
    assert len(ids) == len(set(ids))
    results = run_["results"]
    assert len(results) == len(report.violations)
    levels = {r["level"] for r in results}
    assert levels == {"error", "warning", "note"}
    for result, v in zip(results, report.violations, strict=True):
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert v.constraint in result["ruleId"]
        assert result["message"]["text"] == v.message
        if v.file is not None:
            region = result["locations"][0]["physicalLocation"]["region"]
            uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            assert (uri, region["startLine"]) == (v.file, v.line)
            assert region["startColumn"] >= 1


def test_sarif_column_points_at_the_focus_node() -> None:
    report = run("invalid.ttl")
    results = json.loads(render(report, "sarif"))["runs"][0]["results"]
    checked = 0
    for result in results:
        focus = result["properties"]["focus"]
        if " " in focus or focus.startswith("["):  # a blank node, shown as a path
            continue
        location = result["locations"][0]["physicalLocation"]
        lines = Path(location["artifactLocation"]["uri"]).read_text("utf-8").splitlines()
        line = lines[location["region"]["startLine"] - 1]
        at = line[location["region"]["startColumn"] - 1 :]
        # ``<https://example.org/fx/grant2>`` is written in full, the others as ex:name.
        spelled = focus if focus.startswith("<") else "ex:" + focus.split(":")[-1]
        assert at.startswith(spelled), (line, result)
        checked += 1
    assert checked >= 3


def test_sarif_rule_per_shape_and_constraint() -> None:
    report = run("invalid.ttl", "warnings.ttl")
    rules = json.loads(render(report, "sarif"))["runs"][0]["tool"]["driver"]["rules"]
    ids = {rule["id"] for rule in rules}
    assert "ex:PersonShape[ex:name]/sh:MinCountConstraintComponent" in ids
    assert "ex:PersonEmailShape/sh:PatternConstraintComponent" in ids


def test_sarif_message_in_the_chosen_language(runner) -> None:
    args = ["validate", "--shapes", str(FIXTURES / "shapes.ttl"), str(FIXTURES / "invalid.ttl")]
    result = runner.invoke(cli, [*args, "--format", "sarif", "--lang", "sv"])
    assert result.exit_code == 1, result.output
    assert sarif_errors(result.stdout) == []
    run_ = json.loads(result.stdout)["runs"][0]
    assert run_["language"] == "sv"
    name = next(
        r
        for r in run_["results"]
        if r["ruleId"].endswith("[ex:name]/sh:MinCountConstraintComponent")
    )
    assert name["message"]["text"] == "En person behöver ett namn"
    assert name["properties"]["messages"]["en"] == "A person needs a name"
    where = name["locations"][0]["physicalLocation"]
    assert where["artifactLocation"]["uri"] == "tests/validation_fixtures/invalid.ttl"
    english = runner.invoke(cli, [*args, "--format", "sarif"])
    texts = {r["message"]["text"] for r in json.loads(english.stdout)["runs"][0]["results"]}
    assert "A person needs a name" in texts and "En person behöver ett namn" not in texts


def test_sarif_of_conforming_data_has_no_results(runner) -> None:
    result = runner.invoke(cli, ["validate", "--format", "sarif"])
    assert result.exit_code == 0, result.output
    assert sarif_errors(result.stdout) == []
    assert json.loads(result.stdout)["runs"][0]["results"] == []


COMMAND = re.compile(r"^::(error|warning|notice) ([^:]*)::(.*)$")


def test_github_annotations_per_severity() -> None:
    report = run("invalid.ttl", "warnings.ttl", "named.trig")
    lines = render(report, "github").splitlines()
    commands = [COMMAND.match(line) for line in lines[:-1]]
    assert all(commands), lines
    assert {m.group(1) for m in commands if m} == {"error", "warning", "notice"}
    assert lines[-1].startswith("aigraph validate: ")
    bob = next(
        m for m in commands if m and "ex%3APersonEmailShape" in m.group(2) and "bob" in m.group(3)
    )
    props = dict(item.split("=", 1) for item in bob.group(2).split(","))
    assert props["file"] == "tests/validation_fixtures/invalid.ttl"
    assert props["line"] == "8"
    assert props["col"] == "1"
    assert props["title"] == "Warning%3A ex%3APersonEmailShape/sh%3APatternConstraintComponent"
    assert bob.group(1) == "warning"
    assert bob.group(3).startswith("An e-mail address has an @%0Afocus: ex:bob")


def test_github_escapes_per_the_runner_rules() -> None:
    assert escape_data("50% a\r\nb") == "50%25 a%0D%0Ab"
    assert escape_property("a,b:c%\n") == "a%2Cb%3Ac%25%0A"
    hostile = Violation(
        focus=None,
        focus_display="",
        path=None,
        value=None,
        shape="ex:S",
        constraint="sh:X",
        severity="Violation",
        message="line one\nline two, 100%::error::x",
        file="odd,name:1.ttl",
        line=3,
    )
    report = ValidationReport(False, (hostile,), results_graph=None)  # type: ignore[arg-type]
    first = render(report, "github").splitlines()[0]
    assert first == (
        "::error file=odd%2Cname%3A1.ttl,line=3,col=1,title=Violation%3A ex%3AS/sh%3AX"
        "::line one%0Aline two, 100%25::error::x"
    )


def test_markdown_summary_tables() -> None:
    report = run("invalid.ttl", "warnings.ttl")
    text = render(report, "markdown")
    assert text.startswith("### ❌ aigraph validate: ")
    counts = report.counts_by_severity()
    for severity, n in counts.items():
        assert f"| {severity} | {n} |" in text
    assert "| ex:PersonEmailShape/sh:PatternConstraintComponent | 0 | 2 | 0 |" in text
    assert "| ⚠️ Warning | tests/validation\\_fixtures/invalid.ttl:8 | ex:bob | ex:email |" in text
    rows = [line for line in text.splitlines() if line.startswith("| ❌") or "| ⚠️" in line]
    assert len(rows) == counts["Violation"] + counts["Warning"]


def test_markdown_escapes_pipes_backticks_and_html() -> None:
    assert md("a|b `c` <script>&") == "a\\|b &#96;c&#96; &lt;script&gt;&amp;"
    assert md("x\ny") == "x<br>y"
    assert md("*bold* _it_ [link](u)") == "\\*bold\\* \\_it\\_ \\[link\\](u)"
    hostile = Violation(
        focus=None,
        focus_display="<img src=x onerror=alert(1)>",
        path="ex:a|ex:b",
        value=None,
        shape="ex:S",
        constraint="sh:X",
        severity="Violation",
        message="```\n| broken | table |",
    )
    report = ValidationReport(False, (hostile,), results_graph=None)  # type: ignore[arg-type]
    text = render(report, "markdown")
    row = next(line for line in text.splitlines() if line.startswith("| ❌"))
    assert "<img" not in text and "```" not in text
    # Every cell separator of the row is the table's own: 6 unescaped pipes for 5 columns.
    assert len(re.findall(r"(?<!\\)\|", row)) == 6, row


def test_markdown_of_conforming_data(runner) -> None:
    result = runner.invoke(cli, ["validate", "--format", "markdown"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("### ✅ aigraph validate: Conforms")
    assert "| Violation | 0 |" in result.stdout


def test_gitlab_code_quality_report() -> None:
    report = run("invalid.ttl", "warnings.ttl", "named.trig")
    issues = json.loads(render(report, "codequality"))
    assert len(issues) == len(report.violations)
    severities = {v.severity: i["severity"] for v, i in zip(report.violations, issues, strict=True)}
    assert severities == {"Violation": "major", "Warning": "minor", "Info": "info"}
    fingerprints = [i["fingerprint"] for i in issues]
    assert len(set(fingerprints)) == len(fingerprints)
    bob = next(
        i for i in issues if i["check_name"] == "ex:PersonEmailShape/sh:PatternConstraintComponent"
    )
    assert bob["location"] == {
        "path": "tests/validation_fixtures/invalid.ttl",
        "lines": {"begin": 8},
    }
    assert bob["description"] == "An e-mail address has an @"
    # A fingerprint names the issue, not its line: moving it down keeps it.
    moved = ValidationReport(
        False,
        tuple(replace(v, line=(v.line or 0) + 3) for v in report.violations),
        results_graph=None,
    )  # type: ignore[arg-type]
    assert [i["fingerprint"] for i in json.loads(render(moved, "codequality"))] == fingerprints


def _project_with(folder: Path, name: str, body: bytes) -> Path:
    from click.testing import CliRunner

    result = CliRunner().invoke(
        cli,
        ["init", str(folder), "--title", "T", "--description", "D", "--publisher", "P",
         "--base", "https://data.example.se/x"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    (folder / "data" / name).write_bytes(body)
    return folder


def _no_command_lines(text: str, allowed: int = 0) -> None:
    """No line but the ``allowed`` first ones starts a workflow command."""
    commands = [line for line in text.splitlines() if line.lstrip().startswith("::")]
    assert len(commands) == allowed, text


def test_a_file_name_or_value_cannot_start_a_workflow_command(tmp_path):
    from click.testing import CliRunner

    name = "bad\n::error::NAME2.ttl"
    prefix = b"@prefix s: <http://schema.org/> .\n"
    unreadable = _project_with(tmp_path / "a", name, prefix + b'<urn:x:a> s:name "\xff" .\n')
    result = CliRunner().invoke(cli, ["validate", str(unreadable), "--format", "github"])
    assert result.exit_code == 2
    _no_command_lines(result.stderr)
    assert "bad\\n::error::NAME2.ttl:2: not valid UTF-8" in result.stderr
    _no_command_lines(result.stdout, allowed=1)  # the error itself, escaped
    [command] = result.stdout.splitlines()
    assert command.startswith("::error file=") and "bad%0A%3A%3Aerror%3A%3ANAME2.ttl" in command
    assert ",line=2," in command and command.endswith("::not valid UTF-8")
    # A file that loads, whose name and values hold line breaks, in every line-based report.
    nameless = prefix + b'<urn:x:b> a s:Organization ; s:alternateName """x\n::error::V""" .\n'
    bad = _project_with(tmp_path / "b", name, nameless)
    with (bad / "shapes" / "shapes.ttl").open("a", encoding="utf-8") as shapes:
        shapes.write("ex:Short a sh:NodeShape ; sh:targetClass schema:Organization ;\n"
                     "    sh:property [ sh:path schema:alternateName ; sh:maxLength 1 ] .\n")  # fmt: skip
    for fmt in ("text", "github", "markdown", "junit", "turtle"):
        result = CliRunner().invoke(cli, ["validate", str(bad), "--format", fmt])
        assert result.exit_code == 1, result.output
        _no_command_lines(result.stdout, allowed=2 if fmt == "github" else 0)  # 2 results
        _no_command_lines(result.stderr)
        assert fmt == "turtle" or "NAME2" in result.stdout  # the SHACL report names no files
        assert fmt == "markdown" or "::error::V" in result.stdout  # the table shows no values
