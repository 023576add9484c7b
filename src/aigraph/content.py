"""Locate a project folder, and the bundled one that ships with aigraph.

A project is a folder: ``data/`` (the RDF served), optional ``ontology/``, ``shapes/`` and
``queries/``, the dataset description ``dataset.ttl`` and an optional ``aigraph.toml`` of
settings. The bundled project (the announcement) is ``aigraph/_content`` in a wheel and the
repository root in a source checkout. ``aigraph.project`` reads a project; this module only
finds its files (no settings, no RDF), so that ``settings`` can read ``aigraph.toml``.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from aigraph.errors import UsageError

_PACKAGE = Path(__file__).resolve().parent

#: The settings file of a project: any aigraph setting, by its name.
SETTINGS_FILE = "aigraph.toml"


def content_root() -> Path:
    """Return the folder of the bundled project (``data/``, ``queries/``, ``dataset.ttl``...)."""
    bundled = _PACKAGE / "_content"
    if (bundled / "data").is_dir():
        return bundled
    return _PACKAGE.parent.parent


def project_root(project: str | Path = "") -> Path:
    """Return the folder of ``project`` (empty: the bundled project); refuse a non-project."""
    if not str(project):
        return content_root()
    root = Path(project).resolve()
    if not root.is_dir():
        raise UsageError(f"project {str(project)!r} is not a folder (make one with `aigraph init`)")
    if not (root / "data").is_dir():
        raise UsageError(
            f"project {str(project)!r} has no data/ folder: put its RDF files in "
            f"{root / 'data'} (or make a project with `aigraph init`)"
        )
    return root


def read_settings_file(root: Path) -> dict[str, Any]:
    """Return the settings ``aigraph.toml`` of the project at ``root`` states (none: empty)."""
    path = root / SETTINGS_FILE
    if not path.is_file():
        return {}
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"{path}: cannot read the project settings: {exc}") from exc


# -- the bundled project's files (the defaults of code that is given no project) ---------------


def ontology_dir() -> Path:
    return content_root() / "ontology"


def ontology_file() -> Path:
    return ontology_dir() / "aigraph.ttl"


def shapes_file() -> Path:
    return content_root() / "shapes" / "shapes.ttl"


def vocabularies_file() -> Path:
    """The declarations of the reused standard-vocabulary terms the bundled data may use."""
    return content_root() / "shapes" / "vocabularies.ttl"


def data_dir() -> Path:
    return content_root() / "data"


def queries_dir() -> Path:
    return content_root() / "queries"


def dataset_file() -> Path:
    """The editorial metadata of the bundled dataset (titles, keywords, publisher...) in DCAT."""
    return content_root() / "dataset.ttl"
