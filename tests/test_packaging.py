"""The wheel carries the ontology, shapes, data and queries; aigraph works from any directory."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(ROOT),
        ],
        check=True,
    )
    return next(out.glob("aigraph-*.whl"))


def test_wheel_ships_the_content(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for path in (
        "ontology/aigraph.ttl",
        "shapes/shapes.ttl",
        "shapes/vocabularies.ttl",
        "aigraph.toml",
        "data/announcement.trig",
        "data/provenance.trig",
        "queries/funding.rq",
        "dataset.ttl",
    ):
        assert f"aigraph/_content/{path}" in names
    assert "aigraph/web/templates/query.html" in names
    assert "aigraph/web/static/query.js" in names
    assert {"aigraph/web/strings/en.json", "aigraph/web/strings/sv.json"} <= names
    assert {"aigraph/site/configs/htaccess", "aigraph/site/configs/nginx.conf"} <= names
    assert "aigraph/py.typed" in names
    assert "aigraph/validation/closed_world.ttl" in names


def test_installed_wheel_works_from_any_directory(wheel, tmp_path):
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = dict(os.environ, PYTHONPATH=str(site))
    probe = subprocess.run(
        [sys.executable, "-c", "import aigraph.content as c; print(c.content_root())"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert probe.stdout.strip() == str(site / "aigraph" / "_content")
    validate = subprocess.run(
        [sys.executable, "-m", "aigraph", "validate"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
    )
    assert validate.returncode == 0, validate.stdout + validate.stderr
    query = subprocess.run(
        [sys.executable, "-m", "aigraph", "query", "host", "--format", "csv"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
    )
    assert query.returncode == 0 and "lindholmen" in query.stdout.lower(), query.stderr
