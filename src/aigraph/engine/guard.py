"""Cheap lexical checks run on query text before any engine parses it.

The guard splits the text into comments, string literals, IRIs, variables and the rest ("code")
and refuses, in the code only: SPARQL Update, ``SERVICE`` (unless allow-listed) and bracket
nesting deeper than a limit (pyoxigraph's parser aborts the process on very deep nesting).

Two facts shape it. First, oxigraph's parser does not need word boundaries after keywords:
``SERVICE:x {}``, ``1SERVICE <e> {}`` and ``SERVICESILENT:x {}`` all call ``SERVICE``, so the
check looks for the letters ``service`` anywhere in code, not for a whole word. Second, ``<``
is either an IRI or "less than", and a parser decides by grammar context; the guard cannot,
so it returns a rewritten text (``CheckedQuery.text``) for oxigraph in which IRI bodies carry
no character that could start a comment, string or bracket if they were read as code. The
guard and the engine then agree on what is code whichever way ``<`` is read.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection
from dataclasses import dataclass

from ..errors import BadRequest, Forbidden, QueryRefused, QuerySyntaxError
from .base import QueryForm

UPDATE_MESSAGE = "SPARQL Update is not allowed: this endpoint is read-only"
SERVICE_MESSAGE = "SERVICE is not allowed: this endpoint never calls other endpoints"

_NAME = r"[\w\u00B7\u0300-\u036F\u203F\u2040]"
_LOCAL = rf"(?:{_NAME}|[:\-]|%[0-9A-Fa-f]{{2}}|\\[_~.\-!$&'()*+,;=/?#@%])"
_TOKENS = re.compile(
    r"""
      (?P<comment>\#[^\r\n]*)
    | (?P<string>(?:\"\"\"(?:(?:\"|\"\")?(?:[^\"\\]|\\.))*\"\"\"
                  | '''(?:(?:'|'')?(?:[^'\\]|\\.))*'''
                  | \"(?:[^\"\\\r\n]|\\.)*\"
                  | '(?:[^'\\\r\n]|\\.)*')
                 (?:@[A-Za-z0-9\-]+)?)
    | (?P<iri><[^<>\"{}|^`\x00-\x20]*>)
    | (?P<var>[?$]""" + _NAME + r"""+)
    | (?P<pname>(?:[^\W\d_](?:[\w.\-\u00B7]*[\w\-\u00B7])?)?:"""
    + rf"(?:{_LOCAL}(?:(?:{_LOCAL}|\.)*{_LOCAL})?)?)",
    re.VERBOSE | re.DOTALL,
)
_UNICODE_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")
_RDFLIB_ESCAPE = re.compile(r"\\u([0-9a-f]{4}(?:[0-9a-f]{4})?)", re.IGNORECASE)
_UPDATE = re.compile(
    r"(?<![\w:])(INSERT|DELETE|LOAD|CLEAR|DROP|CREATE|ADD|MOVE|COPY)(?![\w:])", re.IGNORECASE
)
_FORM = re.compile(r"(?<![\w:])(SELECT|ASK|CONSTRUCT|DESCRIBE)(?![\w:])", re.IGNORECASE)
_PROLOGUE = re.compile(r"(?:\s*(?:BASE|PREFIX)\s*<\s*>)*\s*", re.IGNORECASE)
_SERVICE = re.compile("service", re.IGNORECASE)
_RUN = re.compile(r"[\w.\-:%\\\u00B7\u0300-\u036F\u203F\u2040]+")
_GRAPH_NAME_KEYWORDS = {"graph", "from", "named"}
#: IRI characters that would open a comment, string or bracket if the IRI were read as code.
_RISKY_IN_IRI = re.compile(r"[#'()\[\]]")
_OPERAND_END = re.compile(r"[\w\"')>]")


@dataclass(frozen=True)
class CheckedQuery:
    """A query the guard let through, with what it learnt about it."""

    form: QueryForm
    #: The text to give oxigraph: the query with risky IRI characters written as escapes.
    text: str
    #: The SERVICE endpoints the query calls (all in the allow-list).
    services: tuple[str, ...] = ()
    #: Whether the query has FROM or FROM NAMED clauses.
    has_dataset_clause: bool = False
    #: (offset in ``text``, characters added before it) for each rewrite, to map positions back.
    shifts: tuple[tuple[int, int], ...] = ()

    def original_position(self, line: int, column: int) -> tuple[int, int]:
        """Map a 1-based line and column in ``text`` back to the query as the user wrote it."""
        if not self.shifts:
            return line, column
        line_start = _offset(self.text, line, 1)
        moved = _added(self.shifts, line_start + column - 1) - _added(self.shifts, line_start)
        return line, max(1, column - moved)


def check(
    text: object, *, max_nesting: int = 200, service_allowlist: Collection[str] = ()
) -> CheckedQuery:
    """Refuse what the endpoint never runs; return the query form and the text to run."""
    if not isinstance(text, str):
        raise BadRequest("the query must be text")
    # The same text is checked by the web layer, the server and the worker, and named or
    # repeated queries come back often: remember the verdict on texts that pass.
    return _check(text, max_nesting, tuple(service_allowlist))


@functools.lru_cache(maxsize=2048)
def _check(text: str, max_nesting: int, service_allowlist: tuple[str, ...]) -> CheckedQuery:
    if "\x00" in text:
        raise BadRequest("the query contains a NUL character")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise BadRequest("the query is not valid Unicode text") from exc
    scan = _Scan(text)
    # rdflib replaces \\uXXXX escapes everywhere before it parses: check that reading too.
    for expanded in _expansions(text):
        _refuse(_Scan(expanded), max_nesting, service_allowlist)
    services = _refuse(scan, max_nesting, service_allowlist)
    form = scan.form()
    has_from = "from" in scan.bare_words()
    rewritten, shifts = scan.rewritten()
    return CheckedQuery(form, rewritten, services, has_from, shifts)


@functools.lru_cache(maxsize=2048)
def query_form(text: str) -> QueryForm:
    """Return the form of the query: the first of SELECT, ASK, CONSTRUCT, DESCRIBE.

    Raise ``Forbidden`` for SPARQL Update and ``QuerySyntaxError`` if there is no query form.
    """
    scan = _Scan(text)
    if _UPDATE.search(scan.names):
        raise Forbidden(UPDATE_MESSAGE)
    return scan.form()


def _refuse(scan: _Scan, max_nesting: int, allowlist: Collection[str]) -> tuple[str, ...]:
    if _UPDATE.search(scan.names):
        raise Forbidden(UPDATE_MESSAGE)
    depth = scan.max_depth()
    if depth > max_nesting:
        raise QueryRefused(
            f"the query nests brackets {depth} deep; the limit is {max_nesting}",
            limit=max_nesting,
        )
    return scan.services(allowlist)


def _expansions(text: str) -> list[str]:
    if "\\u" not in text and "\\U" not in text:
        return []

    def chars(match: re.Match[str]) -> str:
        code = int(match.group(1) or match.group(2) or "0", 16)
        return chr(code) if code <= 0x10FFFF else " "

    found = {_UNICODE_ESCAPE.sub(chars, text), _RDFLIB_ESCAPE.sub(chars, text)}
    return [t for t in found if t != text]


class _Scan:
    """The query split into tokens: ``code`` has comments, strings, IRIs and variables blanked,
    ``names`` also has prefixed names blanked."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.iris: list[tuple[int, int]] = []
        code: list[str] = []
        names: list[str] = []
        nesting: list[str] = []
        last = 0
        for match in _TOKENS.finditer(text):
            start, end = match.span()
            gap = text[last:start]
            code.append(gap)
            names.append(gap)
            nesting.append(gap)
            kind = match.lastgroup
            token = match.group()
            if kind == "pname":
                code.append(token)
            else:
                if kind == "iri":
                    self.iris.append((start, end))
                code.append(_blank(token, kind))
            names.append(_blank(token, kind))
            # Brackets in IRIs count too: a parser may read "<" as "less than" and them as code.
            nesting.append(token if kind == "iri" else _blank(token, kind))
            last = end
        for part in (code, names, nesting):
            part.append(text[last:])
        self.code = "".join(code)
        self.names = "".join(names)
        self.nesting = "".join(nesting)

    def form(self) -> QueryForm:
        found = _FORM.search(self.names)
        if found is None:
            at = _PROLOGUE.match(self.names)
            line, column = _line_col(self.text, at.end() if at else 0)
            raise QuerySyntaxError(
                "expected SELECT, ASK, CONSTRUCT or DESCRIBE", line=line, column=column
            )
        return found.group(1).lower()  # type: ignore[return-value]

    def bare_words(self) -> str:
        return self.names.lower()

    def max_depth(self) -> int:
        depth = deepest = 0
        for char in self.nesting:
            if char in "{([":
                depth += 1
                deepest = max(deepest, depth)
            elif char in "})]" and depth:
                depth -= 1
        return deepest

    def services(self, allowlist: Collection[str]) -> tuple[str, ...]:
        """Return the SERVICE endpoints; refuse any not in ``allowlist`` or not an IRI."""
        called: list[str] = []
        for found in _SERVICE.finditer(self.code):
            run = _RUN.match(self.code, _run_start(self.code, found.start()))
            assert run is not None
            colon = run.group().find(":")
            after_colon = colon != -1 and found.start() > run.start() + colon
            if after_colon or (colon != -1 and not self._opens_group(run)):
                continue  # inside a prefixed name, or a prefixed name not used as SERVICE
            called.append(self._endpoint(found, run, allowlist))
        return tuple(called)

    def _opens_group(self, run: re.Match[str]) -> bool:
        """Tell if a prefixed name starting with "service" could be ``SERVICE :x {``."""
        follows = self.code[run.end() :].lstrip()
        before = self.code[: run.start()].split()
        previous = before[-1].lower() if before else ""
        return follows.startswith("{") and previous not in _GRAPH_NAME_KEYWORDS

    def _endpoint(
        self, found: re.Match[str], run: re.Match[str], allowlist: Collection[str]
    ) -> str:
        if not allowlist:
            raise QueryRefused(SERVICE_MESSAGE)
        rest = self.code[run.end() :]
        if found.start() == run.start() and run.end() == found.end():
            stripped = rest.lstrip()
            if stripped[:6].lower() == "silent" and not _RUN.match(stripped[6:7] or " "):
                stripped = stripped[6:].lstrip()
            at = len(self.code) - len(stripped)
            for start, end in self.iris:
                if start == at and self.text[start + 1 : end - 1] in allowlist:
                    return self.text[start + 1 : end - 1]
        raise QueryRefused(
            "SERVICE is only allowed as SERVICE <iri> with an IRI of the allow-list: "
            + ", ".join(sorted(allowlist))
        )

    def rewritten(self) -> tuple[str, tuple[tuple[int, int], ...]]:
        """Return the text with risky IRI characters escaped, and where characters were added."""
        parts: list[str] = []
        shifts: list[tuple[int, int]] = []
        last = added = 0
        for start, end in self.iris:
            body = self.text[start + 1 : end - 1]
            if not _RISKY_IN_IRI.search(body) or not self._may_be_less_than(start, body):
                continue
            for index, char in enumerate(body, start + 1):
                if _RISKY_IN_IRI.match(char):
                    shifts.append((index + added + 6, added + 5))
                    added += 5
            parts.append(self.text[last : start + 1])
            parts.append(_RISKY_IN_IRI.sub(lambda m: f"\\u{ord(m.group()):04X}", body))
            last = end - 1
        if not parts:
            return self.text, ()
        parts.append(self.text[last:])
        return "".join(parts), tuple(shifts)

    def _may_be_less_than(self, start: int, body: str) -> bool:
        if any(c in body for c in "'()[]"):
            return True  # rare in real IRIs: always escape
        before = self.code[:start].rstrip()
        inside = before.count("(") > before.count(")")
        return inside and bool(before) and bool(_OPERAND_END.match(before[-1]))


def _blank(token: str, kind: str | None) -> str:
    """Replace a token by spaces of the same length, keeping newlines and its delimiters."""
    inner = re.sub(r"[^\r\n]", " ", token)
    if kind == "string":
        return '"' + inner[1:-1] + '"' if len(token) > 1 else inner
    if kind == "iri":
        return "<" + inner[1:-1] + ">"
    return inner


def _run_start(code: str, index: int) -> int:
    while index > 0 and _RUN.match(code[index - 1]):
        index -= 1
    return index


def _line_col(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _added(shifts: tuple[tuple[int, int], ...], offset: int) -> int:
    total = 0
    for at, added in shifts:
        if at > offset:
            break
        total = added
    return total


def _offset(text: str, line: int, column: int) -> int:
    start = 0
    for _ in range(line - 1):
        found = text.find("\n", start)
        if found == -1:
            break
        start = found + 1
    return start + column - 1
