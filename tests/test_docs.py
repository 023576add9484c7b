"""The README documents every setting, every command and the two Quick start commands."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from aigraph.cli import cli
from aigraph.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", list(Settings.help()))
def test_every_setting_is_documented_with_its_default(name):
    default, _ = Settings.help()[name]
    row = next((line for line in README.splitlines() if f"`AIGRAPH_{name.upper()}`" in line), None)
    assert row is not None, f"README has no row for AIGRAPH_{name.upper()}"
    shown = ", ".join(default) if isinstance(default, tuple) else str(default)
    assert f"`{shown or '(empty)'}`" in row, row


@pytest.mark.parametrize("command", sorted(cli.commands))
def test_every_command_is_documented(command):
    assert re.search(rf"aigraph {command}\b", README), f"README does not show `aigraph {command}`"


def test_quick_start_has_exactly_two_commands():
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = section.split("```sh", 1)[1].split("```", 1)[0]
    commands = [line for line in block.strip().splitlines() if line.strip()]
    assert [c.split("#")[0].strip() for c in commands] == [
        "python3 run.py serve",
        "python3 run.py test",
    ]


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "python3 run.py test" in ci
