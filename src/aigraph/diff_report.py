"""``aigraph diff`` for people and tools: text, Markdown (for a pull request) and JSON.

Terms are written as prefixed names with their labels in the chosen language (the pages'
``View``), statements about blank nodes as paths from the nearest IRI, and each changed graph
with the source sentences its provenance records (``aig:sourceSentence``).
"""

from __future__ import annotations

import json

from rdflib import BNode, Literal, URIRef
from rdflib.term import Node

from aigraph.diff import Diff
from aigraph.errors import UsageError
from aigraph.model import Quad
from aigraph.pages.resource import View
from aigraph.settings import CANONICAL_BASE
from aigraph.validation.locate import LOCAL_NAME
from aigraph.validation.report import md


class _Words:
    """Terms for people: prefixed names, labels in one language, source sentences."""

    def __init__(self, result: Diff, lang: str) -> None:
        self.anchors = result.anchors
        self.views = [
            View(result.new_data, CANONICAL_BASE, lang),
            View(result.old_data, CANONICAL_BASE, lang),
        ]
        self.sentence = URIRef(f"{CANONICAL_BASE}/ontology#sourceSentence")
        names = {**dict(result.old_data.namespaces()), **dict(result.new_data.namespaces())}
        # Longest namespace first, so that graph: wins over a shorter base prefix.
        self.prefixes = sorted(
            ((str(ns), prefix) for prefix, ns in names.items() if prefix),
            key=lambda item: -len(item[0]),
        )

    def curie(self, iri: str) -> str | None:
        known = self.views[0].curie(iri)  # the usual prefixes (schema:, org:, ...) first
        if known:
            return known
        for namespace, prefix in self.prefixes:
            local = iri[len(namespace) :]
            if iri.startswith(namespace) and LOCAL_NAME.fullmatch(local) and local:
                return f"{prefix}:{local}"
        return None

    def term(self, node: Node | None) -> str:
        if node is None:
            return "(default graph)"
        if isinstance(node, BNode):
            return "_:" + str(node).split(".")[0][:10]
        if isinstance(node, Literal):
            text = json.dumps(str(node), ensure_ascii=False)
            if node.language:
                return f"{text}@{node.language}"
            if node.datatype is not None:
                return f"{text}^^{self.curie(str(node.datatype)) or f'<{node.datatype}>'}"
            return text
        return self.curie(str(node)) or f"<{node}>"

    def label(self, node: Node | None) -> str:
        if not isinstance(node, URIRef):
            return ""
        for view in self.views:
            text = view.label(node, fallback=False)
            if text:
                return text
        return ""

    def named(self, node: Node | None) -> str:
        label = self.label(node)
        return f"{self.term(node)} ({label})" if label else self.term(node)

    def sources(self, name: Node | None) -> list[str]:
        if name is None:
            return []
        for view in self.views:
            found = sorted(str(o) for o in view.dataset.objects(name, self.sentence))
            if found:
                return found
        return []

    def statement(self, quad: Quad) -> str:
        """Write a statement; one about a blank node as a path from the nearest IRI."""
        s, p, o, _ = quad
        text = f"{self.term(p)} {self.named(o)}"
        seen: set[Node] = set()
        while isinstance(s, BNode) and s in self.anchors and s not in seen:
            seen.add(s)
            s, via = self.anchors[s]
            text = f"{self.term(via)} [ {text} ]"
        return f"{self.named(s)} {text}"


def _summary(result: Diff) -> str:
    if result.equal:
        return f"no change ({result.old} → {result.new})"
    added, removed = result.counts()
    return (
        f"{added} statement(s) added, {removed} removed in {len(result.changes)} named "
        f"graph(s) ({result.old} → {result.new})"
    )


def render_text(result: Diff, lang: str = "en") -> str:
    words = _Words(result, lang)
    lines = [f"aigraph diff: {_summary(result)}"]
    for change in result.changes:
        lines += ["", f"graph {words.named(change.graph)}"]
        if change.renamed_from is not None:
            lines.append(f"  renamed from {words.named(change.renamed_from)}")
        lines += [f"  source: {sentence}" for sentence in words.sources(change.graph)]
        lines += [f"  - {words.statement(q)}" for q in change.removed]
        lines += [f"  + {words.statement(q)}" for q in change.added]
    return "\n".join(lines) + "\n"


def render_markdown(result: Diff, lang: str = "en") -> str:
    words = _Words(result, lang)
    out = [f"### aigraph diff: {md(_summary(result))}", ""]
    if result.equal:
        return "\n".join(out)
    out += ["| Named graph | Added | Removed |", "|---|---:|---:|"]
    for change in result.changes:
        renamed = (
            f" (renamed from {md(words.term(change.renamed_from))})" if change.renamed_from else ""
        )
        out.append(
            f"| {md(words.named(change.graph))}{renamed} | {len(change.added)} | {len(change.removed)} |"
        )
    for change in result.changes:
        out += ["", f"#### {md(words.named(change.graph))}", ""]
        out += [f"> {md(sentence)}" for sentence in words.sources(change.graph)]
        body = [f"- {words.statement(q)}" for q in change.removed]
        body += [f"+ {words.statement(q)}" for q in change.added]
        fence = "`" * max(3, 1 + max((_backticks(line) for line in body), default=0))
        out += ["", f"{fence}diff", *body, fence]
    return "\n".join(out) + "\n"


def _backticks(text: str) -> int:
    longest = run = 0
    for char in text:
        run = run + 1 if char == "`" else 0
        longest = max(longest, run)
    return longest


def render_json(result: Diff, lang: str = "en") -> str:
    words = _Words(result, lang)

    def statement(quad: Quad) -> dict[str, str]:
        s, p, o, _ = quad
        return {
            "s": words.term(s),
            "p": words.term(p),
            "o": words.term(o),
            "text": words.statement(quad),
        }

    added, removed = result.counts()
    body = {
        "equal": result.equal,
        "old": result.old,
        "new": result.new,
        "added": added,
        "removed": removed,
        "graphs": [
            {
                "graph": words.term(c.graph),
                "iri": str(c.graph) if c.graph is not None else None,
                "label": words.label(c.graph),
                "renamedFrom": str(c.renamed_from) if c.renamed_from is not None else None,
                "sources": words.sources(c.graph),
                "added": [statement(q) for q in c.added],
                "removed": [statement(q) for q in c.removed],
            }
            for c in result.changes
        ],
    }
    return json.dumps(body, ensure_ascii=False, indent=2) + "\n"


RENDERERS = {"text": render_text, "markdown": render_markdown, "json": render_json}


def render(result: Diff, fmt: str, lang: str = "en") -> str:
    """Return ``result`` written in ``fmt`` (text, markdown or json)."""
    if fmt not in RENDERERS:
        raise UsageError(f"unknown diff format {fmt!r}; use one of {', '.join(RENDERERS)}")
    return RENDERERS[fmt](result, lang)
