"""Validate loaded data against the SHACL shapes; say for each result where its node is written.

The data graph is the loaded ``Dataset`` itself: pySHACL validates the union of all its quads,
and SPARQL constraints can still use ``GRAPH`` to look at the named graphs. pySHACL mixes the
ontology and vocabulary declarations into a copy, so the loaded dataset is never changed.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pyshacl import validate as shacl_validate
from pyshacl.errors import ReportableRuntimeError
from rdflib import OWL, RDF, SH, BNode, Dataset, Graph, Literal, URIRef
from rdflib.term import Node

from aigraph.errors import DataError, UsageError
from aigraph.formats import READ_SUFFIXES
from aigraph.graph import LoadedData, graph_iri_for, parse_file
from aigraph.project import Project
from aigraph.settings import CANONICAL_BASE
from aigraph.validation.fast_sparql import RoutedDataset
from aigraph.validation.locate import SourceIndex, display_path
from aigraph.validation.messages import tag_messages
from aigraph.validation.terms import Names, bnode_path
from aigraph.validation.union import UnionGraph

#: Severities from least to most severe; a custom severity IRI counts as a violation.
SEVERITIES = ("Info", "Warning", "Violation")

#: Languages the messages of the bundled shapes are written in (``--lang``).
LANGUAGES = ("en", "sv")


@dataclass(frozen=True)
class Violation:
    """One SHACL validation result, with the source file and line of its focus node."""

    focus: Node | None
    focus_display: str
    path: str | None
    value: str | None
    shape: str
    constraint: str
    severity: str
    message: str
    messages: dict[str, str] = field(default_factory=dict, hash=False)
    file: str | None = None
    line: int | None = None
    #: The language tag of ``message`` ("" for a message without one).
    message_lang: str = ""
    #: The ``sh:ValidationResult`` node of this result in ``ValidationReport.results_graph``.
    node: Node | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class ValidationReport:
    """The outcome of one validation run; ``conforms`` honours the severity ``threshold``."""

    conforms: bool
    violations: tuple[Violation, ...]
    results_graph: Graph = field(compare=False, hash=False, repr=False)
    files: tuple[str, ...] = ()
    triples: int = 0
    seconds: float = 0.0
    threshold: str = "Violation"
    shapes: tuple[str, ...] = ()
    lang: str = "en"

    def counts_by_severity(self) -> dict[str, int]:
        """Return the number of results of each severity (all three standard ones present)."""
        counts = dict.fromkeys(reversed(SEVERITIES), 0)
        for violation in self.violations:
            counts[violation.severity] = counts.get(violation.severity, 0) + 1
        return counts

    def fails(self, threshold: str) -> bool:
        """Return whether any result is at least as severe as ``threshold``."""
        floor = _rank(normalise_severity(threshold))
        return any(_rank(v.severity) >= floor for v in self.violations)

    def failing(self) -> tuple[Violation, ...]:
        """Return the results that make this run fail (at or above the threshold)."""
        floor = _rank(self.threshold)
        return tuple(v for v in self.violations if _rank(v.severity) >= floor)


def normalise_severity(severity: str) -> str:
    """Return ``severity`` spelled as in SEVERITIES, or raise UsageError."""
    for known in SEVERITIES:
        if severity.strip().lower() == known.lower():
            return known
    raise UsageError(f"unknown severity {severity!r}; use one of {', '.join(SEVERITIES)}")


def _rank(severity: str) -> int:
    return SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES) - 1


def normalise_lang(lang: str) -> str:
    """Return ``lang`` in lower case if it is one of LANGUAGES, or raise UsageError."""
    if lang.strip().lower() in LANGUAGES:
        return lang.strip().lower()
    raise UsageError(f"unknown message language {lang!r}; use one of {', '.join(LANGUAGES)}")


@dataclass(frozen=True)
class Inputs:
    """The files given to ``validate``, each taken for what it is."""

    data: LoadedData
    shapes: tuple[Path, ...] = ()
    ontology: tuple[Path, ...] = ()

    def declarations(self) -> list[Path] | None:
        """Return the bundled declarations and the ontology files given (None: the bundled)."""
        if not self.ontology:
            return None
        bundled = [p for p in _bundled_declarations() if p.is_file()]
        known = {p.resolve() for p in bundled}
        return bundled + [p for p in self.ontology if p.resolve() not in known]


def _bundled_declarations() -> tuple[Path, ...]:
    return Project.bundled().declarations()


#: Triples-only formats: each file is one graph of its own, so its kind can be told apart.
_SINGLE_GRAPH = {suffix for suffix, offer in READ_SUFFIXES.items() if not offer.graphs}


def sort_inputs(loaded: LoadedData, base: str = CANONICAL_BASE, project: bool = False) -> Inputs:
    """Take the shapes files out of ``loaded``; note the ontology files that stay in it.

    A triples-only file (Turtle, N-Triples, JSON-LD, RDF/XML) that declares an ``sh:NodeShape``
    or ``sh:PropertyShape`` is a shapes file: it is validated against, not validated. One that
    declares an ``owl:Ontology`` is an ontology: it stays data (as the bundled ontology is) and
    its declarations are also given to pySHACL as the ontology. ``loaded.dataset`` is changed.
    In a ``project`` the shapes are in ``shapes/``: every file loaded is data (an ontology such
    as Brick's declares its classes as node shapes, and is still the data served).
    """
    shapes: list[Path] = []
    ontology: list[Path] = []
    for path in loaded.files:
        if path.suffix.lower() not in _SINGLE_GRAPH:
            continue
        graph = loaded.dataset.graph(graph_iri_for(path, base.rstrip("/")))
        declares = any((None, RDF.type, k) in graph for k in (SH.NodeShape, SH.PropertyShape))
        if declares and not project:
            shapes.append(path)
            loaded.dataset.remove_graph(graph)
        elif (None, RDF.type, OWL.Ontology) in graph:
            ontology.append(path)
    data = tuple(p for p in loaded.files if p not in shapes)
    if shapes and not data:
        names = ", ".join(display_path(p) for p in shapes)
        raise UsageError(f"nothing to validate: only shapes were given ({names}); add the data")
    return Inputs(LoadedData(loaded.dataset, data), tuple(shapes), tuple(ontology))


def validate(
    loaded: LoadedData,
    *,
    shapes: Path | Sequence[Path] | None = None,
    ontology: Sequence[Path] | None = None,
    severity: str = "Violation",
    base: str | None = None,
    lang: str = "en",
) -> ValidationReport:
    """Validate ``loaded`` against ``shapes`` (default: the bundled project's shapes).

    ``ontology`` defaults to the bundled ontology and vocabulary declarations; ``severity`` is
    the lowest severity that fails the run; ``base`` is the base the data were loaded with
    (``Settings.base``) so that rebased IRIs are still found in the files; ``lang`` the
    language of the messages (others stay in ``Violation.messages``).
    """
    threshold, lang = normalise_severity(severity), normalise_lang(lang)
    started = time.perf_counter()
    if isinstance(shapes, Path):
        shapes = [shapes]
    shapes = list(shapes or Project.bundled().validation_shapes())
    shapes_graph = _read_graph(shapes)
    if ontology is None:
        ontology = [p for p in _bundled_declarations() if p.is_file()]
    ont_graph = _read_graph(ontology) if ontology else None
    results = _run_pyshacl(loaded.dataset, shapes_graph, ont_graph, shapes)
    tag_messages(results, shapes_graph)
    data = UnionGraph(loaded.dataset)  # for blank-node paths: reads in place, no copy
    names = Names(loaded.dataset, shapes_graph)
    for prefix, namespace in names.bindings():
        results.bind(prefix, namespace, override=False)
    index = SourceIndex(loaded.files, base=base)
    found = _violations(results, data, shapes_graph, names, index, lang)
    violations = tuple(sorted(found, key=_order))
    conforms = not any(_rank(v.severity) >= _rank(threshold) for v in violations)
    for report in results.subjects(RDF.type, SH.ValidationReport):
        # pySHACL's sh:conforms ignores warnings; say what the exit status says.
        results.set((report, SH.conforms, Literal(conforms)))
    return ValidationReport(
        conforms=conforms,
        violations=violations,
        results_graph=results,
        files=tuple(display_path(p) for p in loaded.files),
        triples=len(data),
        seconds=time.perf_counter() - started,
        threshold=threshold,
        shapes=tuple(display_path(p) for p in shapes),
        lang=lang,
    )


#: The graph pySHACL puts the ontology's declarations in when it validates in place.
INOCULATION = URIRef("urn:pyshacl:inoculation")


def _run_pyshacl(
    data: Dataset, shapes: Graph, ontology: Graph | None, shapes_paths: Sequence[Path]
) -> Graph:
    """Run pySHACL once; shapes it cannot use raise DataError naming the shapes file.

    Where it can, pySHACL validates a view of the loaded store in place (no copy of the data)
    whose SPARQL queries Oxigraph answers (``fast_sparql``); the ontology's declarations it
    adds go to a graph of their own that is removed afterwards, so ``data`` ends unchanged.
    """
    in_place = _may_validate_in_place(data, shapes)
    target = RoutedDataset(data.store) if in_place else data
    try:
        _, results, _ = shacl_validate(
            target,
            shacl_graph=shapes,
            ont_graph=ontology,
            inference="none",
            advanced=True,
            allow_warnings=True,
            abort_on_first=False,
            inplace=in_place,  # else pySHACL mixes the ontology into a copy of the data
        )
    except ReportableRuntimeError as exc:
        where = ", ".join(str(p) for p in shapes_paths)
        raise DataError(f"unusable shapes: {exc.message}", path=where) from exc
    finally:
        if in_place and ontology is not None:
            data.remove_graph(INOCULATION)
    if not isinstance(results, Graph):  # pySHACL returns a ValidationFailure instead
        raise DataError(f"unusable shapes: {results}", path=", ".join(map(str, shapes_paths)))
    return results


def _may_validate_in_place(data: Dataset, shapes: Graph) -> bool:
    """Return whether pySHACL leaves ``data`` as it was (no SHACL rules, no graph of its own)."""
    if any(True for _ in shapes.triples((None, SH.rule, None))):
        return False  # SHACL-AF rules would add their triples to the data
    return all(graph.identifier != INOCULATION for graph in data.graphs())


def _read_graph(paths: Sequence[Path]) -> Graph:
    """Parse ``paths`` into one graph; unreadable files raise DataError with file and line."""
    dataset = Dataset()
    for path in paths:
        parse_file(dataset, Path(path))
    return UnionGraph(dataset)


# -- turning pySHACL's report into Violations ------------------------------------------------


def _violations(
    results: Graph, data: Graph, shapes: Graph, names: Names, index: SourceIndex, lang: str
) -> Iterator[Violation]:
    for report in results.subjects(RDF.type, SH.ValidationReport):
        for result in results.objects(report, SH.result):
            yield _violation(result, results, data, shapes, names, index, lang)


def _violation(
    result: Node,
    results: Graph,
    data: Graph,
    shapes: Graph,
    names: Names,
    index: SourceIndex,
    lang: str,
) -> Violation:
    focus = results.value(result, SH.focusNode)
    path = results.value(result, SH.resultPath)
    value = results.value(result, SH.value)
    messages = _messages(results, result)
    message_lang = _message_lang(messages, lang)
    where = _locate(focus, data, index) or _locate(value, data, index)
    return Violation(
        focus=focus,
        focus_display=names.term(focus, data) if focus is not None else "",
        path=names.path(path, results) if path is not None else None,
        value=names.term(value, data) if value is not None else None,
        shape=_shape(results.value(result, SH.sourceShape), shapes, names),
        constraint=_optional(results.value(result, SH.sourceConstraintComponent), names) or "",
        severity=_severity(results.value(result, SH.resultSeverity), names),
        message=messages.get(message_lang, ""),
        messages=messages,
        file=where[0] if where else None,
        line=where[1] if where else None,
        message_lang=message_lang,
        node=result,
    )


def _optional(node: Node | None, names: Names) -> str | None:
    return names.term(node, Graph()) if node is not None else None


def _messages(results: Graph, result: Node) -> dict[str, str]:
    found: dict[str, str] = {}
    # Sorted, so that two messages in one language give the same choice on every run.
    for message in sorted(results.objects(result, SH.resultMessage), key=str):
        language = message.language if isinstance(message, Literal) else None
        found.setdefault((language or "").lower(), str(message))
    return dict(sorted(found.items()))


def _message_lang(messages: dict[str, str], lang: str) -> str:
    """Return the key of the message to show: ``lang``, then English, then untagged, then any."""
    for wanted in (lang, "en"):
        for language in (wanted, *(k for k in messages if k.startswith(f"{wanted}-"))):
            if language in messages:
                return language
    return "" if "" in messages else next(iter(messages), "")


def _severity(severity: Node | None, names: Names) -> str:
    if severity is None:
        return "Violation"
    if str(severity).startswith(str(SH)):
        return str(severity)[len(str(SH)) :]
    return names.term(severity, Graph())


def _shape(shape: Node | None, shapes: Graph, names: Names) -> str:
    if shape is None:
        return ""
    if not isinstance(shape, BNode):
        return names.term(shape, shapes)
    path = shapes.value(shape, SH.path)
    inner = f"[ sh:path {names.path(path, shapes)} ]" if path is not None else "[ ]"
    owner = min(shapes.subjects(SH.property, shape), key=str, default=None)
    if owner is None:
        return inner
    return f"{names.term(owner, shapes)} sh:property {inner}"


def _locate(focus: Node | None, data: Graph, index: SourceIndex) -> tuple[str, int] | None:
    if isinstance(focus, BNode):
        focus, _ = bnode_path(data, focus)
    if isinstance(focus, URIRef):
        return index.locate(str(focus))
    return None


def _order(v: Violation) -> tuple[object, ...]:
    """Sort by file, line, focus, path and constraint; then by everything else shown."""
    where = (v.file is None, v.file or "", v.line or 0)
    shown = (v.focus_display, v.path or "", v.constraint, v.shape, v.value or "")
    return (*where, *shown, -_rank(v.severity), v.message)


__all__ = [
    "LANGUAGES",
    "SEVERITIES",
    "Inputs",
    "SourceIndex",
    "UnionGraph",
    "ValidationReport",
    "Violation",
    "normalise_lang",
    "normalise_severity",
    "sort_inputs",
    "validate",
]
