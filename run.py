#!/usr/bin/env python3
"""Set up and run aigraph from a fresh clone with only Python 3.11.

    python3 run.py serve [aigraph serve options]   # serve the graph on http://127.0.0.1:8000/
    python3 run.py test  [pytest options]          # run the whole test suite

Both create ``.venv`` (and refresh it when ``pyproject.toml`` changes) before running.
``test`` also installs Debian's ``chromium`` and ``chromium-driver`` for the browser tests when
they are missing and it runs as root, and the Comunica Linked Data client for its tests
(``npm ci`` in ``tests/comunica``; Debian's ``nodejs`` and ``npm`` first when they are missing).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")


def ensure_venv(extras: str) -> None:
    """Create the virtual environment and install aigraph (editable) with ``extras``."""
    stamp = VENV / ".aigraph-installed"
    project = (ROOT / "pyproject.toml").read_bytes()
    want = hashlib.sha256(project + extras.encode()).hexdigest()
    # An environment with the test extras also has everything `serve` needs.
    enough = {want, hashlib.sha256(project + b"[test]").hexdigest()} if not extras else {want}
    if stamp.is_file() and stamp.read_text() in enough:
        return
    if not (BIN / "python").exists():
        print(f"run.py: creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    pip = [str(BIN / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
    print(f"run.py: installing aigraph{extras} into {VENV}", flush=True)
    subprocess.run(pip + ["install", "--upgrade", "pip"], check=True)
    subprocess.run(pip + ["install", "-e", f".{extras}"], check=True, cwd=ROOT)
    stamp.write_text(want)


def apt_install(why: str, *packages: str) -> None:
    """Install Debian ``packages`` with apt-get (needs root), or exit saying how to."""
    names = " ".join(packages)
    if not shutil.which("apt-get") or os.geteuid() != 0:
        sys.exit(f"run.py: {why} need {names}; install them with: sudo apt-get install {names}")
    print(f"run.py: installing {names} with apt-get", flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", *packages], check=True, env=env)


def ensure_chromium() -> None:
    """Install Debian's chromium and its driver when missing."""
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        apt_install("the browser tests", "chromium", "chromium-driver")


def ensure_virtuoso() -> None:
    """Install Debian's Virtuoso Open Source 7 (the second backend of the backend tests)."""
    if not (shutil.which("virtuoso-t") and shutil.which("isql-vt")):
        apt_install("the Virtuoso backend tests", "virtuoso-opensource")


def ensure_comunica() -> None:
    """Install the Comunica test client (``npm ci`` in tests/comunica) when missing or stale.

    Node.js and npm come from Debian's ``nodejs`` and ``npm`` when missing and run as root.
    """
    folder = ROOT / "tests" / "comunica"
    lock = folder / "package-lock.json"
    stamp = folder / "node_modules" / ".aigraph-installed"
    want = hashlib.sha256(lock.read_bytes()).hexdigest()
    if stamp.is_file() and stamp.read_text() == want:
        return
    if not (shutil.which("node") and shutil.which("npm")):
        apt_install("the Linked Data client tests", "nodejs", "npm")
    print(f"run.py: installing the Comunica test client into {folder / 'node_modules'}", flush=True)
    npm = shutil.which("npm") or "npm"
    subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], check=True, cwd=folder
    )
    stamp.write_text(want)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("serve", "test"):
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    if command == "serve":
        ensure_venv("")
        os.execv(str(BIN / "aigraph"), [str(BIN / "aigraph"), "serve", *rest])
    ensure_venv("[test]")
    ensure_chromium()
    ensure_virtuoso()
    ensure_comunica()
    os.chdir(ROOT)
    return subprocess.call([str(BIN / "python"), "-m", "pytest", *rest])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
