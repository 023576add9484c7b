"""What a change does to the graph: the statements added and removed per named graph.

Each side is a file, a folder, or a git revision of the data (``HEAD~1``, or ``REV:path``),
read with ``git archive`` (the working tree is never checked out). Blank nodes are matched by
canonicalisation (``canonical.canonical_quads``), so a file re-serialised with other blank-node
labels or in another order is no change. Statements are shown with the labels of their terms
in the chosen language, and each affected graph with the source sentences its provenance
records (``aig:sourceSentence``, as on the resource pages): see ``diff_report``.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
import tempfile
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import cast

from rdflib import XSD, BNode, Dataset, Literal, URIRef
from rdflib.term import Node

from aigraph import graph
from aigraph.canonical import canonical_quads, quad_key, term_key
from aigraph.errors import DataError, UsageError
from aigraph.model import Quad
from aigraph.settings import Settings

#: The data folder a bare git revision is read from, unless paths are given.
DEFAULT_PATHS = ("data",)


@dataclass(frozen=True)
class GraphChange:
    """The statements of one named graph that were added and removed."""

    graph: Node | None
    added: tuple[Quad, ...]
    removed: tuple[Quad, ...]
    renamed_from: Node | None = None


@dataclass(frozen=True)
class Diff:
    """The difference of two versions of the data, graph by graph."""

    old: str
    new: str
    changes: tuple[GraphChange, ...]
    old_data: Dataset = field(repr=False, compare=False)
    new_data: Dataset = field(repr=False, compare=False)
    #: For each blank node, the subject and property it hangs from (to show it as a path).
    anchors: dict[Node, tuple[Node, Node]] = field(default_factory=dict, repr=False, compare=False)

    @property
    def equal(self) -> bool:
        return not self.changes

    def counts(self) -> tuple[int, int]:
        return sum(len(c.added) for c in self.changes), sum(len(c.removed) for c in self.changes)


# -- reading each side ----------------------------------------------------------------------


def _git(args: Sequence[str], cwd: Path) -> bytes:
    try:
        done = subprocess.run(
            ["git", *args],  # noqa: S607 - the user's git, found on PATH
            cwd=cwd,
            capture_output=True,
            check=False,
        )
    except FileNotFoundError:
        raise UsageError("git is not installed: give files or folders instead") from None
    if done.returncode != 0:
        reason = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise UsageError(f"git {' '.join(args)}: {reason[-1] if reason else 'failed'}")
    return done.stdout


def _is_revision(spec: str, cwd: Path) -> bool:
    if spec.startswith("-"):  # never an option of git's (--remote=...)
        return False
    try:
        _git(["rev-parse", "--verify", "--quiet", f"{spec}^{{commit}}"], cwd)
    except UsageError:
        return False
    return True


@contextmanager
def checkout_free(spec: str, paths: Sequence[str], cwd: Path) -> Iterator[tuple[Path, list[Path]]]:
    """Yield ``(root, files or folders)`` of one side: on disk, or exported from git."""
    on_disk = Path(spec)
    if on_disk.exists():
        # Files are named from the working folder (as git names them), else from their folder.
        here, chosen = cwd.resolve(), on_disk.resolve()
        inside = chosen.is_relative_to(here)
        yield (here if inside else chosen if chosen.is_dir() else chosen.parent), [chosen]
        return
    revision, colon, inner = spec.partition(":")
    if colon and revision and _is_revision(revision, cwd):
        wanted = [inner] if inner else list(paths)
    elif _is_revision(spec, cwd):
        revision, wanted = spec, list(paths)
    else:
        raise UsageError(
            f"{spec!r} is neither a file, a folder nor a git revision "
            "(give a path, a revision such as HEAD~1, or REV:path)"
        )
    # In a subfolder, git reads the paths from there and archives them relative to it.
    archive = _git(["archive", "--format=tar", revision, "--", *wanted], cwd)
    with tempfile.TemporaryDirectory(prefix="aigraph-diff-") as folder:
        try:
            with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
                tar.extractall(folder, filter="data")
        except tarfile.TarError as exc:  # e.g. a link that points out of the revision
            raise _archive_error(exc, revision, folder) from None
        root = Path(folder)
        try:
            yield root, [root / w for w in wanted]
        except DataError as exc:  # name the file as git does, not by the temporary folder
            raise _in_revision(exc, revision, root) from None


def _in_revision(exc: DataError, revision: str, root: Path) -> DataError:
    """Return ``exc`` with a file of the temporary folder named ``REV:path``."""
    path = Path(exc.path) if exc.path else None
    if path is None or not path.is_relative_to(root):
        return exc
    where = f"{exc.path}:{exc.line}" if exc.line is not None else exc.path
    reason = exc.message.removeprefix(f"{where}: ")
    named = f"{revision}:{path.relative_to(root).as_posix()}"
    return DataError(reason.replace(str(root), revision + ":"), path=named, line=exc.line)


def _archive_error(exc: tarfile.TarError, revision: str, folder: str) -> DataError:
    """Return the error of an archive git gave that cannot be unpacked, named ``REV:path``."""
    member = getattr(exc, "tarinfo", None)
    if isinstance(member, tarfile.TarInfo):
        reason = f"a link to {member.linkname!r}, which points out of the revision"
        if not member.issym() and not member.islnk():
            reason = "cannot be read from git"
        return DataError(reason, path=f"{revision}:{member.name}")
    return DataError(f"cannot read from git: {str(exc).replace(folder, '')}", path=revision)


@dataclass(frozen=True)
class Side:
    """One side of a diff: its data, and the ``file:`` URI of its folder (dropped from IRIs)."""

    dataset: Dataset
    root: str = ""

    def quads(self) -> set[Quad]:
        """Return the side's quads with canonical blank nodes, decimals and file names."""
        root = self.root

        def local(term: Node) -> Node:
            if root and isinstance(term, URIRef) and str(term).startswith(root):
                return URIRef("file:///" + str(term)[len(root) :])
            return term

        raw = [
            (local(s), local(p), _canonical_number(local(o)), local(_graph_name(context)))
            for context in self.dataset.graphs()
            for s, p, o in context
        ]
        return set(canonical_quads(raw, short_labels=False))


def read_side(spec: str, paths: Sequence[str], cwd: Path) -> Side:
    """Load one side; IRIs that name its files (graphs of Turtle files) lose their folder."""
    with checkout_free(spec, paths, cwd) as (root, chosen):
        loaded = graph.load(Settings(), chosen, rebased=False)
        return Side(loaded.dataset, root.as_uri().rstrip("/") + "/")


def _graph_name(graph_or_name: object) -> Node:
    """Return the name of a graph (rdflib gives a graph or its name, depending on the call)."""
    return cast(Node, getattr(graph_or_name, "identifier", graph_or_name))


def _canonical_number(term: Node) -> Node:
    """Write a decimal or integer literal in its canonical form: ``1.0`` and ``1`` are one value.

    Writers differ here (rdflib's Turtle writer turns ``"100"^^xsd:decimal`` into ``100.0``).
    """
    if not isinstance(term, Literal) or term.datatype is None:
        return term
    value = term.value
    if term.datatype == XSD.decimal and isinstance(value, Decimal) and value.is_finite():
        text = format(value.normalize(), "f")
        return Literal(text if text != "-0" else "0", datatype=XSD.decimal)
    if term.datatype == XSD.integer and isinstance(value, int):
        return Literal(str(value), datatype=XSD.integer)
    return term


def compare(old: Side, new: Side, old_name: str = "old", new_name: str = "new") -> Diff:
    """Return the statements added and removed per named graph, renamed graphs paired."""
    before, after = old.quads(), new.quads()
    gained, lost = _pair_blank_nodes(after - before, before - after)
    added: dict[Node | None, list[Quad]] = defaultdict(list)
    removed: dict[Node | None, list[Quad]] = defaultdict(list)
    for quad in gained:
        added[quad[3]].append(quad)
    for quad in lost:
        removed[quad[3]].append(quad)
    old_graphs = {q[3] for q in before}
    new_graphs = {q[3] for q in after}
    changes: list[GraphChange] = []
    gone = {g: _triples(removed[g]) for g in removed if g not in new_graphs}
    for name in sorted(set(added) | set(removed), key=term_key):
        renamed = None
        if name not in old_graphs:
            match = [g for g, triples in gone.items() if triples == _triples(added[name])]
            if len(match) == 1:
                renamed = match[0]
                del gone[renamed]
        changes.append(
            GraphChange(
                name,
                tuple(sorted(added.get(name, ()), key=quad_key)),
                tuple(sorted(removed.get(name, ()), key=quad_key)),
                renamed,
            )
        )
    renamed_away = {c.renamed_from for c in changes if c.renamed_from is not None}
    kept = tuple(c for c in changes if c.graph not in renamed_away)
    shown = [q for c in kept for q in (*c.added, *c.removed)]
    return Diff(old_name, new_name, kept, old.dataset, new.dataset, _anchors(shown, before | after))


def _anchors(shown: Sequence[Quad], quads: set[Quad]) -> dict[Node, tuple[Node, Node]]:
    """Return, for each blank node of ``shown`` (and those above it), what it hangs from."""
    pointing: dict[Node, list[Quad]] = defaultdict(list)
    for quad in quads:
        if isinstance(quad[2], BNode):
            pointing[quad[2]].append(quad)
    anchors: dict[Node, tuple[Node, Node]] = {}
    todo: list[Node] = [t for q in shown for t in (q[0], q[2]) if isinstance(t, BNode)]
    while todo:
        node = todo.pop()
        if node in anchors or not pointing.get(node):
            continue
        s, p, _, _ = min(pointing[node], key=quad_key)
        anchors[node] = (s, p)
        todo.append(s)
    return anchors


def _pair_blank_nodes(added: set[Quad], removed: set[Quad]) -> tuple[set[Quad], set[Quad]]:
    """Let a blank node changed in place keep its name, so that only what changed shows.

    A blank node's label is the digest of its group, so a changed amount gives a new node with
    all its statements. A removed and an added node, each alone in its group, that hang from the
    same subjects by the same properties in the same graph are taken to be one node.
    """

    def singles(quads: set[Quad]) -> dict[frozenset[tuple[Node | None, ...]], list[Node]]:
        shared: set[Node] = set()
        anchors: dict[Node, set[tuple[Node | None, ...]]] = defaultdict(set)
        for s, p, o, g in quads:
            nodes = {t for t in (s, o, g) if isinstance(t, BNode)}
            if len(nodes) > 1:
                shared |= nodes
            if isinstance(o, BNode) and not isinstance(s, BNode):
                anchors[o].add((s, p, g))
        by_anchor: dict[frozenset[tuple[Node | None, ...]], list[Node]] = defaultdict(list)
        for node, found in anchors.items():
            if node not in shared:
                by_anchor[frozenset(found)].append(node)
        return by_anchor

    old_nodes = singles(removed)
    rename: dict[Node | None, Node] = {}
    for anchor, nodes in singles(added).items():
        if len(nodes) == 1 and len(old_nodes.get(anchor, ())) == 1:
            rename[nodes[0]] = old_nodes[anchor][0]
    if not rename:
        return added, removed
    renamed = {cast(Quad, tuple(rename.get(t, t) for t in quad)) for quad in added}
    return renamed - removed, removed - renamed


def _triples(quads: Sequence[Quad]) -> frozenset[tuple[Node, Node, Node]]:
    return frozenset((s, p, o) for s, p, o, _ in quads)


def diff(old: str, new: str, *, paths: Sequence[str] = (), cwd: Path | None = None) -> Diff:
    """Compare two sides, each a file, a folder, a git revision or ``REV:path``."""
    where = cwd or Path.cwd()
    chosen = list(paths) or list(DEFAULT_PATHS)
    return compare(read_side(old, chosen, where), read_side(new, chosen, where), old, new)
