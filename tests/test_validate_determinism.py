"""`aigraph validate` writes the same bytes on every run, in one language of the user's choice.

Python randomises string hashing per process (PYTHONHASHSEED), which changes the order of
sets and so the order in which rdflib and pySHACL hand back results. Each report format is
written by separate processes with different seeds and compared byte for byte.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from aigraph.cli import cli

ROOT = Path(__file__).resolve().parents[1]
INVALID = "tests/shapes/invalid"  # every invalid example at once: many results, blank nodes
FIXTURES = "tests/validation_fixtures"  # its own shapes; pySHACL's messages; warnings
FORMATS = ("text", "json", "junit", "turtle")


def validate(args: list[str], seed: int, **env: str) -> subprocess.CompletedProcess[bytes]:
    """Run ``aigraph validate`` in a process of its own with hash seed ``seed``."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("AIGRAPH_")}
    environ.update(PYTHONHASHSEED=str(seed), **env)
    return subprocess.run(
        [sys.executable, "-m", "aigraph", "validate", *args],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        timeout=300,
        check=False,
    )


def outputs(args: list[str], seeds: tuple[int, ...]) -> dict[tuple[str, int], bytes]:
    jobs = [(fmt, seed) for fmt in FORMATS for seed in seeds]
    with ThreadPoolExecutor(max_workers=2) as pool:
        done = pool.map(lambda job: validate([*args, "--format", job[0]], job[1]), jobs)
        runs = dict(zip(jobs, done, strict=True))
    for (fmt, seed), run in runs.items():
        assert run.returncode in (0, 1), f"{fmt} seed {seed}: {run.stderr.decode()}"
    return {job: run.stdout for job, run in runs.items()}


@pytest.mark.parametrize(
    ("args", "seeds", "status"),
    [([INVALID], (1, 2, 3), 1), ([FIXTURES], (1, 2), 1), ([], (1, 2), 0)],
    ids=["invalid-examples", "own-shapes-blank-nodes-warnings", "bundled-data"],
)
def test_reports_are_byte_identical_across_hash_seeds(
    args: list[str], seeds: tuple[int, ...], status: int
) -> None:
    found = outputs(args, seeds)
    for fmt in FORMATS:
        first = found[(fmt, seeds[0])]
        assert first.strip(), f"empty {fmt} report"
        for seed in seeds[1:]:
            assert found[(fmt, seed)] == first, (
                f"{fmt} report differs between seeds {seeds[0]} and {seed}:\n"
                f"{first.decode()}\n---\n{found[(fmt, seed)].decode()}"
            )
    body = json.loads(found[("json", seeds[0])])
    assert body["conforms"] is (status == 0)
    if args == [INVALID]:
        assert len(body["results"]) > 5 and body["lang"] == "en"
        # English throughout; the Swedish text stays in `messages` under its tag.
        assert all(r["lang"] == "en" for r in body["results"])
        assert all(set(r["messages"]) == {"en", "sv"} for r in body["results"]), body
        assert all(r["message"] == r["messages"]["en"] for r in body["results"])
        text = found[("text", seeds[0])].decode()
        assert "saknar" not in text and "needs" in text


def sorted_by_file_line_focus_path_constraint(results: list[dict[str, object]]) -> bool:
    keys = [
        (r["file"], r["line"], r["focusDisplay"], r["path"] or "", r["constraint"]) for r in results
    ]
    return keys == sorted(keys)  # type: ignore[type-var]


def test_results_are_sorted_by_file_line_focus_path_constraint(runner) -> None:
    result = runner.invoke(cli, ["validate", INVALID, "--format", "json"])
    body = json.loads(result.output)
    assert len(body["results"]) > 5
    assert sorted_by_file_line_focus_path_constraint(body["results"]), result.output


def test_lang_sv_gives_swedish_messages(runner) -> None:
    body = json.loads(
        runner.invoke(cli, ["validate", INVALID, "--lang", "sv", "--format", "json"]).output
    )
    assert body["lang"] == "sv" and len(body["results"]) > 5
    assert all(r["lang"] == "sv" and r["message"] == r["messages"]["sv"] for r in body["results"])
    result = runner.invoke(cli, ["validate", INVALID, "--lang", "sv"])
    assert result.exit_code == 1, result.output
    shown = [
        line.split(": Violation: ", 1)[1]
        for line in result.output.splitlines()
        if ": Violation: " in line
    ]
    assert sorted(shown) == sorted(r["messages"]["sv"] for r in body["results"])
    assert "Anslaget saknar valuta" in result.output
    assert not any(r["messages"]["en"] in result.output for r in body["results"])


def test_lang_comes_from_the_environment(runner) -> None:
    result = runner.invoke(cli, ["validate", INVALID], env={"AIGRAPH_LANG": "sv"})
    assert result.exit_code == 1 and "Anslaget saknar" in result.output, result.output
    explicit = runner.invoke(cli, ["validate", INVALID, "--lang", "en"], env={"AIGRAPH_LANG": "sv"})
    assert "Grant needs" in explicit.output and "saknar" not in explicit.output
    wrong = runner.invoke(cli, ["validate", INVALID], env={"AIGRAPH_LANG": "de"})
    assert wrong.exit_code == 2 and "unknown message language" in wrong.output
    bad = runner.invoke(cli, ["validate", "--lang", "de"])
    assert bad.exit_code == 2


def test_validate_honours_aigraph_settings(runner) -> None:
    """Without paths, `validate` checks AIGRAPH_DATA, as `serve` would serve it."""
    invalid = str(ROOT / INVALID / "grant-no-funder.trig")
    result = runner.invoke(cli, ["validate"], env={"AIGRAPH_DATA": invalid})
    assert result.exit_code == 1 and "Grant needs a funder" in result.output, result.output
    assert "grant-no-funder.trig" in result.output
