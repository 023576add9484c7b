"""The GitHub Action (action.yml) and the GitLab CI template run their scripts for real.

Each step's ``run:`` script (each job's ``script:`` lines) runs with bash in a scratch git
repository: the data committed, then a change that breaks a shape committed on top. The GitHub
files (``GITHUB_ENV``, ``GITHUB_OUTPUT``, ``GITHUB_STEP_SUMMARY``) are temporary files; aigraph
is this virtual environment's (the ``aigraph`` input), so nothing is installed or fetched.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
AIGRAPH = str(Path(sys.executable).with_name("aigraph"))
AMOUNT = '"100000000"^^xsd:decimal'


def git(repo: Path, *args: str) -> str:
    command = ["git", "-c", "user.name=Test", "-c", "user.email=test@example.org", *args]
    return subprocess.run(command, cwd=repo, check=True, capture_output=True, text=True).stdout


@pytest.fixture()
def repo(tmp_path: Path) -> tuple[Path, str]:
    """A repository whose last commit makes the grant's amount negative; returns (repo, base)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    shutil.copytree(ROOT / "data", repo / "data")
    (repo / "ontology").mkdir()
    shutil.copy(ROOT / "ontology/aigraph.ttl", repo / "ontology/aigraph.ttl")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "data")
    base = git(repo, "rev-parse", "HEAD").strip()
    trig = repo / "data/announcement.trig"
    trig.write_text(trig.read_text("utf-8").replace(AMOUNT, '"-5"^^xsd:decimal'), "utf-8")
    git(repo, "commit", "-q", "-am", "a negative amount")
    return repo, base


def line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text("utf-8").splitlines(), 1) if text in line)


# -- GitHub -------------------------------------------------------------------------------------


def read_github_file(path: Path) -> dict[str, str]:
    """Parse GITHUB_ENV / GITHUB_OUTPUT: ``k=v`` lines and ``k<<DELIMITER`` blocks."""
    found: dict[str, str] = {}
    lines = iter(path.read_text("utf-8").splitlines())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            key, delimiter = line.split("<<", 1)
            block = []
            for inner in lines:
                if inner == delimiter:
                    break
                block.append(inner)
            found[key] = "\n".join(block)
        elif "=" in line:
            key, value = line.split("=", 1)
            found[key] = value
    return found


def run_action(repo: Path, tmp: Path, **given: str) -> dict[str, object]:
    """Run action.yml's steps in order, as the runner does; return what they left behind."""
    action = yaml.safe_load((ROOT / "action.yml").read_text("utf-8"))
    inputs = {name: spec.get("default", "") for name, spec in action["inputs"].items()}
    inputs.update({"aigraph": AIGRAPH, **given})
    files = {name: tmp / name.lower() for name in ("GITHUB_ENV", "GITHUB_STEP_SUMMARY")}
    context = {f"inputs.{k}": v for k, v in inputs.items()}
    context["github.action_path"] = str(ROOT)
    env = {**os.environ, **{k: str(v) for k, v in files.items()}, "RUNNER_TEMP": str(tmp)}
    for path in files.values():
        path.write_text("", "utf-8")
    steps: dict[str, dict[str, object]] = {}
    for number, step in enumerate(action["runs"]["steps"]):
        output = tmp / f"output-{number}"
        output.write_text("", "utf-8")
        step_env = {
            key: re.sub(r"\$\{\{\s*([\w.\-]+)\s*\}\}", lambda m: context[m.group(1)], str(value))
            for key, value in step.get("env", {}).items()
        }
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
            cwd=repo,
            env={
                **env,
                **read_github_file(files["GITHUB_ENV"]),
                **step_env,
                "GITHUB_OUTPUT": str(output),
            },
            capture_output=True,
            text=True,
            timeout=300,
        )
        steps[step.get("id", str(number))] = {
            "code": done.returncode,
            "stdout": done.stdout,
            "stderr": done.stderr,
            "outputs": read_github_file(output),
        }
        if done.returncode != 0:
            break
    return {"steps": steps, "summary": files["GITHUB_STEP_SUMMARY"].read_text("utf-8")}


def test_action_annotates_summarises_and_diffs_a_pull_request(repo, tmp_path: Path) -> None:
    repo_path, base = repo
    sarif = tmp_path / "aigraph.sarif"
    result = run_action(repo_path, tmp_path, paths="data/ ontology/", base=base, sarif=str(sarif))
    steps = result["steps"]
    validate = steps["validate"]
    assert validate["code"] == 0, validate
    assert validate["outputs"] == {"conforms": "false", "sarif": str(sarif)}
    (finding,) = json.loads(sarif.read_text("utf-8"))["runs"][0]["results"]
    assert finding["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == (
        "data/announcement.trig"
    )
    line = line_of(
        repo_path / "data/announcement.trig", "grant:vinnova-ai-innovation-of-sweden-2020"
    )
    annotations = [s for s in validate["stdout"].splitlines() if s.startswith("::error ")]
    assert any(
        a.startswith(f"::error file=data/announcement.trig,line={line},col=") and "Grant" in a
        for a in annotations
    ), validate["stdout"]
    summary = result["summary"]
    assert "### ❌ aigraph validate: 1 violation" in summary
    assert "| ❌ Violation | data/announcement.trig:" in summary
    diff = steps["diff"]
    assert diff["code"] == 0, diff
    assert diff["outputs"]["changed"] == "true"
    assert 'schema:amount [ schema:value "-5"^^xsd:decimal ]' in diff["outputs"]["diff"]
    assert "### aigraph diff: " in summary and "graph:grant (The grant)" in summary
    final = steps["3"]
    assert final["code"] == 1 and "does not conform" in final["stdout"]


def test_action_on_a_push_of_conforming_data(repo, tmp_path: Path) -> None:
    repo_path, base = repo
    git(repo_path, "revert", "--no-edit", "HEAD")
    result = run_action(repo_path, tmp_path, paths="data/ ontology/", base="")
    steps = result["steps"]
    assert steps["validate"]["outputs"] == {"conforms": "true"}
    assert not [s for s in steps["validate"]["stdout"].splitlines() if s.startswith("::error")]
    assert steps["diff"]["outputs"] == {} and "no diff" in steps["diff"]["stdout"]
    assert steps["3"]["code"] == 0
    assert "### ✅ aigraph validate: Conforms" in result["summary"]


def test_action_stops_on_unreadable_data(repo, tmp_path: Path) -> None:
    repo_path, _ = repo
    (repo_path / "data/broken.ttl").write_text("<a> <b> .", "utf-8")
    result = run_action(repo_path, tmp_path, paths="data/")
    assert result["steps"]["validate"]["code"] == 2
    assert "data/broken.ttl" in result["steps"]["validate"]["stderr"]


# -- GitLab -------------------------------------------------------------------------------------


def run_job(repo: Path, name: str, **variables: str) -> subprocess.CompletedProcess[str]:
    template = yaml.safe_load((ROOT / "ci/aigraph.gitlab-ci.yml").read_text("utf-8"))
    job = template[name]
    lines = [*template[job["extends"]]["before_script"], *job["script"]]
    merged = {**template["variables"], **job.get("variables", {}), **variables}
    merged.update({"AIGRAPH_INSTALL": "", "AIGRAPH_COMMAND": AIGRAPH})
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", "\n".join(lines)],
        cwd=repo,
        env={**os.environ, **merged},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_gitlab_jobs_refuse_to_run_without_aigraph(repo) -> None:
    repo_path, _ = repo
    template = yaml.safe_load((ROOT / "ci/aigraph.gitlab-ci.yml").read_text("utf-8"))
    assert template["variables"]["AIGRAPH_INSTALL"] == ""  # nothing is taken from an index
    done = subprocess.run(
        ["bash", "-eo", "pipefail", "-c", "\n".join(template[".aigraph"]["before_script"])],
        cwd=repo_path,
        env={**os.environ, "AIGRAPH_INSTALL": "", "AIGRAPH_COMMAND": "no-such-aigraph"},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and "set AIGRAPH_INSTALL" in done.stderr


def test_gitlab_validate_job_writes_code_quality_junit_and_markdown(repo) -> None:
    repo_path, _ = repo
    done = run_job(repo_path, "aigraph-validate", AIGRAPH_PATHS="data/ ontology/")
    assert done.returncode == 1, done.stdout + done.stderr
    issues = json.loads((repo_path / "gl-code-quality-report.json").read_text("utf-8"))
    line = line_of(
        repo_path / "data/announcement.trig", "grant:vinnova-ai-innovation-of-sweden-2020"
    )
    assert [
        (i["location"]["path"], i["location"]["lines"]["begin"], i["severity"]) for i in issues
    ] == [("data/announcement.trig", line, "major")]
    assert "<failure" in (repo_path / "aigraph-junit.xml").read_text("utf-8")
    assert "### ❌ aigraph validate" in (repo_path / "aigraph-validate.md").read_text("utf-8")
    assert f"data/announcement.trig:{line}: Violation:" in done.stdout


def test_gitlab_diff_job_without_token_writes_the_artifact_only(repo) -> None:
    repo_path, base = repo
    done = run_job(
        repo_path, "aigraph-diff", CI_MERGE_REQUEST_DIFF_BASE_SHA=base, AIGRAPH_NOTE_TOKEN=""
    )
    assert done.returncode == 0, done.stdout + done.stderr
    markdown = (repo_path / "aigraph-diff.md").read_text("utf-8")
    assert markdown.startswith("### aigraph diff: 1 statement(s) added, 1 removed")
    assert '"-5"^^xsd:decimal' in markdown
    assert "posted the diff" not in done.stdout


class _GitLabApi(BaseHTTPRequestHandler):
    """A stand-in for GitLab's notes API on loopback: records each request, answers 201."""

    received: list[tuple[str, str, dict[str, str], bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append(
            (self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        )
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"id": 42}')

    def log_message(self, *args: object) -> None:
        pass


def test_gitlab_diff_job_with_token_posts_a_merge_request_note(repo) -> None:
    repo_path, base = repo
    _GitLabApi.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _GitLabApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        done = run_job(
            repo_path,
            "aigraph-diff",
            CI_MERGE_REQUEST_DIFF_BASE_SHA=base,
            AIGRAPH_NOTE_TOKEN="test-token",  # noqa: S106 - for the loopback stand-in
            CI_API_V4_URL=f"http://127.0.0.1:{server.server_port}/api/v4",
            CI_PROJECT_ID="7",
            CI_MERGE_REQUEST_IID="3",
            NO_PROXY="127.0.0.1",
            no_proxy="127.0.0.1",
        )
    finally:
        server.shutdown()
        thread.join()
        server.server_close()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "posted the diff as note 42" in done.stdout
    ((method, path, headers, body),) = _GitLabApi.received
    assert (method, path) == ("POST", "/api/v4/projects/7/merge_requests/3/notes")
    assert headers["private-token"] == "test-token"  # HTTP header names are case-blind
    note = json.loads(body)["body"]
    assert note == (repo_path / "aigraph-diff.md").read_text("utf-8")
    assert note.startswith("### aigraph diff: 1 statement(s) added, 1 removed")
