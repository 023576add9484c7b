"""Early, friendly refusals of what the endpoint never runs, decided the way the engine reads.

The guard refuses SPARQL Update sent as a query, ``SERVICE`` (unless allow-listed) and nesting
deeper than a limit (Oxigraph's parser overflows its stack on very deep nesting). It is not
the only barrier: query workers run without network access (``sandbox.py``). Its decisions
must still agree with the engine's own parse, or a crafted query could slip past it.

How it agrees. ``lexer.SCAN`` follows Oxigraph's terminals exactly, so the guard and the engine
agree on where every comment, string and IRI starts and ends; what is left (the skeleton) is
code for both. Two places where a parser reads by context are handled by construction:

- ``<`` is an IRI or "less than". The text given to Oxigraph (``CheckedQuery.text``) writes
  ``# ' ( ) [ ]`` inside IRIs as ``\\uXXXX`` escapes, so an IRI read as code opens no comment,
  string or bracket either way.
- Oxigraph needs no word boundary after a keyword (``1SERVICE``, ``SERVICEsvc:x``) and falls
  back to ``ex:`` when ``ex:local`` is not a valid IRI, reading the local part as code. So
  any code word containing ``service`` is refused, and so is any prefixed name containing it
  that is followed by ``[SILENT] [VarOrIri] {`` (unless it names a graph after GRAPH/FROM).

Everything here is linear in the text and runs in C regular expressions on the skeleton.
Verdicts are cached for small texts only, within a byte budget.
"""

from __future__ import annotations

import contextlib
import re
import threading
from array import array
from collections import OrderedDict
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import accumulate

from aigraph.engine import lexer
from aigraph.errors import BadRequest, QueryRefused, QuerySyntaxError
from aigraph.model import QueryForm

UPDATE_MESSAGE = (
    "this is SPARQL Update, not a query: updates go in an 'update' parameter or an "
    "application/sparql-update body, and this endpoint is read-only"
)
SERVICE_MESSAGE = "SERVICE is not allowed: this endpoint never calls other endpoints"

_RUN = f"[{lexer.RUN_CHARS}]"


def _keywords(*words: str, capture: bool = False) -> re.Pattern[str]:
    """Match whole lower-case keywords; each branch starts with a letter, so search is fast."""
    group = "({})" if capture else "{}"
    branches = (rf"{group.format(w)}(?<![\w\-:.%]{w})(?![\w\-:])" for w in words)
    return re.compile("|".join(branches))


# These run on the lower-cased skeleton.
_UPDATE = _keywords("insert", "delete", "load", "clear", "drop", "create", "add", "move", "copy")
_FORM = _keywords("select", "ask", "construct", "describe", capture=True)
_FROM = _keywords("from")
_NO_COLON = _RUN.replace(":", "")
#: Any run of the skeleton containing "service"; those with a colon are prefixed names.
_SERVICE_RUN = re.compile(rf"(?<!{_RUN}){_RUN}*?service{_RUN}*+")
#: A code word containing "service": a SERVICE keyword, glued to other letters or not.
_SERVICE_WORD = re.compile(rf"(?<!{_RUN}){_NO_COLON}*?service{_NO_COLON}*+(?!{_RUN})")
#: What follows SERVICE: SILENT, then an endpoint (a name; variables and IRIs are spaces), then {.
_TAIL = rf"\s*+(?:silent(?!{_RUN})\s*+)?(?:{_NO_COLON}*+:{_RUN}*+\s*+)?\{{"
_SERVICE_TAIL = re.compile(_TAIL)
#: A prefixed name containing "service" followed by what could make it a SERVICE clause.
_SERVICE_NAME = re.compile(rf"(?<!{_RUN}){_RUN}*?service{_RUN}*+(?={_TAIL})")
_GRAPH_NAME_BEFORE = re.compile(rf"(?<!{_RUN})(?:graph|from|named)\s*+$")
_NOT_BRACKETS = re.compile(r"[^{}()\[\]]++")
_BANG_RUN = re.compile(r"!{8,}")
_CHUNK = 4096
_SPACES = re.compile(r"\s++")
_TRIPLE_TERM = re.compile(r"<(?=<)")
_QUOTE = re.compile(r"['\"]")
_SPACE = r"(?:[ \t\r\n]++|\#[^\r\n]*+)*+"
_PROLOGUE = re.compile(
    rf"{_SPACE}(?:(?:BASE|PREFIX(?:{_SPACE}[^\s:]*+:)?+){_SPACE}{lexer.IRI}{_SPACE})*+",
    re.IGNORECASE,
)
_UNICODE_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")
_RDFLIB_ESCAPE = re.compile(r"\\u([0-9a-f]{4}(?:[0-9a-f]{4})?)", re.IGNORECASE)
#: IRI characters that would open a comment, string or bracket if the IRI were read as code.
_RISKY_IN_IRI = re.compile(r"[#'()\[\]]")
_BRACKET_STEP = bytes.maketrans(b"{([})]", b"\x01\x01\x01\xff\xff\xff")


@dataclass(frozen=True)
class Facts:
    """What the guard learnt from one text's skeleton (small: the text is not kept)."""

    update: bool
    form: QueryForm | None
    #: Opening brackets, ``!`` and ``<<`` in code: a bound on the depth, cheap to count.
    openers: int
    #: Code words containing "service" (a SERVICE keyword) and prefixed names used like one.
    services: int
    has_from: bool
    bad_quote: bool


@dataclass(frozen=True)
class CheckedQuery:
    """A query the guard let through, with what it learnt about it."""

    form: QueryForm
    source: str
    #: The SERVICE endpoints the query calls (all in the allow-list).
    services: tuple[str, ...] = ()
    #: Whether the query has FROM or FROM NAMED clauses.
    has_dataset_clause: bool = False

    @property
    def text(self) -> str:
        """Return the text to give Oxigraph: risky IRI characters written as escapes."""
        return self._rewritten[0]

    @property
    def shifts(self) -> tuple[tuple[int, int], ...]:
        """Return (offset in ``text``, characters added before it) for each rewrite."""
        return self._rewritten[1]

    @cached_property
    def _rewritten(self) -> tuple[str, tuple[tuple[int, int], ...]]:
        return _rewrite(self.source)

    def original_position(self, line: int, column: int) -> tuple[int, int]:
        """Map a 1-based line and column in ``text`` back to the query as the user wrote it."""
        if not self.shifts:
            return line, column
        line_start = _offset(self.text, line)
        moved = _added(self.shifts, line_start + column - 1) - _added(self.shifts, line_start)
        return line, max(1, column - moved)


def check(
    text: object,
    *,
    max_nesting: int = 200,
    service_allowlist: Collection[str] = (),
    service_prefixes: Sequence[str] = (),
) -> CheckedQuery:
    """Refuse what the endpoint never runs; return the query form and the text to run.

    A SERVICE endpoint passes if it is in ``service_allowlist`` or starts with one of
    ``service_prefixes`` (``allow_service``, which the connection broker enforces again).
    """
    if service_prefixes:
        service_allowlist = _Prefixed(service_allowlist, tuple(service_prefixes))
    if not isinstance(text, str):
        raise BadRequest("the query must be text")
    facts = facts_of(text)
    if _UNGUARDED:
        return CheckedQuery(facts.form or "select", text, (), facts.has_from)
    _refuse(text, facts, max_nesting, service_allowlist)
    # rdflib replaces \\uXXXX escapes everywhere before it parses: check that reading too.
    for expanded in _expansions(text):
        _refuse(expanded, _facts(expanded), max_nesting, service_allowlist, lenient=True)
    services = _allowed_services(text, service_allowlist) if facts.services else ()
    return CheckedQuery(_form(text, facts), text, services, facts.has_from)


_UNGUARDED = False


@contextlib.contextmanager
def unguarded() -> Iterator[None]:
    """Let every query through the guard (tests only: shows what the sandbox stops alone).

    Query workers forked inside the block inherit it.
    """
    global _UNGUARDED
    _UNGUARDED = True
    try:
        yield
    finally:
        _UNGUARDED = False


def query_form(text: str) -> QueryForm:
    """Return the form of the query: the first of SELECT, ASK, CONSTRUCT, DESCRIBE.

    Raise ``BadRequest`` for SPARQL Update and ``QuerySyntaxError`` if there is no query form.
    """
    facts = facts_of(text)
    if facts.update:
        raise BadRequest(UPDATE_MESSAGE)
    return _form(text, facts)


def facts_of(text: str) -> Facts:
    """Return the facts of ``text``, from the byte-bounded cache when it is small."""
    if "\x00" in text:
        raise BadRequest("the query contains a NUL character")
    if getattr(_LAST, "text", None) is text:  # a large text checked twice by one request
        return _LAST.facts  # type: ignore[no-any-return]
    found = _CACHE.get(text)
    if found is None:
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise BadRequest("the query is not valid Unicode text") from exc
        found = _facts(text)
        _CACHE.put(text, found)
        _LAST.text, _LAST.facts = text, found
    return found


def _facts(text: str) -> Facts:
    code = lexer.skeleton(text)
    low = code.lower()
    form = _FORM.search(low)
    return Facts(
        update=_UPDATE.search(low) is not None,
        form=next(g for g in form.groups() if g) if form else None,  # type: ignore[misc]
        openers=sum(map(code.count, "{([!")) + code.count("<<"),
        services=_service_count(low),
        has_from=_FROM.search(low) is not None,
        bad_quote=_QUOTE.search(code) is not None,
    )


def _refuse(
    text: str, facts: Facts, max_nesting: int, allowlist: Collection[str], lenient: bool = False
) -> None:
    if facts.bad_quote and not lenient:
        line, column = _bad_quote_position(text)
        raise QuerySyntaxError("this quote starts no valid string", line=line, column=column)
    if facts.update:
        raise BadRequest(UPDATE_MESSAGE)
    if facts.openers > max_nesting and (
        (depth := _depth(lexer.skeleton(text), max_nesting)) > max_nesting
    ):
        raise QueryRefused(
            f"the query nests brackets at least {depth} deep; the limit is {max_nesting}",
            limit=max_nesting,
        )
    if facts.services and not allowlist:
        raise QueryRefused(SERVICE_MESSAGE)


def _form(text: str, facts: Facts) -> QueryForm:
    if facts.form is None:
        at = _PROLOGUE.match(text)
        line, column = _line_col(text, at.end() if at else 0)
        raise QuerySyntaxError(
            "expected SELECT, ASK, CONSTRUCT or DESCRIBE", line=line, column=column
        )
    return facts.form


def _service_count(code: str) -> int:
    """Count (at least one, if any) code words with "service" and prefixed names that could
    be read as SERVICE."""
    if "service" not in code:
        return 0
    if _SERVICE_WORD.search(code):
        return 1
    for found in _SERVICE_NAME.finditer(code):
        # A bounded look back (a word cut by the bound is seen whole: lookbehind sees before it)
        if not _GRAPH_NAME_BEFORE.search(code, max(0, found.start() - 64), found.start()):
            return 1
    return 0


def _depth(code: str, limit: int) -> int:
    """Return a bound on how deep a parser recurses (brackets, ``!`` runs, ``<<`` terms), or a
    number over ``limit`` as soon as it is sure to be over.

    The bracket depth is the highest running count of open brackets. A closer with nothing
    open is a syntax error where a parser stops, so what follows it is never parsed deeper.
    """
    bare = _SPACES.sub("", code)
    if "!!" not in bare:
        bangs = int("!" in bare)
    else:  # a long run is rare: count it exactly only then
        bangs = 7 if "!" * 8 not in bare else max(map(len, _BANG_RUN.findall(bare)))
    extra = bangs + code.count("<<") + code.count("<<<")
    brackets = _NOT_BRACKETS.sub("", code)
    running = deepest = 0
    for start in range(0, len(brackets), _CHUNK):
        chunk = brackets[start : start + _CHUNK]
        opening = chunk.count("{") + chunk.count("(") + chunk.count("[")
        if running + opening + extra > limit:
            steps = array("b", chunk.encode("ascii").translate(_BRACKET_STEP))
            deepest = max(deepest, running + max(accumulate(steps)))
            if deepest + extra > limit:
                break
        running = max(0, running + 2 * opening - len(chunk))
    return deepest + extra


class _Prefixed(frozenset[str]):
    """An allow-list of IRIs that also holds every IRI starting with one of ``prefixes``."""

    prefixes: tuple[str, ...]

    def __new__(cls, iris: Collection[str], prefixes: tuple[str, ...]) -> _Prefixed:
        made = super().__new__(cls, [*iris, *prefixes])
        made.prefixes = prefixes
        return made

    def __contains__(self, iri: object) -> bool:
        return super().__contains__(iri) or (isinstance(iri, str) and iri.startswith(self.prefixes))


def _allowed_services(text: str, allowlist: Collection[str]) -> tuple[str, ...]:
    """Return the endpoints of ``SERVICE <iri>`` clauses; refuse any other use of SERVICE."""
    code = lexer.SCAN.sub(lambda m: " " * len(m.group()), text).lower()  # offsets as in text
    iris = {m.start(): m.group()[1:-1] for m in lexer.SCAN.finditer(text) if m.lastgroup == "iri"}
    called: list[str] = []
    for found in _SERVICE_RUN.finditer(code):
        if ":" in found.group() and not _SERVICE_TAIL.match(code, found.end()):
            continue
        endpoint = None
        if found.group().lower() == "service":
            after = _ENDPOINT.match(text, found.end())
            endpoint = iris.get(after.end()) if after else None
        if endpoint is None or endpoint not in allowlist:
            raise QueryRefused(
                "SERVICE is only allowed as SERVICE <iri> with an IRI of the allow-list: "
                + ", ".join(sorted(allowlist))
            )
        called.append(endpoint)
    return tuple(called)


_ENDPOINT = re.compile(r"\s*+(?:SILENT\s*+)?", re.IGNORECASE)


def _expansions(text: str) -> list[str]:
    if "\\u" not in text and "\\U" not in text:
        return []

    def chars(match: re.Match[str]) -> str:
        code = int(match.group(1) or match.group(2) or "0", 16)
        return chr(code) if code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else " "

    found = {_UNICODE_ESCAPE.sub(chars, text), _RDFLIB_ESCAPE.sub(chars, text)}
    return [t.replace("\x00", " ") for t in found if t != text]


def _rewrite(text: str) -> tuple[str, tuple[tuple[int, int], ...]]:
    """Write risky IRI characters as ``\\uXXXX``; return the text and where it grew."""
    parts: list[str] = []
    shifts: list[tuple[int, int]] = []
    last = added = 0
    for token in lexer.SCAN.finditer(text):
        if token.lastgroup != "iri" or not _RISKY_IN_IRI.search(token.group()):
            continue
        start, end = token.span()
        for index in range(start + 1, end - 1):
            if _RISKY_IN_IRI.match(text, index):
                shifts.append((index + added + 6, added + 5))
                added += 5
        parts.append(text[last:start])
        parts.append(_RISKY_IN_IRI.sub(lambda m: f"\\u{ord(m.group()):04X}", token.group()))
        last = end
    if not parts:
        return text, ()
    parts.append(text[last:])
    return "".join(parts), tuple(shifts)


def _bad_quote_position(text: str) -> tuple[int, int]:
    last = 0
    for token in lexer.SCAN.finditer(text):
        quote = _QUOTE.search(text, last, token.start())
        if quote:
            return _line_col(text, quote.start())
        last = token.end()
    quote = _QUOTE.search(text, last)
    return _line_col(text, quote.start() if quote else last)


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


def _offset(text: str, line: int) -> int:
    start = 0
    for _ in range(line - 1):
        found = text.find("\n", start)
        if found == -1:
            break
        start = found + 1
    return start


class _FactsCache:
    """A least-recently-used cache of ``Facts`` for texts of at most ``max_text`` characters,
    within ``budget`` bytes in all (texts plus what each entry costs besides)."""

    ENTRY_BYTES = 400  # the key's object header, the ``Facts`` and the dictionary slot

    def __init__(self, budget: int = 4_000_000, max_text: int = 65_536) -> None:
        self.budget = budget
        self.max_text = max_text
        self.size = 0
        self._entries: OrderedDict[str, Facts] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, text: str) -> Facts | None:
        if len(text) > self.max_text:
            return None
        with self._lock:
            found = self._entries.get(text)
            if found is not None:
                self._entries.move_to_end(text)
            return found

    def put(self, text: str, facts: Facts) -> None:
        if len(text) > self.max_text or len(text) + self.ENTRY_BYTES > self.budget:
            return
        with self._lock:
            if text in self._entries:
                return
            self._entries[text] = facts
            self.size += len(text) + self.ENTRY_BYTES
            while self.size > self.budget:
                old, _ = self._entries.popitem(last=False)
                self.size -= len(old) + self.ENTRY_BYTES


_CACHE = _FactsCache()


def configure(cache_bytes: int, cache_max_text: int) -> None:
    """Size the verdict cache: ``cache_bytes`` in all (0: no cache), for texts of at most
    ``cache_max_text`` characters. Call it before query workers start (they inherit it).
    """
    global _CACHE
    _CACHE = _FactsCache(max(0, cache_bytes), max(0, cache_max_text))


#: The last text each thread checked (one per thread: a bounded cost), for texts too large
#: for the cache that the web layer and the engine both check.
_LAST = threading.local()
