"""Where each subject IRI is written in the source files: the file and line a report points at.

Scans Turtle/TriG token by token (prefixes and base expanded, strings and comments skipped) and
N-Triples/N-Quads line by line; it never re-parses the files with rdflib.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urljoin

from aigraph.formats import READ_SUFFIXES
from aigraph.settings import CANONICAL_BASE

#: A prefixed name's local part that Turtle can write without escapes.
LOCAL_NAME = re.compile(r"[\w][\w.\-]*(?<!\.)|", re.UNICODE)


def display_path(path: Path) -> str:
    """Return ``path`` as given, or relative to the working folder when it is inside it."""
    if path.is_absolute():
        try:
            return str(path.relative_to(Path.cwd()))
        except ValueError:
            return str(path)
    return str(path)


_TOKEN = re.compile(
    r"""\#[^\n]*
    | \"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\" | '''(?:[^'\\]|\\.|'(?!''))*'''
    | "(?:[^"\\\n]|\\.)*" | '(?:[^'\\\n]|\\.)*'
    | <[^<>"{}|^`\\\s]*>
    | [.;,\[\](){}]
    | [^\s.;,\[\](){}<>"'\#]+(?:\.+[^\s.;,\[\](){}<>"'\#]+)*""",
    re.VERBOSE,
)
_LINE_SUBJECT = re.compile(r"^[ \t]*<([^>\s]*)>", re.MULTILINE)
_ABSOLUTE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
_ESCAPE = re.compile(r"\\(.)")


class SourceIndex:
    """Where each subject IRI is first described in the loaded files; built on first use.

    Turtle and TriG are scanned token by token (no RDF parse); N-Triples and N-Quads line by
    line. An IRI never written as a subject is found where it is first mentioned at all.
    """

    def __init__(self, files: Sequence[Path], *, base: str | None = None) -> None:
        self._files = tuple(files)
        moved = (base or CANONICAL_BASE).rstrip("/")
        self._moved = moved if moved != CANONICAL_BASE else None
        self._subjects: dict[str, tuple[int, int, int]] | None = None
        self._texts: list[tuple[str, dict[str, str]]] = []

    def locate(self, iri: str) -> tuple[str, int] | None:
        """Return ``(file, line)`` where ``iri`` is described, or None."""
        found = self.position(iri)
        return (found[0], found[1]) if found else None

    def position(self, iri: str) -> tuple[str, int, int] | None:
        """Return ``(file, line, column)`` where ``iri`` is described (1-based, code points)."""
        if self._subjects is None:
            self._build()
        if self._subjects is None:
            raise RuntimeError("building the index left no subjects")
        spellings = [iri]
        if self._moved and iri.startswith(self._moved):
            spellings.append(CANONICAL_BASE + iri[len(self._moved) :])
        for spelling in spellings:
            if spelling in self._subjects:
                number, line, column = self._subjects[spelling]
                return display_path(self._files[number]), line, column
        for spelling in spellings:
            found = self._mention(spelling)
            if found:
                return found
        return None

    def _build(self) -> None:
        self._subjects = {}
        for number, path in enumerate(self._files):
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
            except OSError:
                text = ""
            offer = READ_SUFFIXES.get(path.suffix.lower())
            syntax = offer.name if offer else ""
            prefixes: dict[str, str] = {}
            if syntax in ("turtle", "trig"):
                offsets, prefixes = turtle_subjects(text, path.resolve().as_uri())
            elif syntax in ("nt", "nquads"):
                offsets = {}
                for match in _LINE_SUBJECT.finditer(text):
                    offsets.setdefault(match.group(1), match.start())
            else:
                offsets = {}
            for iri, (line, column) in _lines(text, offsets).items():
                self._subjects.setdefault(iri, (number, line, column))
            self._texts.append((text, prefixes))

    def _mention(self, iri: str) -> tuple[str, int, int] | None:
        for number, (text, prefixes) in enumerate(self._texts):
            spelled = [re.escape(iri)]
            spelled += [
                re.escape(f"{prefix}:{iri[len(ns) :]}") + r"(?![\w\-:])"
                for prefix, ns in prefixes.items()
                if iri.startswith(ns) and LOCAL_NAME.fullmatch(iri[len(ns) :])
            ]
            match = re.search(r"(?<![\w\-:])(?:" + "|".join(spelled) + ")", text)
            if match:
                start = match.start()
                line = text.count("\n", 0, start) + 1
                return display_path(self._files[number]), line, start - text.rfind("\n", 0, start)
        return None


def turtle_subjects(text: str, base: str) -> tuple[dict[str, int], dict[str, str]]:
    """Return ``({iri: offset of its first statement as subject}, prefixes)`` of Turtle/TriG."""
    subjects: dict[str, int] = {}
    prefixes: dict[str, str] = {}
    expect_subject, depth = True, 0
    pending: tuple[str, int] | None = None  # a subject, unless a `{` shows it names a graph
    directive: list[str] = []
    for match in _TOKEN.finditer(text):
        token = match.group()
        if token[0] == "#":
            continue
        if directive:
            directive.append(token)
            base = _read_directive(directive, prefixes, base)
            continue
        if pending is not None:
            if token != "{":  # noqa: S105 - a Turtle token, not a password
                subjects.setdefault(*pending)
            pending = None
        if token in ("{", "}"):
            expect_subject, depth = True, 0
        elif token in ("[", "("):
            expect_subject, depth = False, depth + 1
        elif token in ("]", ")"):
            depth -= 1
        elif token == ".":  # noqa: S105 - a Turtle token, not a password
            expect_subject = expect_subject or depth <= 0
        elif expect_subject:
            keyword = token.lower()
            if keyword in ("@prefix", "prefix", "@base", "base"):
                directive = [keyword.lstrip("@")]
                continue
            if keyword == "graph":
                continue
            iri = _term_iri(token, prefixes, base)
            if iri is not None:
                pending = (iri, match.start())
            expect_subject = False
    if pending is not None:
        subjects.setdefault(*pending)
    return subjects, prefixes


def _read_directive(directive: list[str], prefixes: dict[str, str], base: str) -> str:
    """Record a finished ``@prefix``/``@base`` directive (clearing it); return the base."""
    kind, *args = directive
    if kind == "base" and len(args) == 1:
        directive.clear()
        return urljoin(base, args[0][1:-1])
    if kind == "prefix" and len(args) == 2:
        directive.clear()
        prefixes[args[0].rstrip(":")] = urljoin(base, args[1][1:-1])
    return base


def _term_iri(token: str, prefixes: dict[str, str], base: str) -> str | None:
    if token.startswith("<"):
        iri = token[1:-1]
        return iri if _ABSOLUTE.match(iri) else urljoin(base, iri)
    prefix, colon, local = token.partition(":")
    if colon and prefix in prefixes:
        return prefixes[prefix] + _ESCAPE.sub(r"\1", local)
    return None


def _lines(text: str, offsets: dict[str, int]) -> dict[str, tuple[int, int]]:
    """Turn character offsets into 1-based (line, column) pairs, counting newlines once."""
    lines: dict[str, tuple[int, int]] = {}
    line, position = 1, 0
    for iri, offset in sorted(offsets.items(), key=lambda item: item[1]):
        line += text.count("\n", position, offset)
        position = offset
        lines[iri] = (line, offset - text.rfind("\n", 0, offset))
    return lines
