"""Query results as comparable text, for the tests that hold two engines' answers side by side."""

from __future__ import annotations

from rdflib import BNode

from aigraph.model import QueryResult


def canonical(result: QueryResult) -> list[str]:
    """Rows (or triples) as sorted strings, blank nodes made equal."""

    def term(value: object) -> str:
        return "_:b" if isinstance(value, BNode) else repr(value)

    if result.form == "ask":
        return [str(result.boolean)]
    if result.form in ("construct", "describe"):
        return sorted(" ".join(term(t) for t in triple[:3]) for triple in result.triples)
    return sorted(
        " ".join(f"{name}={term(row.get(name))}" for name in result.variables)
        for row in result.rows
    )
