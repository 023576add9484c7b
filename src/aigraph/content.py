"""Locate the files that ship with aigraph: ontology, shapes, data, named queries, dataset.ttl.

In a wheel they live in ``aigraph/_content``; in a source checkout (editable install or
tests) they are the top-level folders of the repository.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def content_root() -> Path:
    """Return the folder that holds ``ontology/``, ``data/``, ``queries/`` and ``dataset.ttl``."""
    bundled = _PACKAGE / "_content"
    if (bundled / "ontology").is_dir():
        return bundled
    return _PACKAGE.parent.parent


def ontology_dir() -> Path:
    return content_root() / "ontology"


def ontology_file() -> Path:
    return ontology_dir() / "aigraph.ttl"


def shapes_file() -> Path:
    return ontology_dir() / "shapes.ttl"


def vocabularies_file() -> Path:
    """The declarations of the reused standard-vocabulary terms the data may use."""
    return ontology_dir() / "vocabularies.ttl"


def data_dir() -> Path:
    return content_root() / "data"


def queries_dir() -> Path:
    return content_root() / "queries"


def dataset_file() -> Path:
    """The editorial metadata of the dataset (titles, keywords, publisher...) in DCAT."""
    return content_root() / "dataset.ttl"
