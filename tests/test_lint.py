"""The code stays lint-clean (ruff check), formatted (ruff format) and type-checks (mypy on src;
strict on the foundation and engine layers)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_ruff():
    done = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "src", "tests", "benchmarks"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_ruff_format():
    """The code is laid out by ``ruff format`` ([tool.ruff.format]); the pre-commit hook checks it too."""
    done = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", "src", "tests", "benchmarks"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr


def test_mypy():
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "src/aigraph"], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
