"""Load RDF files and folders into one rdflib ``Dataset``, with clear file-and-line errors."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote
from xml.sax import SAXParseException

from rdflib import Dataset, Graph, URIRef
from rdflib.namespace import NamespaceManager
from rdflib.plugins.parsers.notation3 import BadSyntax
from rdflib.term import Node

from aigraph.errors import DataError
from aigraph.formats import READ_SUFFIXES
from aigraph.project import Project
from aigraph.settings import CANONICAL_BASE, Settings

#: File suffix -> rdflib parser name, from the format table.
FORMATS: dict[str, str] = {suffix: offer.rdflib for suffix, offer in READ_SUFFIXES.items()}


@dataclass(frozen=True)
class LoadedData:
    """A dataset and the files it was read from (for reports that point at lines)."""

    dataset: Dataset
    files: tuple[Path, ...]

    def triple_count(self) -> int:
        return len(self.dataset)


def new_dataset() -> Dataset:
    """Return an empty dataset whose default graph is the union of all graphs.

    Only the core prefixes are bound, so that the prefixes declared in the data files win
    (rdflib would otherwise bind ``schema:`` to https://schema.org/ and rename ours).
    """
    dataset = Dataset(default_union=True)
    dataset.namespace_manager = NamespaceManager(dataset, bind_namespaces="core")
    return dataset


def default_paths(settings: Settings | None = None) -> tuple[Path, ...]:
    """Return the files of the project ``settings`` name: its ``ontology/``, then its ``data/``.

    Without settings, the bundled project's (the announcement).
    """
    return Project.of(settings or Settings()).data_files()


def expand(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Yield the RDF files named by ``paths``, reading folders recursively in name order."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.suffix.lower() in FORMATS)
        elif path.is_file():
            yield path
        else:
            raise DataError("no such file or folder", path=str(path))


def graph_iri_for(path: Path, base: str = CANONICAL_BASE) -> URIRef:
    """Return the named graph a triples-only file (Turtle, N-Triples, ...) is loaded into.

    The files directly in a project's ``ontology/`` (a folder beside ``data/``) make up the
    ontology graph. A file under a ``data/`` folder is named by its path from the project
    (``{base}/graph/data/people/staff`` for ``data/people/staff.ttl``), any other file by its
    name without the suffix (``{base}/graph/staff``): the same names in every checkout, and no
    path of the machine that loaded them.
    """
    resolved = path.resolve()
    folder = resolved.parent
    if folder.name == "ontology" and (folder.parent / "data").is_dir():
        return URIRef(f"{base}/graph/ontology")
    parts = resolved.with_suffix("").parts
    inside = [i for i, part in enumerate(parts[:-1]) if part == "data"]
    named = parts[inside[-1] :] if inside else parts[-1:]
    return URIRef(f"{base}/graph/" + "/".join(quote(part, safe="") for part in named))


def load(
    settings: Settings | None = None,
    paths: Iterable[str | Path] | None = None,
    *,
    rebased: bool = True,
) -> LoadedData:
    """Read the files of ``paths`` (default: ``settings.data`` or the bundled data).

    With ``rebased`` (the default) IRIs minted under the canonical base are moved under
    ``settings.base``; without it the data keeps the IRIs of its files, which is what the shapes
    are written against (validate first, then call ``rebase_loaded``).
    """
    settings = settings or Settings()
    chosen = list(paths) if paths is not None else list(settings.data)
    files = tuple(expand(chosen)) if chosen else default_paths(settings)
    if chosen and not files:  # a mistyped folder must not check or serve nothing
        raise DataError(
            "no RDF files here: give a project folder (one with data/, see `aigraph init`) or "
            f"RDF files and folders ({' '.join(FORMATS)})",
            path=", ".join(str(p) for p in chosen),
        )
    dataset = new_dataset()
    for path in files:
        parse_file(dataset, path, settings.base)
    loaded = LoadedData(dataset, files)
    return rebase_loaded(loaded, settings.base) if rebased else loaded


def rebase_loaded(loaded: LoadedData, base: str) -> LoadedData:
    """Return ``loaded`` with IRIs under the canonical base moved under ``base``."""
    if base.rstrip("/") == CANONICAL_BASE:
        return loaded
    return LoadedData(rebase(loaded.dataset, CANONICAL_BASE, base.rstrip("/")), loaded.files)


def parse_file(dataset: Dataset, path: Path, base: str = CANONICAL_BASE) -> None:
    """Parse one file into ``dataset``; triples-only formats go into a graph of their own."""
    offer = READ_SUFFIXES.get(path.suffix.lower())
    if offer is None:
        raise DataError(
            f"unknown RDF file type {path.suffix!r}; use one of {', '.join(FORMATS)}",
            path=str(path),
        )
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read: {exc.strerror}", path=str(path)) from exc
    try:
        if offer.graphs:
            dataset.parse(data=text, format=offer.rdflib, publicID=path.resolve().as_uri())
        else:
            target = dataset.graph(graph_iri_for(path, CANONICAL_BASE))
            target.parse(data=text, format=offer.rdflib, publicID=path.resolve().as_uri())
    except Exception as exc:  # every parser has its own error types
        raise parse_error(exc, path, text) from exc


_LINE = re.compile(r"line (\d+)", re.IGNORECASE)


def parse_error(exc: Exception, path: Path, text: bytes, about: str = "") -> DataError:
    """Turn a parser exception into a DataError naming the file and line (``about`` first)."""
    line: int | None = None
    message = str(exc).strip() or type(exc).__name__
    if isinstance(exc, BadSyntax):
        line = exc.lines + 1
        message = f"bad syntax: {exc._why}"  # noqa: SLF001 - the only place the reason is kept
    elif isinstance(exc, SAXParseException):
        line = exc.getLineNumber()
        message = exc.getMessage()
    elif isinstance(exc, json.JSONDecodeError):
        line = exc.lineno
        message = exc.msg
    elif isinstance(exc, UnicodeDecodeError):
        line = text[: exc.start].count(b"\n") + 1
        message = "not valid UTF-8"
    else:
        found = _LINE.search(message)
        if found:
            line = int(found.group(1))
        message = message.splitlines()[0][:300]
    return DataError(about + message, path=str(path), line=line)


def rebase(dataset: Dataset, old: str, new: str) -> Dataset:
    """Return a copy of ``dataset`` with IRIs under ``old`` moved under ``new``."""

    def move(term: Node) -> Node:
        if isinstance(term, URIRef) and str(term).startswith(old):
            return URIRef(new + str(term)[len(old) :])
        return term

    moved = new_dataset()
    for s, p, o, g in dataset.quads((None, None, None, None)):
        graph_id = g.identifier if isinstance(g, Graph) else g
        moved.add((move(s), move(p), move(o), move(graph_id)))  # type: ignore[arg-type]
    for prefix, namespace in dataset.namespaces():
        moved.bind(prefix, move(namespace), override=True)
    return moved
