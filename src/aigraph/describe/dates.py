"""When the dataset was first published and last modified: from what the data and its metadata
state, never from the files' times (a checkout gives every file a new one).

In order, for each of ``issued`` and ``modified``:

1. the settings (``issued``, ``modified``), when set;
2. for ``issued``: the ``dcterms:issued`` the project's dataset description (``dataset.ttl``)
   states;
3. the data's own statements: ``dcterms:issued`` / ``dcterms:modified`` of ``{base}/dataset``,
   and for ``modified`` also the newest ``dcterms:modified`` or ``prov:generatedAtTime`` of a
   named graph (a fact's provenance saying when it was made);
4. ``dataset.toml`` in a folder of the data files (the bundled one is ``data/dataset.toml``):
   the publication dates of this version of the dataset, kept with the data;
5. nothing: the date is left out (the catalogue has no ``dcterms:modified``, the responses no
   ``Last-Modified``) rather than made up.
"""

from __future__ import annotations

import calendar
import hashlib
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from email.utils import formatdate
from pathlib import Path

from rdflib import Dataset, Literal, URIRef
from rdflib.namespace import DCTERMS, PROV
from rdflib.term import Node

from aigraph.errors import DataError, UsageError
from aigraph.graph import FORMATS

#: The metadata file beside the data files that states the dates of this dataset version.
METADATA_FILE = "dataset.toml"


@dataclass(frozen=True)
class DatasetDates:
    """The first publication and the last modification of the dataset (None: not stated)."""

    issued: date | None = None
    modified: date | None = None

    def http_last_modified(self) -> str | None:
        """Return ``modified`` as an HTTP date (midnight UTC of that day), or None."""
        if self.modified is None:
            return None
        return formatdate(calendar.timegm(self.modified.timetuple()), usegmt=True)


def dataset_dates(
    dataset: Dataset,
    files: Sequence[Path],
    base: str,
    *,
    issued: str = "",
    modified: str = "",
    described_issued: Literal | None = None,
) -> DatasetDates:
    """Return the dates of the dataset made of ``files`` (loaded as ``dataset`` under ``base``).

    ``issued`` and ``modified`` are the settings of those names (YYYY-MM-DD or empty);
    ``described_issued`` the ``dcterms:issued`` of the dataset description.
    """
    from_settings = DatasetDates(_setting("issued", issued), _setting("modified", modified))
    described = _dates([described_issued] if described_issued is not None else [])
    stated = stated_dates(dataset, base)
    from_file = metadata_dates(files)
    return DatasetDates(
        issued=_first(
            from_settings.issued, min(described, default=None), stated.issued, from_file.issued
        ),
        modified=_first(from_settings.modified, stated.modified, from_file.modified),
    )


def stated_dates(dataset: Dataset, base: str) -> DatasetDates:
    """Return the dates the data states about the dataset and its named graphs."""
    own = URIRef(f"{base.rstrip('/')}/dataset")
    issued = _dates(dataset.objects(own, DCTERMS.issued))
    modified = _dates(dataset.objects(own, DCTERMS.modified))
    for graph in dataset.graphs():
        name = graph.identifier
        for predicate in (DCTERMS.modified, PROV.generatedAtTime):
            modified += _dates(dataset.objects(name, predicate))
    return DatasetDates(min(issued, default=None), max(modified, default=None))


def metadata_dates(files: Iterable[Path]) -> DatasetDates:
    """Return the dates of the ``dataset.toml`` files in the folders of ``files``."""
    issued: list[date] = []
    modified: list[date] = []
    for folder in sorted({Path(f).resolve().parent for f in files}):
        path = folder / METADATA_FILE
        if not path.is_file():
            continue
        metadata = _read_toml(path)
        for key, found in (("issued", issued), ("modified", modified)):
            if key in metadata:
                found.append(_metadata_date(metadata[key], key, path))
    return DatasetDates(min(issued, default=None), max(modified, default=None))


def data_digest(folder: Path) -> str:
    """Return the SHA-256 of the RDF files of ``folder`` (names and text, in name order).

    ``dataset.toml`` records it, so that a test notices data changed without a new ``modified``.
    Line ends are normalised, so a checkout that writes CRLF gives the same digest.
    """
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.iterdir() if p.suffix.lower() in FORMATS):
        digest.update(path.name.encode() + b"\0")
        digest.update(path.read_bytes().replace(b"\r\n", b"\n") + b"\0")
    return digest.hexdigest()


def _read_toml(path: Path) -> dict[str, object]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise DataError(f"cannot read the dataset's metadata: {exc}", path=str(path)) from exc


def _metadata_date(value: object, key: str, path: Path) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise DataError(f"{key} = {value!r} is not a date (YYYY-MM-DD)", path=str(path))


def _setting(name: str, text: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise UsageError(f"setting {name}: {text!r} is not a date (YYYY-MM-DD)") from exc


def _dates(values: Iterable[Node]) -> list[date]:
    """Return the values that are dates or date-times, as dates (others are ignored)."""
    found = []
    for value in values:
        python = value.toPython() if isinstance(value, Literal) else None
        if isinstance(python, datetime):
            found.append(python.date())
        elif isinstance(python, date):
            found.append(python)
    return found


def _first(*candidates: date | None) -> date | None:
    return next((c for c in candidates if c is not None), None)
