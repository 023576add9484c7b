"""Answer pySHACL's SHACL-SPARQL queries on an embedded Oxigraph copy of the data graph.

pySHACL stays the validator: it finds the focus nodes, pre-binds ``$this``, runs the core
constraints and writes every result. Only the evaluation of a ``SELECT`` query moves from
rdflib's SPARQL engine to pyoxigraph (``$this`` substituted as in SEP-0007, which is SHACL's
pre-binding), and only for a query whose answer is the same on both engines. Anything else is
answered by rdflib as before: other pre-bound variables, ``FROM``, ``$this`` in a sub-select,
``BIND``, ``BOUND``, a projection expression or a solution modifier (Oxigraph's substitution and
rdflib's initBindings read it differently there), ``LIMIT``/``OFFSET``, extension functions,
nondeterministic built-ins, regular-expression syntax Python and Rust read differently, and any
query Oxigraph refuses.

The copy is made once, on the first query it can answer, from the very quads pySHACL sees
(ontology declarations included). It is used only if every literal and blank node comes back
from Oxigraph spelled as rdflib holds it, and no two literals rdflib tells apart are one in
Oxigraph (Oxigraph writes numbers in canonical form, lowercases language tags and reads "a" and
"a"^^xsd:string as one term); otherwise rdflib answers everything.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pyoxigraph as ox
from rdflib import XSD, BNode, Dataset, Graph, Literal, URIRef, Variable
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID
from rdflib.namespace import NamespaceManager
from rdflib.plugins.serializers.nt import _quoteLiteral
from rdflib.query import Result
from rdflib.term import Node

#: Keywords whose answers may differ between the engines (or from run to run): LIMIT and
#: OFFSET pick rows in engine order; SHACL forbids VALUES, MINUS and SERVICE in constraints.
_UNSAFE = frozenset(
    "LIMIT OFFSET VALUES MINUS SERVICE FROM BNODE RAND NOW UUID STRUUID SAMPLE "
    "ASK CONSTRUCT DESCRIBE LOAD CLEAR DROP CREATE INSERT DELETE WITH".split()
)

#: Strings, IRIs and comments (dropped before looking at the query) and the tokens that matter.
_TOKENS = re.compile(
    r"""(?P<skip>'{3}.*?'{3}|"{3}.*?"{3}|'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"|#[^\n]*)"""
    r"""|(?P<iri><[^<>"{}|^`\\\x00-\x20]*>)"""
    r"|(?P<var>[?$][A-Za-z0-9_\u00b7-\uffff]+)"
    r"|(?P<call>[A-Za-z][\w.-]*:[\w.-]*(?=\s*\())"
    r"|(?P<word>[A-Za-z_][\w-]*)"
    r"|(?P<brace>[{}])"
    r"|(?P<paren>[()])",
    re.DOTALL,
)
_PREFIX = re.compile(r"PREFIX\s+([\w.-]*):\s*<([^>]*)>", re.IGNORECASE)

#: Regular-expression syntax Python's re (rdflib) reads and Rust's regex (Oxigraph) does not, or
#: reads otherwise: groups with options, lookaround, back-references, anchors other than ^ $.
_REGEX_DIALECT = re.compile(r"\(\?|\\[1-9bBAZzG]")

#: Where a pre-bound $this reads differently: Oxigraph's substitution leaves it unbound inside
#: BIND and BOUND (rdflib's initBindings do not), and SEP-0007 and rdflib differ on sub-selects,
#: projection expressions and solution modifiers. Found by the W3C suite (pre-binding-003/004).
_THIS_UNSAFE_IN = frozenset({"BIND", "BOUND"})


def unsupported(query: str, bound: Mapping[str, Node]) -> str | None:
    """Return why Oxigraph must not answer ``query`` with ``bound`` pre-bound (None: it may).

    The check reads the query's tokens and says no to anything it is not sure of: a query it
    turns away is answered by rdflib, as without this module.
    """
    if set(bound) - {"this"}:
        return f"pre-bound {', '.join(sorted(set(bound) - {'this'}))}"
    if "urn:x-rdflib:" in query:
        return "names rdflib's default graph"
    xsd = {prefix for prefix, ns in _PREFIX.findall(query) if ns == str(XSD)}
    reading = _Reader()
    for match in _TOKENS.finditer(query):
        kind, text = match.lastgroup or "", match.group()
        if kind == "skip" and text[0] in "'\"" and _REGEX_DIALECT.search(text):
            return "a string with regular-expression syntax the engines read differently"
        if kind == "iri" and query[match.end() :].lstrip().startswith("("):
            if not text[1:-1].startswith(str(XSD)):
                return f"extension function {text}"
        if kind == "call" and text.split(":", 1)[0] not in xsd:
            return f"extension function {text}"
        why = reading.step(kind, text.upper() if kind == "word" else text)
        if why and (bound or not why.startswith("$this")):
            return why
    return None if reading.selects else "not a SELECT query"


class _Reader:
    """Follow the nesting of a query's tokens; say what makes it unsafe for Oxigraph."""

    def __init__(self) -> None:
        self.depth = 0
        self.selects = 0
        self.subselects: list[int] = []  # brace depth of each open sub-select
        self.parens: list[str] = []  # the word before each open parenthesis
        self.projecting = False  # between SELECT and its WHERE clause
        self.modifiers = False  # after GROUP BY, ORDER BY or HAVING
        self.previous = ""

    def step(self, kind: str, text: str) -> str | None:
        previous, self.previous = self.previous, text
        if kind == "word":
            return self._word(text)
        if kind == "brace":
            self.projecting = False
            self.depth += 1 if text == "{" else -1
            while self.subselects and self.depth < self.subselects[-1]:
                self.subselects.pop()
        elif kind == "paren":
            if text == "(":
                self.parens.append(previous)
            elif self.parens:
                self.parens.pop()
        elif kind == "var" and text[1:] == "this":
            return self._this(previous)
        return None

    def _word(self, word: str) -> str | None:
        if word in _UNSAFE:
            return word
        if word == "SELECT":
            self.selects += 1
            self.projecting = True
            if self.selects > 1:
                self.subselects.append(self.depth)
        elif word == "WHERE":
            self.projecting = False
        elif word in ("GROUP", "ORDER", "HAVING"):
            self.modifiers = True
        return None

    def _this(self, previous: str) -> str | None:
        if previous == "AS":
            return "$this bound by AS"
        if self.subselects:
            return "$this in a sub-select"
        if _THIS_UNSAFE_IN.intersection(self.parens):
            return f"$this in {'/'.join(sorted(_THIS_UNSAFE_IN.intersection(self.parens)))}"
        if self.projecting and self.parens:
            return "$this in a projection expression"
        if self.modifiers:
            return "$this in GROUP BY, ORDER BY or HAVING"
        return None


class OxigraphCopy:
    """The quads of an rdflib dataset in an in-memory Oxigraph store; its default graph is the
    set union of all graphs, as rdflib's with ``default_union``."""

    def __init__(self, dataset: Dataset) -> None:
        self._literals: dict[tuple[str, str | None, str], Literal] = {}
        self._merged = False  # whether two rdflib literals are one Oxigraph literal
        blanks: set[str] = set()
        lines: list[str] = []
        for graph in dataset.graphs():
            name = graph.identifier
            suffix = " .\n" if name == DATASET_DEFAULT_GRAPH_ID else f" {_write(name)} .\n"
            written: dict[Node, str] = {}
            for (s, p, o), _ in dataset.store.triples((None, None, None), graph):
                parts = []
                for term in (s, p, o):
                    text = written.get(term)
                    if text is None:
                        text = written[term] = _write(term)
                        if isinstance(term, Literal):
                            known = self._literals.setdefault(_key(term), term)
                            # "a" and "a"^^xsd:string: two terms in rdflib, one in Oxigraph
                            self._merged = self._merged or known != term
                        elif isinstance(term, BNode):
                            blanks.add(str(term))
                    parts.append(text)
                lines.append(" ".join(parts) + suffix)
        self.store = ox.Store()
        data = "".join(lines).encode()
        quads = len(lines)
        del lines  # the text is held once, as bytes
        self.store.extend(ox.parse(data, ox.RdfFormat.N_QUADS, rename_blank_nodes=False))
        for graph in dataset.graphs():
            if graph.identifier != DATASET_DEFAULT_GRAPH_ID:
                self.store.add_graph(_to_ox(graph.identifier))
        # rdflib's union default graph is a set; Oxigraph's union is a bag. When no triple is in
        # two graphs they are the same, else the default graph gets each triple once.
        self.union = quads == dataset.store.__len__(context=None)  # type: ignore[call-arg]
        if not self.union:
            self.store.update("INSERT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }")
        self.faithful = self._check(blanks)

    def _check(self, blanks: set[str]) -> bool:
        """Return whether every literal and blank node reads back as rdflib holds it."""
        seen_literals: set[tuple[str, str | None, str]] = set()
        seen_blanks: set[str] = set()
        query = "SELECT DISTINCT ?t { { ?t ?p ?o } UNION { ?s ?p ?t } FILTER(!isIRI(?t)) }"
        rows: Any = self.store.query(query, use_default_graph_as_union=self.union)
        for row in rows:
            term = row[0]
            if isinstance(term, ox.Literal):
                seen_literals.add((term.value, term.language, term.datatype.value))
            else:
                seen_blanks.add(term.value)
        if self._merged:
            return False
        return seen_literals == set(self._literals) and seen_blanks == blanks

    def select(self, query: str, bound: Mapping[str, Node]) -> Result:
        """Answer a SELECT query as an rdflib ``Result`` holding the data's own terms."""
        substitutions = {ox.Variable(name): _to_ox(term) for name, term in bound.items()}
        solutions = self.store.query(
            query, substitutions=substitutions or None, use_default_graph_as_union=self.union
        )
        if not isinstance(solutions, ox.QuerySolutions):
            raise ValueError("not a SELECT query")  # rdflib answers it
        names = [Variable(v.value) for v in solutions.variables]
        result = Result("SELECT")
        result.vars = names
        result.bindings = [
            {
                name: self._to_rdflib(term)
                for name, term in zip(names, row, strict=True)
                if term is not None
            }
            for row in solutions
        ]
        return result

    def _to_rdflib(self, term: Any) -> Any:
        if isinstance(term, ox.NamedNode):
            return URIRef(term.value)
        if isinstance(term, ox.BlankNode):
            return BNode(term.value)
        if isinstance(term, ox.Literal):
            key = (term.value, term.language, term.datatype.value)
            if key in self._literals:
                return self._literals[key]
            if term.language:
                return Literal(term.value, lang=term.language)
            if term.datatype.value == str(XSD.string):
                return Literal(term.value)
            return Literal(term.value, datatype=URIRef(term.datatype.value))
        raise TypeError(f"unexpected term from Oxigraph: {term!r}")


_LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"


def _key(literal: Literal) -> tuple[str, str | None, str]:
    if literal.language:
        return str(literal), literal.language, _LANG_STRING
    return str(literal), None, str(literal.datatype or XSD.string)


def _write(term: Node) -> str:
    if isinstance(term, URIRef):
        return f"<{term}>"
    if isinstance(term, BNode):
        return f"_:{term}"
    if isinstance(term, Literal):
        return _quoteLiteral(term)
    raise TypeError(f"cannot copy {term!r} to Oxigraph")


def _to_ox(term: Node) -> Any:
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype or XSD.string)))
    raise TypeError(f"cannot give {term!r} to Oxigraph")


_REFUSED: Any = object()


class RoutedDataset(Dataset):
    """A view of a dataset's store whose SPARQL queries Oxigraph answers where it safely can.

    ``routed`` and ``fallbacks`` count the queries each engine answered; ``reasons`` says why
    rdflib answered the others (one entry per distinct reason).
    """

    def __init__(self, store: Any) -> None:
        super().__init__(store=store, default_union=True)
        # Prefixes pySHACL binds (those of the ontology) go to this view, not to the store.
        self.namespace_manager = NamespaceManager(Graph(), bind_namespaces="none")
        for prefix, namespace in store.namespaces():
            self.namespace_manager.bind(prefix, namespace, override=False)
        self.routed = 0
        self.fallbacks = 0
        self.reasons: dict[str, int] = {}
        self._copy: OxigraphCopy | None = None
        self._verdicts: dict[tuple[str, frozenset[str]], str | None] = {}

    def query(  # type: ignore[override]
        self,
        query_object: Any,
        processor: Any = "sparql",
        result: Any = "sparql",
        initNs: Mapping[str, Any] | None = None,  # noqa: N803 - rdflib's name
        initBindings: Mapping[str, Any] | None = None,  # noqa: N803 - rdflib's name
        use_store_provided: bool = True,
        **kwargs: Any,
    ) -> Result:
        bound = {str(k): v for k, v in (initBindings or {}).items()}
        why = self._why_not(query_object, processor, result, initNs, bound, kwargs)
        copy = self._oxigraph() if why is None else None
        if why is None and (copy is None or not copy.faithful):
            why = "no faithful Oxigraph copy"
        if why is None and copy is not None:
            try:
                answer = copy.select(query_object, bound)
            except Exception as exc:  # noqa: BLE001 - whatever Oxigraph raises, rdflib answers
                why = f"Oxigraph refused it ({type(exc).__name__})"
            else:
                self.routed += 1
                return answer
        why = why or "unknown"
        self.fallbacks += 1
        self.reasons[why] = self.reasons.get(why, 0) + 1
        return super().query(
            query_object, processor, result, initNs, initBindings, use_store_provided, **kwargs
        )

    def _why_not(
        self,
        query: Any,
        processor: Any,
        result: Any,
        init_ns: Mapping[str, Any] | None,
        bound: Mapping[str, Node],
        kwargs: Mapping[str, Any],
    ) -> str | None:
        if not isinstance(query, str) or processor != "sparql" or result != "sparql":
            return "not a query text"
        if init_ns or kwargs:
            return "extra query options"
        key = (query, frozenset(bound))
        if key not in self._verdicts:
            self._verdicts[key] = unsupported(query, bound)
        return self._verdicts[key]

    @property
    def oxigraph_copy(self) -> OxigraphCopy | None:
        """The Oxigraph copy, once a query made it (None before, or if Oxigraph refused it)."""
        return None if self._copy is _REFUSED else self._copy

    def _oxigraph(self) -> OxigraphCopy | None:
        if self._copy is None:
            try:
                self._copy = OxigraphCopy(self)
            except Exception as exc:  # noqa: BLE001 - a term Oxigraph refuses: rdflib answers
                self._copy = _REFUSED
                self.reasons[f"Oxigraph refused the data ({exc})"] = 0
        return None if self._copy is _REFUSED else self._copy
