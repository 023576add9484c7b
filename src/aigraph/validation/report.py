"""Render a ValidationReport for people (text, markdown) and tools (turtle, json, junit, sarif).

``github`` writes workflow commands (``::error file=…,line=…,col=…,title=…::message``) that
GitHub shows on the lines of a pull request; ``markdown`` a summary for
``$GITHUB_STEP_SUMMARY`` or a merge-request comment; ``sarif`` is in ``sarif.py``.

Every format is a function of the results alone: the same data and shapes give the same bytes
on every run (results sorted, blank nodes renamed in that order, no timings).
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import xml.etree.ElementTree as ET
from collections import Counter, deque
from collections.abc import Callable
from typing import Any

from rdflib import RDF, SH, BNode, Graph, URIRef
from rdflib.term import Node

from aigraph.errors import AigraphError, DataError, UsageError
from aigraph.logs import escape as one_line
from aigraph.validation.sarif import columns, render_sarif, rule_id
from aigraph.validation.validate import ValidationReport, Violation

#: The name of the file in reports for a result whose node is in no loaded file.
NO_FILE = "<no file>"


def render(report: ValidationReport, fmt: str) -> str:
    """Return ``report`` written in ``fmt``, one of RENDERERS (``text``, ``json``, ``sarif``...)."""
    try:
        renderer = RENDERERS[fmt]
    except KeyError:
        raise UsageError(
            f"unknown report format {fmt!r}; use one of {', '.join(RENDERERS)}"
        ) from None
    return renderer(report)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def summary(report: ValidationReport) -> str:
    """Return the one-line summary: ``Conforms`` or ``N violations, M warnings in K files``."""
    counts = report.counts_by_severity()
    always = ("Violation", "Warning")
    parts = [_plural(n, sev.lower()) for sev, n in counts.items() if n or sev in always]
    files = {v.file for v in report.violations}
    tally = f"{', '.join(parts)} in {_plural(len(files), 'file')}"
    if report.conforms:
        return f"Conforms ({tally})" if report.violations else "Conforms"
    return tally


def _where(v: Violation) -> str:
    if v.file is None:
        return NO_FILE
    return f"{v.file}:{v.line}" if v.line is not None else v.file


def render_text(report: ValidationReport) -> str:
    """Write the summary, then each result as ``file:line: Severity: message`` and details."""
    lines = [summary(report)]
    for v in report.violations:
        lines.append("")
        lines.append(f"{_where(v)}: {v.severity}: {v.message}")
        details = [
            ("focus", v.focus_display),
            ("shape", v.shape),
            ("path", v.path),
            ("value", v.value),
            ("constraint", v.constraint),
        ]
        lines += [f"    {name}: {text}" for name, text in details if text]
    lines.append("")
    against = f" against {', '.join(report.shapes)}" if report.shapes else ""
    lines.append(
        f"Checked {_plural(len(report.files), 'file')}, {_plural(report.triples, 'triple')}"
        f"{against}; {report.threshold} and worse fail."
    )
    return "\n".join(one_line(line) for line in lines) + "\n"  # a value cannot start a line


#: A long string of rdflib's Turtle (its quotes and backslashes are escaped inside).
_LONG_STRING = re.compile(r'"""((?:[^"\\]|\\.|"(?!""))*)"""', re.DOTALL)


def render_turtle(report: ValidationReport) -> str:
    """Write the standard SHACL validation report (``sh:ValidationReport``) in Turtle.

    A value with line breaks is written with ``\\n`` escapes, not across lines: no line of the
    report starts with what the data holds (a CI runner reads ``::error::`` as a command).
    """
    text = stable_graph(report).serialize(format="turtle")
    return _LONG_STRING.sub(
        lambda found: '"""' + found.group(1).replace("\r", "\\r").replace("\n", "\\n") + '"""',
        text,
    )


def stable_graph(report: ValidationReport) -> Graph:
    """Return the results graph with blank-node labels that are the same on every run.

    pySHACL's labels are random and Turtle writers order blank nodes by label. The report and
    its results are named in the order of the sorted results, then every blank node below them
    in a breadth-first walk that visits children in the order of what they hold; blank nodes the
    walk does not reach (copies of shape paths) start walks of their own, in the same order.
    """
    results = report.results_graph
    key = _structure_key(results)
    names: dict[Node, Node] = {}
    for number, node in enumerate(sorted(results.subjects(RDF.type, SH.ValidationReport), key=key)):
        names[node] = BNode(f"report{number:06d}")
    for number, v in enumerate(report.violations, 1):
        if v.node is not None:
            names.setdefault(v.node, BNode(f"result{number:06d}"))
    blanks = {n for triple in results for n in (triple[0], triple[2]) if isinstance(n, BNode)}
    queue = deque([*names, *sorted(blanks - set(names), key=key)])
    while queue:
        node = queue.popleft()
        names.setdefault(node, BNode(f"b{len(names):06d}"))
        for _, child in sorted(results.predicate_objects(node), key=key):
            if isinstance(child, BNode) and child not in names:
                names[child] = BNode(f"b{len(names):06d}")
                queue.append(child)
    stable = Graph(bind_namespaces="core")
    for prefix, namespace in results.namespaces():
        stable.bind(prefix, namespace, override=True)
    for s, p, o in results:
        stable.add((names.get(s, s), p, names.get(o, o)))
    return stable


def _structure_key(graph: Graph) -> Callable[[object], str]:
    """Return a sort key for a term (or a pair of terms) that ignores blank-node labels.

    A blank node is described by what it holds, recursively, and by how many triples point at
    it, so that copies of one structure that are shared differently sort apart.
    """
    pointed = Counter(o for _, _, o in graph if isinstance(o, BNode))
    seen: dict[Node, str] = {}

    def term(node: Node, depth: int = 0) -> str:
        if not isinstance(node, BNode):
            return node.n3()
        if node not in seen:
            if depth > 32:  # a cycle of blank nodes, or a very long list
                return "[]"
            inner = sorted(
                f"{p.n3()} {term(o, depth + 1)}" for p, o in graph.predicate_objects(node)
            )
            seen[node] = f"[{pointed[node]}| " + " ; ".join(inner) + "]"
        return seen[node]

    def key(item: object) -> str:
        parts = item if isinstance(item, tuple) else (item,)
        return " ".join(term(part) for part in parts)

    return key


def _focus_id(v: Violation, blanks: dict[BNode, str]) -> str:
    if isinstance(v.focus, URIRef):
        return str(v.focus)
    if isinstance(v.focus, BNode):
        # Numbered in report order: the parser's labels change from run to run.
        return blanks.setdefault(v.focus, f"_:b{len(blanks) + 1}")
    return v.focus.n3() if v.focus is not None else ""


def result_dict(v: Violation, blanks: dict[BNode, str] | None = None) -> dict[str, Any]:
    """Return one result as the JSON object of the ``json`` report (stable key order).

    ``blanks`` numbers the blank focus nodes of one report (``_:b1``, ``_:b2``, ...).
    """
    return {
        "file": v.file,
        "line": v.line,
        "focus": _focus_id(v, {} if blanks is None else blanks),
        "focusDisplay": v.focus_display,
        "path": v.path,
        "value": v.value,
        "shape": v.shape,
        "constraint": v.constraint,
        "severity": v.severity,
        "message": v.message,
        "lang": v.message_lang,
        "messages": dict(v.messages),
    }


def render_json(report: ValidationReport) -> str:
    """Write the report as JSON: conforms, counts and results, keys in a stable order."""
    blanks: dict[BNode, str] = {}
    body = {
        "conforms": report.conforms,
        "threshold": report.threshold,
        "lang": report.lang,
        "counts": report.counts_by_severity(),
        "files": list(report.files),
        "shapes": list(report.shapes),
        "triples": report.triples,
        "results": [result_dict(v, blanks) for v in report.violations],
    }
    return json.dumps(body, ensure_ascii=False, indent=2) + "\n"


# XML 1.0 cannot hold most control characters, not even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def _failing_groups(report: ValidationReport) -> dict[tuple[str, str], list[Violation]]:
    groups: dict[tuple[str, str], list[Violation]] = {}
    for v in report.failing():
        groups.setdefault((v.file or NO_FILE, v.shape), []).append(v)
    return groups


def _result_line(v: Violation) -> str:
    where = f"line {v.line}" if v.line is not None else "no line"
    extra = "".join(f", {k} {t}" for k, t in (("path", v.path), ("value", v.value)) if t)
    return f"{where}: {v.severity}: {v.message} (focus {v.focus_display}{extra})"


def render_junit(report: ValidationReport) -> str:
    """Write JUnit XML: a testcase per checked file, a failure per failing (file, shape)."""
    groups = _failing_groups(report)
    failing_files = {file for file, _ in groups}
    files = list(report.files) + sorted(failing_files - set(report.files))
    suite = ET.Element("testsuite", name="aigraph validate")
    for file in files:
        shapes = [(shape, found) for (f, shape), found in groups.items() if f == file]
        if not shapes:
            ET.SubElement(suite, "testcase", classname=_xml(file), name="conforms", time="0")
        for shape, found in shapes:
            case = ET.SubElement(suite, "testcase", classname=_xml(file), name=_xml(shape))
            head = f"{_plural(len(found), 'result')} of {shape}: {found[0].message}"
            failure = ET.SubElement(case, "failure", message=_xml(head), type=found[0].severity)
            failure.text = _xml("\n".join(one_line(f"{file}: {_result_line(v)}") for v in found))
    failing = set(report.failing())
    passing = [v for v in report.violations if v not in failing]
    if passing:
        out = ET.SubElement(suite, "system-out")
        lines = (one_line(f"{v.file or NO_FILE}: {_result_line(v)}") for v in passing)
        out.text = _xml("\n".join(lines))  # a line per result: a file name cannot start one
    tests = str(len(suite.findall("testcase")))
    # No time attributes: the same results give the same bytes.
    stats = {"tests": tests, "failures": str(len(groups)), "errors": "0", "skipped": "0"}
    suite.attrib.update(stats)
    root = ET.Element(
        "testsuites", name="aigraph validate", tests=tests, failures=stats["failures"], errors="0"
    )
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


# -- for reviewers: GitHub workflow annotations and a Markdown summary -------------------------

#: Workflow command per severity (a custom severity counts as a violation).
COMMANDS = {"Violation": "error", "Warning": "warning", "Info": "notice"}

#: Results listed in a Markdown summary; GitHub keeps at most 1 MiB of a step summary.
MARKDOWN_ROWS = 200


def escape_data(text: str) -> str:
    """Escape the message of a workflow command (``%``, CR and LF)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a property value of a workflow command (the data escapes, ``:`` and ``,``)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(report: ValidationReport) -> str:
    """Write one workflow command per result, then the summary line."""
    where = columns(report)
    lines = []
    for number, v in enumerate(report.violations):
        props = []
        if v.file is not None:
            props.append(f"file={escape_property(v.file)}")
            if v.line is not None:
                props.append(f"line={v.line}")
                props.append(f"col={where.get(number, 1)}")
        props.append(f"title={escape_property(f'{v.severity}: {rule_id(v)}')}")
        details = [("focus", v.focus_display), ("path", v.path), ("value", v.value)]
        extra = "".join(f"\n{name}: {text}" for name, text in details if text)
        command = COMMANDS.get(v.severity, "error")
        lines.append(f"::{command} {','.join(props)}::{escape_data(v.message + extra)}")
    lines.append(f"aigraph validate: {summary(report)}")
    return "\n".join(lines) + "\n"


def render_github_error(exc: AigraphError) -> str:
    """Write an error that stopped validation (a file that cannot be read) as ``::error``."""
    props, message = [], exc.message
    if isinstance(exc, DataError) and exc.path:
        where = f"{exc.path}:{exc.line}" if exc.line is not None else exc.path
        message = message.removeprefix(f"{where}: ")
        props.append(f"file={escape_property(exc.path)}")
        if exc.line is not None:
            props.append(f"line={exc.line}")
    props.append(f"title={escape_property('aigraph validate: ' + exc.kind)}")
    return f"::error {','.join(props)}::{escape_data(message)}\n"


def md(text: str | None) -> str:
    """Escape ``text`` for one cell of a Markdown table: HTML, pipes, backticks, emphasis."""
    if not text:
        return ""
    out = html.escape(text, quote=False)
    for char in "\\`*_[]|":
        out = out.replace(char, "\\" + char if char != "`" else "&#96;")
    return out.replace("\r\n", "<br>").replace("\n", "<br>").replace("\r", "<br>")


def render_markdown(report: ValidationReport) -> str:
    """Write the counts per severity and per shape, then a table of the results."""
    mark = "✅" if report.conforms else "❌"
    out = [f"### {mark} aigraph validate: {md(summary(report))}", ""]
    counts = report.counts_by_severity()
    out += ["| Severity | Results |", "|---|---:|"]
    out += [f"| {md(sev)} | {n} |" for sev, n in counts.items()]
    out.append("")
    if report.violations:
        severities = list(counts)
        per_rule: Counter[tuple[str, str]] = Counter(
            (rule_id(v), v.severity) for v in report.violations
        )
        rules = sorted({rule for rule, _ in per_rule})
        out += ["| Shape / constraint | " + " | ".join(severities) + " |"]
        out += ["|---|" + "---:|" * len(severities)]
        for rule in rules:
            cells = " | ".join(str(per_rule[(rule, sev)]) for sev in severities)
            out.append(f"| {md(rule)} | {cells} |")
        out.append("")
        out += ["| | Where | Focus | Path | Message |", "|---|---|---|---|---|"]
        for v in report.violations[:MARKDOWN_ROWS]:
            icon = {"Violation": "❌", "Warning": "⚠️", "Info": "ℹ️"}.get(v.severity, "❌")
            shown = [_where(v), v.focus_display, v.path, v.message]
            out.append(f"| {icon} {md(v.severity)} | " + " | ".join(md(c) for c in shown) + " |")
        if len(report.violations) > MARKDOWN_ROWS:
            out += ["", f"… and {len(report.violations) - MARKDOWN_ROWS} more results."]
        out.append("")
    out.append(
        f"Checked {_plural(len(report.files), 'file')}, {_plural(report.triples, 'triple')}; "
        f"{md(report.threshold)} and worse fail."
    )
    return "\n".join(out) + "\n"


#: GitLab code-quality severity per SHACL severity.
CODE_QUALITY = {"Violation": "major", "Warning": "minor", "Info": "info"}


def render_codequality(report: ValidationReport) -> str:
    """Write GitLab's code-quality report (a JSON array), shown on a merge request's diff."""
    issues = []
    for v in report.violations:
        check = rule_id(v)
        # Not the line: an issue keeps its fingerprint when lines above it move.
        key = "\n".join((check, v.file or NO_FILE, v.focus_display, v.path or "", v.value or ""))
        issues.append(
            {
                "description": v.message or f"{v.severity} of {v.shape}",
                "check_name": check,
                "fingerprint": hashlib.sha256(key.encode("utf-8")).hexdigest(),
                "severity": CODE_QUALITY.get(v.severity, "major"),
                "location": {"path": v.file or NO_FILE, "lines": {"begin": v.line or 1}},
            }
        )
    return json.dumps(issues, ensure_ascii=False, indent=2) + "\n"


RENDERERS: dict[str, Callable[[ValidationReport], str]] = {
    "text": render_text,
    "turtle": render_turtle,
    "json": render_json,
    "junit": render_junit,
    "sarif": render_sarif,
    "github": render_github,
    "markdown": render_markdown,
    "codequality": render_codequality,
}
