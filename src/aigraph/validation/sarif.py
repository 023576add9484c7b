"""The validation report as SARIF 2.1.0, for code-scanning tools (GitHub, GitLab, IDEs).

One rule per shape and constraint component; one result per SHACL result, at the file, line and
column of its focus node, with its message in the report's language (all languages are kept in
the result's properties). Deterministic: the same results give the same bytes.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any
from urllib.parse import quote

from rdflib import URIRef

from aigraph.validation.locate import SourceIndex
from aigraph.validation.validate import ValidationReport, Violation

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {"Violation": "error", "Warning": "warning", "Info": "note"}
_PROPERTY_SHAPE = re.compile(r" sh:property \[ sh:path (.*) \]$")


def rule_id(v: Violation) -> str:
    """Return the rule of a result: its shape and constraint component.

    ``aigsh:GrantShape sh:property [ sh:path schema:funder ]`` and
    ``sh:MinCountConstraintComponent`` give ``aigsh:GrantShape[schema:funder]/sh:MinCount...``.
    """
    shape = _PROPERTY_SHAPE.sub(r"[\1]", v.shape) or "(no shape)"
    return f"{shape}/{v.constraint}" if v.constraint else shape


def level(v: Violation) -> str:
    """Return the SARIF level of a result (a custom severity counts as an error)."""
    return LEVELS.get(v.severity, "error")


def columns(report: ValidationReport) -> dict[int, int]:
    """Return ``{index of a result: column}`` for the results with a file and line.

    The column is where the focus node is written on its line; for a blank focus node (or one
    written elsewhere) the first non-blank character of the line.
    """
    index = SourceIndex([Path(f) for f in report.files])
    found: dict[int, int] = {}
    for number, v in enumerate(report.violations):
        if v.file is None or v.line is None:
            continue
        where = index.position(str(v.focus)) if isinstance(v.focus, URIRef) else None
        if where is not None and where[:2] == (v.file, v.line):
            found[number] = where[2]
        else:
            found[number] = _first_column(v.file, v.line)
    return found


@lru_cache(maxsize=64)
def _file_lines(path: str) -> tuple[str, ...]:
    try:
        return tuple(Path(path).read_text(encoding="utf-8", errors="replace").split("\n"))
    except OSError:
        return ()


def _first_column(path: str, line: int) -> int:
    lines = _file_lines(path)
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    return len(text) - len(text.lstrip()) + 1 if text.strip() else 1


def artifact_uri(file: str) -> str:
    """Return a file of the report as a URI: relative (to the working folder) or ``file:``."""
    path = Path(file)
    if path.is_absolute():
        return path.as_uri()
    return quote(path.as_posix(), safe="/")


def _tool_version() -> str:
    try:
        return version("aigraph")
    except PackageNotFoundError:  # pragma: no cover - run from a source tree without install
        return "0"


def _rule(rule: str, v: Violation) -> dict[str, Any]:
    return {
        "id": rule,
        "name": v.constraint.rpartition(":")[2] or "Shape",
        "shortDescription": {"text": f"{v.constraint or 'A constraint'} of {v.shape}"},
        "fullDescription": {"text": f"SHACL shape {v.shape}, constraint {v.constraint}."},
        "defaultConfiguration": {"level": level(v)},
        "properties": {"shape": v.shape, "constraint": v.constraint},
    }


def _result(v: Violation, rule_index: int, column: int | None) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": rule_id(v),
        "ruleIndex": rule_index,
        "level": level(v),
        "message": {"text": v.message or f"{v.severity} of {v.shape}"},
    }
    if v.file is not None:
        physical: dict[str, Any] = {"artifactLocation": {"uri": artifact_uri(v.file)}}
        if v.line is not None:
            physical["region"] = {"startLine": v.line, "startColumn": column or 1}
        result["locations"] = [{"physicalLocation": physical}]
    details = {"focus": v.focus_display, "path": v.path, "value": v.value}
    result["properties"] = {
        **{name: text for name, text in details.items() if text},
        "severity": v.severity,
        "messages": dict(v.messages),
    }
    return result


def render_sarif(report: ValidationReport) -> str:
    """Write the report as one SARIF 2.1.0 log with one run."""
    rules: dict[str, dict[str, Any]] = {}
    for v in sorted(report.violations, key=rule_id):
        rules.setdefault(rule_id(v), _rule(rule_id(v), v))
    order = {rule: number for number, rule in enumerate(rules)}
    where = columns(report)
    results = [
        _result(v, order[rule_id(v)], where.get(number))
        for number, v in enumerate(report.violations)
    ]
    files = sorted({v.file for v in report.violations if v.file} | set(report.files))
    run = {
        "tool": {
            "driver": {
                "name": "aigraph",
                "version": _tool_version(),
                "informationUri": "https://w3id.org/aigraph",
                "rules": list(rules.values()),
            }
        },
        "language": report.lang,
        "columnKind": "unicodeCodePoints",
        "artifacts": [{"location": {"uri": artifact_uri(f)}} for f in files],
        "invocations": [{"executionSuccessful": True}],
        "results": results,
        "properties": {
            "conforms": report.conforms,
            "threshold": report.threshold,
            "shapes": list(report.shapes),
            "triples": report.triples,
        },
    }
    log = {"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}
    return json.dumps(log, ensure_ascii=False, indent=2) + "\n"
