"""What `aigraph validate` may be given: data, ontology and shapes files side by side, and the
dataset as a whole from the pre-commit hooks, whichever of its files changed."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from aigraph import graph
from aigraph.cli import cli
from aigraph.settings import Settings
from aigraph.validation.validate import sort_inputs

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "validation_fixtures"


def test_data_and_ontology_folders_conform(runner) -> None:
    """The shapes file among the paths is used as the shapes, not validated as data."""
    shapes = ROOT / "shapes" / "shapes.ttl"
    result = runner.invoke(
        cli,
        ["validate", str(ROOT / "data"), str(ROOT / "ontology"), str(shapes), "--format", "json"],
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["conforms"] is True and body["results"] == []
    assert [Path(p).name for p in body["shapes"]] == ["shapes.ttl"]
    assert "shapes.ttl" not in {Path(p).name for p in body["files"]}
    assert {"aigraph.ttl", "announcement.trig", "provenance.trig"} <= {
        Path(p).name for p in body["files"]
    }


def test_files_are_taken_for_what_they_declare() -> None:
    loaded = graph.load(
        Settings(), [ROOT / "data", ROOT / "ontology", ROOT / "shapes" / "shapes.ttl"]
    )
    inputs = sort_inputs(loaded)
    assert [p.name for p in inputs.shapes] == ["shapes.ttl"]
    assert [p.name for p in inputs.ontology] == ["aigraph.ttl"]
    assert "shapes.ttl" not in {p.name for p in inputs.data.files}
    shapes_graph = graph.graph_iri_for(ROOT / "shapes" / "shapes.ttl")
    assert len(inputs.data.dataset.graph(shapes_graph)) == 0  # its triples are not data
    declarations = inputs.declarations()
    assert declarations is not None and {p.name for p in declarations} == {
        "aigraph.ttl",
        "vocabularies.ttl",
    }


def test_own_shapes_file_among_the_paths_is_used(runner) -> None:
    """A shapes file given with the data replaces the bundled shapes."""
    result = runner.invoke(
        cli,
        [
            "validate",
            str(FIXTURES / "shapes.ttl"),
            str(FIXTURES / "invalid.ttl"),
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 1, result.output
    body = json.loads(result.output)
    assert [Path(p).name for p in body["shapes"]] == ["shapes.ttl"]
    assert [Path(p).name for p in body["files"]] == ["invalid.ttl"]
    assert "A person needs a name" in {r["message"] for r in body["results"]}


def test_shapes_without_data_is_a_usage_error(runner) -> None:
    result = runner.invoke(cli, ["validate", str(ROOT / "shapes" / "shapes.ttl")])
    assert result.exit_code == 2, result.output
    assert "nothing to validate" in result.output and "shapes.ttl" in result.output


def test_one_data_file_alone_is_not_the_dataset(runner) -> None:
    """Why the hooks validate the whole dataset: a fact's provenance is in another file."""
    result = runner.invoke(cli, ["validate", str(ROOT / "data" / "announcement.trig")])
    assert result.exit_code == 1 and "has no provenance" in result.output, result.output


# -- the pre-commit hooks -----------------------------------------------------------------------


def hook(config: Path, hook_id: str = "aigraph-validate") -> dict[str, object]:
    found = yaml.safe_load(config.read_text(encoding="utf-8"))
    hooks = (
        found if isinstance(found, list) else [h for repo in found["repos"] for h in repo["hooks"]]
    )
    return next(h for h in hooks if h["id"] == hook_id)


def run_hook(
    definition: dict[str, object], changed: list[str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    """Run ``definition`` as pre-commit would for the staged files ``changed``."""
    pattern = re.compile(str(definition["files"]))
    assert any(pattern.search(name) for name in changed), "the hook would not run"
    entry = shlex.split(str(definition["entry"]))
    assert entry[0].endswith("aigraph") and entry[1] == "validate", entry
    args = [str(a) for a in definition.get("args", [])]  # type: ignore[attr-defined]
    files = changed if definition.get("pass_filenames", True) else []
    command = [sys.executable, "-m", "aigraph", *entry[1:], *args, *files]
    environ = {k: v for k, v in os.environ.items() if not k.startswith("AIGRAPH_")}
    return subprocess.run(
        command, cwd=cwd, env=environ, capture_output=True, text=True, timeout=300, check=False
    )


def test_shipped_hook_validates_the_dataset_when_one_file_changes() -> None:
    definition = hook(ROOT / ".pre-commit-hooks.yaml")
    assert definition["pass_filenames"] is False
    done = run_hook(definition, ["data/announcement.trig"], ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("Conforms"), done.stdout


def test_repository_hook_validates_the_dataset_when_one_file_changes() -> None:
    definition = hook(ROOT / ".pre-commit-config.yaml")
    assert definition["pass_filenames"] is False
    done = run_hook(definition, ["data/provenance.trig"], ROOT)
    assert done.returncode == 0, done.stdout + done.stderr


def test_shipped_hook_reports_an_invalid_edit_with_file_and_line(tmp_path: Path) -> None:
    for folder in ("data", "ontology"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    changed = tmp_path / "data" / "announcement.trig"
    text = changed.read_text(encoding="utf-8")
    edited = text.replace('schema:value "100000000"^^xsd:decimal', 'schema:value "-5"^^xsd:decimal')
    assert edited != text
    changed.write_text(edited, encoding="utf-8")
    grant = next(
        number
        for number, line in enumerate(edited.splitlines(), 1)
        if line.strip() == "grant:vinnova-ai-innovation-of-sweden-2020-2024"
    )
    done = run_hook(hook(ROOT / ".pre-commit-hooks.yaml"), ["data/announcement.trig"], tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.startswith("1 violation,"), done.stdout
    assert (
        f"data/announcement.trig:{grant}: Violation: Grant amount must be a positive number"
        in done.stdout
    ), done.stdout


def test_a_folder_with_nothing_to_validate_fails(runner, tmp_path) -> None:
    """A mistyped path in CI exits 2; it never checks 0 files against the bundled shapes."""
    empty = tmp_path / "empty"
    (empty / "notes").mkdir(parents=True)
    (empty / "notes" / "readme.txt").write_text("no RDF here", encoding="utf-8")
    result = runner.invoke(cli, ["validate", str(empty)])
    assert result.exit_code == 2, result.output
    assert "no RDF files here" in result.stderr and "aigraph init" in result.stderr
    assert "Conforms" not in result.stdout and "shapes.ttl" not in result.output
    bare = tmp_path / "bare"
    (bare / "data").mkdir(parents=True)
    shutil.copytree(ROOT / "shapes", bare / "shapes")
    for args in (["validate", str(bare)], ["validate", "--project", str(bare)]):
        result = runner.invoke(cli, args)
        assert result.exit_code == 2, result.output
        assert f"project {bare} has no RDF files in data/" in result.stderr
        assert "Conforms" not in result.stdout
