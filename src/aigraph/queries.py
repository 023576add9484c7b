"""Named queries: ``queries/*.rq`` files whose stem is the name.

The leading ``#`` lines are the header: ``# title: ...``, ``# description: ...`` (may repeat
to continue) and ``# param: NAME KIND`` with KIND ``iri`` or ``literal``. Parameters are bound
as initial bindings by the engine, never pasted into the query text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from rdflib import Literal, URIRef
from rdflib.term import Identifier

from aigraph.errors import BadRequest, NotFound, UsageError
from aigraph.settings import CANONICAL_BASE

PARAM_KINDS = ("iri", "literal")
_HEADER = re.compile(r"^#\s*(title|description|param)\s*:\s*(.*?)\s*$", re.IGNORECASE)
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# An absolute IRI: a scheme, then no characters the SPARQL IRIREF production forbids.
ABSOLUTE_IRI = re.compile(r'^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>"{}|^`\\\x00-\x20]*$')


@dataclass(frozen=True)
class Param:
    """A query parameter: the variable name and how its value is read (iri or literal)."""

    name: str
    kind: str


@dataclass(frozen=True)
class NamedQuery:
    """One ``queries/*.rq`` file."""

    name: str
    title: str
    description: str
    params: tuple[Param, ...]
    text: str
    path: Path

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "params": [{"name": p.name, "kind": p.kind} for p in self.params],
            "text": self.text,
        }

    def bind(self, raw: Mapping[str, str]) -> dict[str, Identifier]:
        """Turn request parameters into typed bindings; unknown or empty ones are not used."""
        bindings: dict[str, Identifier] = {}
        for param in self.params:
            value = raw.get(param.name)
            if value is None or value == "":
                continue
            if param.kind == "iri":
                if not ABSOLUTE_IRI.match(value):
                    raise BadRequest(
                        f"parameter {param.name!r} must be an absolute IRI, got {value!r}"
                    )
                bindings[param.name] = URIRef(value)
            else:
                bindings[param.name] = Literal(value)
        return bindings


def parse_file(path: Path) -> NamedQuery:
    """Read one named query file and its header."""
    text = path.read_text(encoding="utf-8")
    title, description, params = path.stem, [], []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        match = _HEADER.match(line)
        if not match:
            continue
        key, value = match.group(1).lower(), match.group(2)
        if key == "title":
            title = value
        elif key == "description":
            description.append(value)
        else:
            params.append(_param(path, value))
    return NamedQuery(path.stem, title, " ".join(description), tuple(params), text, path)


def _param(path: Path, spec: str) -> Param:
    parts = spec.split()
    if len(parts) != 2 or not _NAME.match(parts[0]) or parts[1].lower() not in PARAM_KINDS:
        raise UsageError(
            f"{path}: bad parameter declaration {spec!r}; write '# param: NAME iri|literal'"
        )
    return Param(parts[0], parts[1].lower())


def load_all(folder: Path) -> dict[str, NamedQuery]:
    """Return the named queries of ``folder`` by name, sorted by name."""
    return {p.stem: parse_file(p) for p in sorted(folder.glob("*.rq"), key=lambda p: p.stem)}


def rebase_all(named: Mapping[str, NamedQuery], base: str) -> dict[str, NamedQuery]:
    """Return the queries with IRIs under the canonical base moved under ``base``, as the data.

    The query files are trusted content of the project, not client input: this is the same
    move ``graph.rebase`` makes on the data, so the queries keep matching it.
    """
    base = base.rstrip("/")
    if base == CANONICAL_BASE:
        return dict(named)
    old = f"<{CANONICAL_BASE}"
    return {k: replace(q, text=q.text.replace(old, f"<{base}")) for k, q in named.items()}


def lookup(queries: Mapping[str, NamedQuery], name: str) -> NamedQuery:
    """Return the named query or raise NotFound listing the names there are."""
    try:
        return queries[name]
    except KeyError:
        known = ", ".join(queries) or "none"
        raise NotFound(f"no named query {name!r}; known queries: {known}") from None
