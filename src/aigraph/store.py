"""A persistent on-disk store: bulk-load RDF files once, then serve them without re-parsing.

Reading a store's metadata and the engine over it live in ``engine/store_engine.py``; this
module writes stores (``graphstore.py`` pushes files to a Graph Store Protocol endpoint).

Layout of a store folder::

    DIR/aigraph-store.json   metadata: format version, current generation, loaded files
    DIR/data-<n>/            one oxigraph (RocksDB) store per generation, with
                             aigraph-graphs.txt: its named graphs, sorted (read at start-up)
    DIR/.lock                held while a load runs (one loader at a time)

A load never writes the generation being served: it copies the current generation (a RocksDB
checkpoint: hard links, near instant), bulk-loads every file into the copy, and then commits by
atomically replacing the metadata file so it names the new generation. An interrupted load
(Ctrl-C, kill -9, a malformed file) leaves the metadata naming the old generation, so the store
is either as it was or has every file of the load; the unfinished copy is removed by the next
load. The previous generation is kept so that a server started before the load keeps working.

Queries see the union of all graphs, as a set, as their default graph (as the in-memory engines
do). Oxigraph's own union is a bag: a triple in two graphs is seen twice. So after loading each
file once, the load checks whether any triple is in more than one graph (the store's default
graph included; ``_shares_triples``). If none is, the metadata says so (``union_written``
false) and queries use Oxigraph's union, which is then the set union: nothing is written twice.
Otherwise every triple is also written to the default graph, which then is the union as a set,
and the store stays so for the loads that follow.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import itertools
import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any, cast

import pyoxigraph as ox

from aigraph import graph
from aigraph.engine.store_engine import _GENERATION, GRAPHS, METADATA, sorted_graphs
from aigraph.engine.store_engine import FORMAT_NAME as FORMAT_NAME
from aigraph.engine.store_engine import FORMAT_VERSION as FORMAT_VERSION
from aigraph.engine.store_engine import LoadedFile as LoadedFile
from aigraph.engine.store_engine import StoreEngine as StoreEngine
from aigraph.engine.store_engine import StoreError as StoreError
from aigraph.engine.store_engine import StoreInfo as StoreInfo
from aigraph.engine.store_engine import check_store as check_store
from aigraph.engine.store_engine import open_read_only as open_read_only
from aigraph.engine.store_engine import read_info as read_info
from aigraph.errors import DataError, UsageError
from aigraph.formats import READ_SUFFIXES
from aigraph.settings import CANONICAL_BASE

#: File suffix -> pyoxigraph format, from the format table; TriG and N-Quads keep their graphs.
OX_FORMATS: dict[str, ox.RdfFormat] = {
    suffix: getattr(ox.RdfFormat, offer.oxigraph) for suffix, offer in READ_SUFFIXES.items()
}
_DATASET_FORMATS = {OX_FORMATS[suffix] for suffix, o in READ_SUFFIXES.items() if o.graphs}

#: Quads per bulk-load call (see _bulk).
_PIECE = 250_000
#: progress(bytes done, bytes total, quads done): called often; throttling is the caller's.
Progress = Callable[[int, int, int], None]


# -- loading ----------------------------------------------------------------------------------


def load_files(
    directory: str | Path,
    paths: Iterable[str | Path],
    *,
    progress: Progress | None = None,
    base: str = CANONICAL_BASE,
) -> StoreInfo:
    """Load RDF files into the store at ``directory`` (created if needed), all or nothing.

    A triples-only file goes into the graph ``graph.graph_iri_for`` names under ``base`` (a
    project's own base), as the same file loaded in memory.
    """
    directory = Path(directory)
    files = list(graph.expand(paths))
    if not files:
        raise UsageError("no RDF files to load")
    for path in files:
        _format_of(path)
    directory.mkdir(parents=True, exist_ok=True)
    with _locked(directory):
        old = _existing_info(directory)
        staging = directory / f"data-{_next_generation(directory)}"
        _remove_stale(directory, old.generation if old else None)
        try:
            info = _load_into(staging, old, files, progress, base)
            _write_metadata(directory, info)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        _remove_stale(directory, info.generation)
    return info


def _existing_info(directory: Path) -> StoreInfo | None:
    if (directory / METADATA).exists():
        return read_info(directory)
    foreign = [p.name for p in directory.iterdir() if p.name != ".lock"]
    if foreign:
        raise StoreError(
            f"the folder is not empty and not an aigraph store ({', '.join(sorted(foreign)[:3])}"
            f"{', ...' if len(foreign) > 3 else ''}); use an empty or new folder",
            path=str(directory),
        )
    return None


def _load_into(
    staging: Path,
    old: StoreInfo | None,
    files: Sequence[Path],
    progress: Progress | None,
    base: str = CANONICAL_BASE,
) -> StoreInfo:
    if old is not None:
        source = open_read_only(old)
        source.backup(str(staging))  # a checkpoint: hard links to the immutable table files
        del source
    store = ox.Store(str(staging))
    size = sum(p.stat().st_size for p in files)
    written = old is not None and old.union_written
    meter = _Meter(2 * size if written else size, progress)
    prefixes = dict(old.prefixes) if old else {}
    loaded = list(old.files) if old else []
    quads = old.quads if old else 0  # counted as each file loads: no scan of the whole store
    for path in files:
        loaded.append(_load_file(store, path, meter, base))
        quads += loaded[-1].quads
        if written:
            _copy_to_default(store, path, meter)
        prefixes.update(declared_prefixes(path))
    if not written and _shares_triples(store):
        written = True  # a triple in two graphs: write the union to the default graph
        meter.total += size
        for path in files:
            _copy_to_default(store, path, meter)
        if old is not None and old.quads:
            _copy_named_to_default(open_read_only(old), store)
    store.flush()
    (staging / GRAPHS).write_text("\n".join(sorted_graphs(store)), encoding="utf-8")
    del store
    return StoreInfo(
        directory=staging.parent,
        generation=staging.name,
        quads=quads,
        files=tuple(loaded),
        prefixes=prefixes,
        updated=time.time(),
        union_written=written,
    )


def _load_file(store: ox.Store, path: Path, meter: _Meter, base: str) -> LoadedFile:
    """Load one file into its graph(s), reading it once (hashing it and counting its lines)."""
    fmt = _format_of(path)
    started = time.monotonic()
    before = len(store)
    name = graph.graph_iri_for(path, base.rstrip("/"))
    target = None if fmt in _DATASET_FORMATS else ox.NamedNode(name)
    digest = hashlib.sha256()
    with _reading(path), path.open("rb") as raw:
        _load_pieces(store, _MeteredReader(raw, meter, digest), fmt, _base(path), target)
    added = len(store) - before
    meter.add_quads(added)
    return LoadedFile(
        path=str(path.resolve()),
        sha256=digest.hexdigest(),
        quads=added,
        seconds=round(time.monotonic() - started, 3),
        graph=None if target is None else target.value,
    )


def _copy_to_default(store: ox.Store, path: Path, meter: _Meter) -> None:
    """Load the triples of a file into the default graph too (a store whose union is written)."""
    fmt = _format_of(path)
    with _reading(path), path.open("rb") as raw:
        _load_pieces(store, _MeteredReader(raw, meter, None), fmt, _base(path), ox.DefaultGraph())


def _copy_named_to_default(source: ox.Store, store: ox.Store) -> None:
    """Write the triples of the named graphs of ``source`` to the default graph of ``store``."""
    every = source.quads_for_pattern(None, None, None, None)
    named = (q for q in every if not isinstance(q.graph_name, ox.DefaultGraph))
    _bulk(store, _into(named, ox.DefaultGraph()))


def _shares_triples(store: ox.Store) -> bool:
    """Whether a triple is in more than one graph of the store (its default graph included).

    Trivially not with one graph. Else the distinct triples of each predicate are counted
    (one index range each, so memory is bounded by the largest predicate, not the store) and
    compared with the number of quads: equal means no triple is in two graphs.
    """
    named = sum(1 for _ in itertools.islice(store.named_graphs(), 2))
    if named + bool(store.query("ASK { ?s ?p ?o }")) <= 1:
        return False

    def select(text: str) -> ox.QuerySolutions:
        return _rows(store.query(text, use_default_graph_as_union=True))

    distinct = 0
    for row in select("SELECT DISTINCT ?p { ?s ?p ?o }"):
        pairs = f"SELECT DISTINCT ?s ?o {{ ?s {row[0]} ?o }}"
        distinct += int(next(select(f"SELECT (COUNT(*) AS ?n) {{ {pairs} }}"))[0].value)
    return distinct != len(store)


def _rows(answer: Any) -> ox.QuerySolutions:
    if not isinstance(answer, ox.QuerySolutions):
        raise TypeError("a SELECT query answers with solutions")
    return answer


@contextlib.contextmanager
def _reading(path: Path) -> Iterator[None]:
    """Turn a parse or read error of ``path`` into a ``DataError`` with its file and line."""
    try:
        yield
    except SyntaxError as exc:
        raise DataError(_syntax_reason(exc), path=str(path), line=exc.lineno) from exc
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot load: {exc}", path=str(path)) from exc


def _base(path: Path) -> str:
    return path.resolve().as_uri()


def _load_pieces(
    store: ox.Store,
    reader: _MeteredReader,
    fmt: ox.RdfFormat,
    base: str,
    target: ox.NamedNode | ox.DefaultGraph | None,
) -> None:
    """Load a file in pieces (see ``_bulk``) into ``target`` (None: the graphs it names).

    N-Triples (and N-Quads into their own graphs) are cut at line ends and parsed by Oxigraph;
    other formats are parsed once, as Python quads, and loaded piece by piece.
    """
    if fmt == ox.RdfFormat.N_TRIPLES or (fmt == ox.RdfFormat.N_QUADS and target is None):
        lines = _Lines(reader)
        while lines.next_piece():
            into = None if isinstance(target, ox.DefaultGraph) else target
            store.bulk_load(input=cast(IO[bytes], lines), format=fmt, base_iri=base, to_graph=into)
        return
    quads = ox.parse(cast(IO[bytes], reader), format=fmt, base_iri=base)
    _bulk(store, quads if target is None else _into(quads, target))


class _Lines:
    """A line-based file as consecutive readers of ``_PIECE`` lines each (the same object)."""

    def __init__(self, reader: _MeteredReader) -> None:
        self._reader = reader
        self._rest = b""
        self._left = 0
        self._ended = False

    def next_piece(self) -> bool:
        """Start the next piece; False when the file has been read to its end."""
        self._left = _PIECE
        return not self._ended

    def read(self, size: int = -1) -> bytes:
        if self._left <= 0:
            return b""  # the end of this piece
        chunk = self._rest or self._reader.read(1 << 20)
        if not chunk:
            self._ended = True
            return b""
        if 0 <= size < len(chunk):
            chunk, self._rest = chunk[:size], chunk[size:]
        else:
            self._rest = b""
        lines = chunk.count(b"\n")
        if lines >= self._left:  # cut after this piece's last line
            cut = -1
            for _ in range(self._left):
                cut = chunk.index(b"\n", cut + 1)
            self._rest = chunk[cut + 1 :] + self._rest
            chunk = chunk[: cut + 1]
        self._left -= min(lines, self._left)
        return chunk

    def readable(self) -> bool:
        return True


def _bulk(store: ox.Store, quads: Iterator[ox.Quad]) -> None:
    """Bulk-load ``quads`` in pieces of ``_PIECE``: Oxigraph's bulk loader holds a whole batch
    (up to 10^6 quads, ~0.9 GB) in memory, a piece a quarter of that (measured at 10^6 triples:
    peak RSS 390 MiB against 938 MiB, in about the same time)."""
    while piece := list(itertools.islice(quads, _PIECE)):
        store.bulk_extend(piece)


def _into(quads: Iterator[ox.Quad], name: ox.NamedNode | ox.DefaultGraph) -> Iterator[ox.Quad]:
    for quad in quads:
        yield ox.Quad(quad.subject, quad.predicate, quad.object, name)


def declared_prefixes(path: Path) -> dict[str, str]:
    """Return the prefixes declared at the top of a Turtle or TriG file (the query page, pages)."""
    fmt = _format_of(path)
    if fmt not in (ox.RdfFormat.TURTLE, ox.RdfFormat.TRIG):
        return {}
    parser = ox.parse(path=str(path), format=fmt, base_iri=path.resolve().as_uri())
    with contextlib.suppress(StopIteration, SyntaxError):
        next(parser)
    return dict(parser.prefixes)


def _format_of(path: Path) -> ox.RdfFormat:
    fmt = OX_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise DataError(
            f"unknown RDF file type {path.suffix!r}; use one of {', '.join(OX_FORMATS)}",
            path=str(path),
        )
    return fmt


def _syntax_reason(exc: SyntaxError) -> str:
    reason = str(exc.msg or exc)
    reason = re.sub(
        r"^Parser error (at|between) line \d+ column \d+( and line \d+ column \d+)?: ", "", reason
    )
    column = f"column {exc.offset}: " if exc.offset else ""
    return f"{column}{reason}"[:300]


def _next_generation(directory: Path) -> int:
    return max(_generations(directory), default=0) + 1


def _remove_stale(directory: Path, current: str | None) -> None:
    """Remove generations but the current one and the one before it (unfinished loads too)."""
    number = int(current.split("-")[1]) if current else 0
    older = [n for n in _generations(directory) if n < number]
    keep = {number, max(older, default=0)}
    for n in _generations(directory):
        if n not in keep:
            shutil.rmtree(directory / f"data-{n}", ignore_errors=True)


def _generations(directory: Path) -> list[int]:
    return [int(m.group(1)) for p in directory.iterdir() if (m := _GENERATION.fullmatch(p.name))]


def _write_metadata(directory: Path, info: StoreInfo) -> None:
    """Replace the metadata atomically: this is the commit point of a load."""
    temporary = directory / f".{METADATA}.tmp"
    with temporary.open("w", encoding="utf-8") as out:
        json.dump(info.to_json(), out, indent=2)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, directory / METADATA)
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    with (directory / ".lock").open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UsageError(f"{directory}: another load is running on this store") from None
        yield


class _Meter:
    """Counts bytes read and quads loaded, and reports them to ``progress``."""

    def __init__(self, total: int, progress: Progress | None) -> None:
        self.total = total
        self.done = 0
        self.quads = 0
        self._lines = 0
        self._progress = progress

    def add_bytes(self, count: int, lines: int = 0) -> None:
        self.done += count
        self._lines += lines
        if self._progress:
            # While a file loads, its lines estimate its quads (exact for N-Triples/N-Quads).
            self._progress(self.done, self.total, self.quads + self._lines)

    def add_quads(self, count: int) -> None:
        self.quads += count
        self._lines = 0


class _MeteredReader:
    """A binary reader that reports how much was read (and hashes it, on the first pass)."""

    def __init__(self, raw: IO[bytes], meter: _Meter, digest: Any | None) -> None:
        self._raw = raw
        self._meter = meter
        self._digest = digest

    def read(self, size: int = -1) -> bytes:
        chunk = self._raw.read(size)
        if self._digest is not None:  # the first pass: hash the file and count its lines
            self._digest.update(chunk)
            self._meter.add_bytes(len(chunk), chunk.count(b"\n"))
        else:
            self._meter.add_bytes(len(chunk))
        return chunk

    def readable(self) -> bool:
        return True


def base_warning(base: str) -> str | None:
    """Return a warning when ``base`` is not the canonical base: a store is never rebased.

    Loading into a store keeps every IRI as its files wrote it, so a store of the bundled data
    holds IRIs under the canonical base whatever ``--base`` says when it is served.
    """
    if base.rstrip("/") != CANONICAL_BASE:
        return (
            f"--base {base} does not rewrite the IRIs of a store: it serves them as they were "
            f"loaded, so IRIs minted under {CANONICAL_BASE} stay there (load files that "
            f"already use {base.rstrip('/')}/ to serve them under it)"
        )
    return None
