"""``aigraph diff``: real edits of the repository's data, in folders and in git revisions."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from rdflib import Dataset

from aigraph.cli import cli

pytestmark = pytest.mark.filterwarnings(
    "ignore:.*(ConjunctiveGraph|default_context).*:DeprecationWarning"
)

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
GRANT = "https://w3id.org/aigraph/graph/grant"
AMOUNT_OLD = '"100000000"^^xsd:decimal'
AMOUNT_NEW = '"150000000"^^xsd:decimal'
NEW_NODE = """
graph:nodes {
    node:umea a aig:RegionalNode ;
        rdfs:label "Umeå"@sv, "Umeå"@en .
}
"""


def git(repo: Path, *args: str) -> str:
    command = ["git", "-c", "user.name=Test", "-c", "user.email=test@example.org", *args]
    return subprocess.run(command, cwd=repo, check=True, capture_output=True, text=True).stdout


def copy_data(folder: Path) -> Path:
    shutil.copytree(DATA, folder / "data")
    return folder / "data"


def edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text("utf-8")
    assert text.count(old) >= count, old
    path.write_text(text.replace(old, new), "utf-8")


@pytest.fixture()
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Two copies of the data, old/ and new/, with the working folder at tmp_path."""
    for side in ("old", "new"):
        (tmp_path / side).mkdir()
        copy_data(tmp_path / side)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(runner, *args: str) -> tuple[int, str]:
    result = runner.invoke(cli, ["diff", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


def test_same_data_is_equal(runner, scratch: Path) -> None:
    code, out = run(runner, "old/data", "new/data")
    assert code == 0, out
    assert out.startswith("aigraph diff: no change")


def test_changed_amount(runner, scratch: Path) -> None:
    edit(scratch / "new/data/announcement.trig", AMOUNT_OLD, AMOUNT_NEW)
    code, out = run(runner, "old/data", "new/data")
    assert code == 1, out
    assert "graph graph:grant (The grant)" in out
    assert f"schema:value {AMOUNT_OLD}" in out and f"schema:value {AMOUNT_NEW}" in out
    removed = [line for line in out.splitlines() if line.startswith("  - ")]
    added = [line for line in out.splitlines() if line.startswith("  + ")]
    # The amount's blank node changed in place: only its value shows, as a path from the grant.
    grant = "grant:vinnova-ai-innovation-of-sweden-2020-2024 (Vinnova's funding of AI Innovation"
    assert len(removed) == len(added) == 1, out
    assert removed[0].startswith(f"  - {grant}") and removed[0].endswith(
        f"schema:amount [ schema:value {AMOUNT_OLD} ]"
    )
    assert added[0].endswith(f"schema:amount [ schema:value {AMOUNT_NEW} ]")
    # The source sentence of the grant's graph, from data/provenance.trig.
    assert "  source: Genom den nya satsningen från Vinnova finansieringen tillförs nu" in out
    # The label of the grant in the chosen language.
    assert "(Vinnova's funding of AI Innovation of Sweden 2020–2024)" in out
    code, sv = run(runner, "old/data", "new/data", "--lang", "sv")
    assert "(Vinnovas finansiering av AI Innovation of Sweden 2020–2024)" in sv


def test_added_node_json(runner, scratch: Path) -> None:
    path = scratch / "new/data/announcement.trig"
    path.write_text(path.read_text("utf-8") + NEW_NODE, "utf-8")
    code, out = run(runner, "old/data", "new/data", "--format", "json")
    assert code == 1, out
    body = json.loads(out)
    assert (body["equal"], body["added"], body["removed"]) == (False, 3, 0)
    (change,) = body["graphs"]
    assert change["iri"] == "https://w3id.org/aigraph/graph/nodes"
    assert change["sources"], change  # the graph's source sentences
    subjects = {s["s"] for s in change["added"]}
    assert subjects == {"node:umea"}
    assert any("(Umeå)" in s["text"] for s in change["added"])


def test_renamed_graph(runner, scratch: Path) -> None:
    for name in ("announcement.trig", "provenance.trig"):
        edit(scratch / "new/data" / name, "graph:article ", "graph:the-article ")
    code, out = run(runner, "old/data", "new/data", "--format", "json")
    assert code == 1, out
    graphs = {g["iri"]: g for g in json.loads(out)["graphs"]}
    renamed = graphs["https://w3id.org/aigraph/graph/the-article"]
    assert renamed["renamedFrom"] == "https://w3id.org/aigraph/graph/article"
    assert renamed["removed"] == [] and len(renamed["added"]) >= 5
    assert "https://w3id.org/aigraph/graph/article" not in graphs  # shown once, as the rename
    provenance = graphs["https://w3id.org/aigraph/graph/provenance"]
    assert any(s["s"] == "graph:the-article" for s in provenance["added"])
    assert any(s["s"] == "graph:article" for s in provenance["removed"])


def test_reserialised_trig_with_other_blank_nodes_is_no_change(runner, scratch: Path) -> None:
    path = scratch / "new/data/announcement.trig"
    dataset = Dataset()
    dataset.parse(path, format="trig")
    text = dataset.serialize(format="trig")
    assert text != path.read_text("utf-8")
    path.write_text(text, "utf-8")
    # Reordered too: provenance as N-Quads, lines reversed, with blank-node labels of their own.
    provenance = Dataset()
    provenance.parse(scratch / "new/data/provenance.trig", format="trig")
    lines = provenance.serialize(format="nquads").splitlines()
    (scratch / "new/data/provenance.trig").unlink()
    (scratch / "new/data/provenance.nq").write_text("\n".join(reversed(lines)) + "\n", "utf-8")
    code, out = run(runner, "old/data", "new/data")
    assert code == 0, out


def test_git_revisions_without_checkout(runner, tmp_path: Path, monkeypatch) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    copy_data(repo)
    git(repo, "add", "data")
    git(repo, "commit", "-q", "-m", "data")
    edit(repo / "data/announcement.trig", AMOUNT_OLD, AMOUNT_NEW)
    git(repo, "commit", "-q", "-am", "more money")
    edit(repo / "data/announcement.trig", AMOUNT_NEW, '"1"^^xsd:decimal')  # uncommitted
    monkeypatch.chdir(repo)
    code, out = run(runner, "HEAD~1", "HEAD")
    assert code == 1, out
    assert AMOUNT_OLD in out and AMOUNT_NEW in out and '"1"^^' not in out
    assert run(runner, "HEAD", "HEAD")[0] == 0
    code, out = run(runner, "HEAD:data/announcement.trig", "data/announcement.trig")
    assert code == 1 and AMOUNT_NEW in out and '"1"^^xsd:decimal' in out, out
    # Nothing was checked out: the working tree keeps its uncommitted edit.
    assert '"1"^^xsd:decimal' in (repo / "data/announcement.trig").read_text("utf-8")
    assert git(repo, "status", "--porcelain") == " M data/announcement.trig\n"
    # From a subfolder, a revision's paths are read relative to it (as git does).
    monkeypatch.chdir(repo / "data")
    assert run(runner, "HEAD~1", "HEAD", "--path", "announcement.trig")[0] == 1


def test_markdown_diff(runner, scratch: Path) -> None:
    edit(scratch / "new/data/announcement.trig", AMOUNT_OLD, AMOUNT_NEW)
    code, out = run(runner, "old/data", "new/data", "--format", "markdown")
    assert code == 1
    assert out.startswith("### aigraph diff: 1 statement(s) added, 1 removed in 1 named graph(s)")
    assert "| graph:grant (The grant) | 1 | 1 |" in out
    assert "> Genom den nya satsningen" in out
    assert "```diff\n- grant:vinnova-ai-innovation-of-sweden-2020-2024" in out
    assert f"schema:amount [ schema:value {AMOUNT_NEW} ]\n```" in out


def test_markdown_fence_outlasts_backticks_in_literals(runner, scratch: Path) -> None:
    edit(scratch / "new/data/announcement.trig", '"Vinnova"@sv', '"Vinn```ova"@sv')
    code, out = run(runner, "old/data", "new/data", "--format", "markdown")
    assert code == 1
    assert "````diff" in out, out


@pytest.mark.parametrize(
    "args",
    [
        ("old/data", "no-such-thing"),
        ("old/data", "new/data", "--format", "yaml"),
        ("old/data", "--", "--remote=ext::sh -c touch% /tmp/aigraph-pwned"),
    ],
)
def test_usage_errors_exit_2(runner, scratch: Path, args: tuple[str, ...]) -> None:
    code, out = run(runner, *args)
    assert code == 2, out
    assert "Traceback" not in out


def test_parse_error_names_file_and_line(runner, scratch: Path) -> None:
    (scratch / "new/data/broken.ttl").write_text(
        "@prefix ex: <https://example.org/> .\nex:a ex:b", "utf-8"
    )
    code, out = run(runner, "old/data", "new/data")
    assert code == 2, out
    assert "broken.ttl" in out and "Traceback" not in out
    # Outside a git repository, a revision is an error of its own kind, not a crash.
    code, out = run(runner, "HEAD~1", "HEAD")
    assert code == 2 and "neither a file, a folder nor a git revision" in out, out


def test_errors_in_a_revision_name_it_not_a_temporary_folder(runner, tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    (repo / "data").mkdir(parents=True)
    git(repo, "init", "-q")
    (repo / "data/a.ttl").write_text('<urn:x:a> <urn:x:p> "x" .\n', "utf-8")
    git(repo, "add", "data")
    git(repo, "commit", "-q", "-m", "good")
    (repo / "data/a.ttl").write_text('<urn:x:a> <urn:x:p> "x .\n', "utf-8")
    git(repo, "commit", "-q", "-am", "broken")
    (repo / "data/a.ttl").write_text('<urn:x:a> <urn:x:p> "x" .\n', "utf-8")
    (repo / "data/link.ttl").symlink_to("/etc/passwd")
    git(repo, "add", "data")
    git(repo, "commit", "-q", "-m", "a link out")
    monkeypatch.chdir(repo)
    for args, says in [
        (("HEAD~2", "HEAD~1"), "error: HEAD~1:data/a.ttl:1: bad syntax: newline found in string"),
        (("HEAD~2", "HEAD~1:data/a.ttl"), "error: HEAD~1:data/a.ttl:1: bad syntax:"),
        (("HEAD~2", "HEAD"), "error: HEAD:data/link.ttl: a link to '/etc/passwd', which points"),
    ]:
        code, out = run(runner, *args)
        assert code == 2 and says in out, (args, out)
        assert "aigraph-diff-" not in out and "<input>" not in out and "/tmp" not in out, out
