"""What the ``aigraph query`` command does, kept out of the click layer so it can be tested."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from rdflib import Literal
from rdflib.term import Node

from aigraph import formats, queries, results
from aigraph.core import Aigraph
from aigraph.engine.remote import remote_query
from aigraph.errors import UsageError
from aigraph.model import QueryResult
from aigraph.project import project
from aigraph.settings import Settings


def resolve(target: str, settings: Settings | None = None) -> queries.NamedQuery:
    """Return the named query ``target`` (of the project of ``settings``), or the query of a
    file, or standard input (-)."""
    if target == "-":
        text = sys.stdin.read()
        return queries.NamedQuery("stdin", "stdin", "", (), text, Path("-"))
    path = Path(target)
    if path.suffix == ".rq" or path.is_file():
        if not path.is_file():
            raise UsageError(f"no such query file: {target}")
        return queries.parse_file(path)
    return queries.lookup(queries.load_all(project(settings).queries_dir), target)


def parse_params(params: Sequence[str]) -> dict[str, str]:
    parsed = {}
    for item in params:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise UsageError(f"--param takes NAME=VALUE, got {item!r}")
        parsed[name] = value
    return parsed


def run_query(
    target: str,
    endpoint: str | None,
    fmt: str,
    params: Sequence[str],
    data: Sequence[Path] = (),
    engine: str | None = None,
    project_dir: Path | None = None,
) -> str:
    """Run a query locally or on ``endpoint`` and return it rendered as table, CSV or JSON.

    Named queries are those of the project ``project_dir`` (default: the bundled project).
    """
    settings = Settings.from_env(
        project=str(project_dir) if project_dir else None,
        data=tuple(str(p) for p in data) or None,
        engine=engine,
        validate=False,
        executors=1,
    )
    named = resolve(target, settings)
    bindings = named.bind(parse_params(params))
    if endpoint:
        timeout = settings.endpoint_timeout
        result = remote_query(endpoint, named.text, bindings=bindings, timeout=timeout)
    else:
        aigraph = Aigraph.open(settings)
        try:
            result = aigraph.query(named.text, bindings=bindings)
        finally:
            aigraph.close()
    return render(result, fmt)


def render(result: QueryResult, fmt: str) -> str:
    """Render a result as a plain-text table, CSV or SPARQL JSON."""
    if fmt in ("csv", "json"):
        if result.form in ("select", "ask"):
            offer = formats.negotiate(None, formats.RESULTS, explicit_format=fmt)
            return results.serialize_result(result, offer).decode("utf-8")
        offer = formats.negotiate(
            None, formats.GRAPH, explicit_format="jsonld" if fmt == "json" else "nt"
        )
        return results.serialize_graph(result.triples, offer).decode("utf-8")
    return table(result)


def table(result: QueryResult) -> str:
    """Return a fixed-width table of a result (graph results as subject/predicate/object)."""
    if result.form == "ask":
        return f"{'true' if result.boolean else 'false'}\n"
    if result.form in ("construct", "describe"):
        header = ["subject", "predicate", "object"]
        rows = [[cell(s), cell(p), cell(o)] for s, p, o, _ in result.triples]
    else:
        header = list(result.variables)
        rows = [[cell(row.get(v)) for v in header] for row in result.rows]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(header)]
    lines = [" | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    lines.append("-+-".join("-" * w for w in widths))
    lines += [" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    note = f"{len(rows)} row(s)"
    if result.truncated:
        note += f", truncated at the limit of {result.limit}"
    return "\n".join(lines + [note]) + "\n"


def cell(term: Node | None) -> str:
    if term is None:
        return ""
    if isinstance(term, Literal) and term.language:
        return f"{term}@{term.language}"
    return str(term).replace("\n", " ")
