"""The ``aigraph`` command line through click's CliRunner (and one real process)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from rdflib import Dataset, Graph

from aigraph.cli import cli

ROOT = Path(__file__).resolve().parent.parent
INVALID = sorted((ROOT / "tests" / "shapes" / "invalid").glob("*.*"))


def test_validate_exit_0_on_the_data(runner):
    result = runner.invoke(cli, ["validate"])
    assert result.exit_code == 0, result.output
    assert "Conforms" in result.output


@pytest.mark.parametrize("path", INVALID, ids=[p.name for p in INVALID])
def test_validate_exit_1_on_each_invalid_example(runner, path):
    result = runner.invoke(cli, ["validate", str(path)])
    assert result.exit_code == 1, result.output
    assert re.search(rf"{re.escape(path.name)}:\d+: Violation", result.output), result.output


def test_validate_exit_2_on_a_syntax_error(runner, tmp_path):
    bad = tmp_path / "broken.ttl"
    bad.write_text('@prefix ex: <http://example.org/> .\n\nex:a ex:b "unterminated .\n')
    result = runner.invoke(cli, ["validate", str(bad)])
    assert result.exit_code == 2, result.output
    assert f"{bad}:3" in result.output
    assert "Traceback" not in result.output


def test_validate_exit_2_on_a_missing_file(runner, tmp_path):
    result = runner.invoke(cli, ["validate", str(tmp_path / "nope.ttl")])
    assert result.exit_code == 2
    assert "nope.ttl" in result.output


def test_validate_report_formats(runner):
    path = str(INVALID[0])
    as_json = json.loads(runner.invoke(cli, ["validate", "--format", "json", path]).output)
    assert as_json["conforms"] is False and as_json["results"]
    assert all(r["file"] and r["line"] for r in as_json["results"])
    junit = ET.fromstring(runner.invoke(cli, ["validate", "--format", "junit", path]).output)
    assert junit.iter("failure")
    turtle = runner.invoke(cli, ["validate", "--format", "turtle", path]).output
    assert "sh:ValidationReport" in turtle or "ValidationReport" in turtle
    Graph().parse(data=turtle, format="turtle")


def test_validate_as_a_process_prints_no_traceback(tmp_path):
    bad = tmp_path / "broken.trig"
    bad.write_text("<urn:g> { <urn:a> <urn:b> }\n")
    done = subprocess.run(
        [sys.executable, "-m", "aigraph", "validate", str(bad)], capture_output=True, text=True
    )
    assert done.returncode == 2
    assert "broken.trig:1" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


@pytest.mark.parametrize("fmt", ["table", "csv", "json"])
def test_query_named(runner, fmt):
    result = runner.invoke(cli, ["query", "funding", "--format", fmt])
    assert result.exit_code == 0, result.output
    assert "100000000" in result.output
    if fmt == "json":
        assert json.loads(result.output)["results"]["bindings"]


def test_query_file_and_stdin(runner, tmp_path):
    path = tmp_path / "count.rq"
    path.write_text("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
    from_file = runner.invoke(cli, ["query", str(path), "--format", "csv"])
    assert from_file.exit_code == 0, from_file.output
    from_stdin = runner.invoke(cli, ["query", "-", "--format", "csv"], input=path.read_text())
    assert from_stdin.output == from_file.output
    assert int(from_file.output.splitlines()[1]) > 100


def test_query_unknown_name(runner):
    result = runner.invoke(cli, ["query", "no-such-query"])
    assert result.exit_code == 2
    assert "funding" in result.output


def test_query_remote_endpoint(runner, live_server):
    local = runner.invoke(cli, ["query", "funding", "--format", "csv"])
    remote = runner.invoke(
        cli, ["query", "funding", "--format", "csv", "--endpoint", live_server + "/sparql"]
    )
    assert remote.exit_code == 0, remote.output
    assert sorted(remote.output.splitlines()) == sorted(local.output.splitlines())


def test_query_remote_errors_are_clear(runner, live_server, tmp_path):
    bad = tmp_path / "bad.rq"
    bad.write_text("SELECT * WHERE { ?s ?p }")
    result = runner.invoke(cli, ["query", str(bad), "--endpoint", live_server + "/sparql"])
    assert result.exit_code != 0
    assert "line" in result.output and "Traceback" not in result.output
    closed = runner.invoke(cli, ["query", "funding", "--endpoint", "http://127.0.0.1:9/sparql"])
    assert closed.exit_code != 0
    assert "127.0.0.1:9" in closed.output


@pytest.mark.parametrize(
    "fmt, rdflib_format, quads",
    [
        ("turtle", "turtle", False),
        ("nt", "nt", False),
        ("jsonld", "json-ld", True),
        ("rdfxml", "xml", False),
        ("trig", "trig", True),
        ("nquads", "nquads", True),
    ],
)
def test_export_is_deterministic_and_lossless(runner, core, tmp_path, fmt, rdflib_format, quads):
    first, second = tmp_path / "a", tmp_path / "b"
    assert runner.invoke(cli, ["export", "--format", fmt, "-o", str(first)]).exit_code == 0
    assert runner.invoke(cli, ["export", "--format", fmt, "-o", str(second)]).exit_code == 0
    assert first.read_bytes() == second.read_bytes()
    if quads:
        parsed = Dataset()
        parsed.parse(first, format=rdflib_format)
        assert len(parsed) == len(core.dumps())
    else:
        parsed_graph = Graph().parse(first, format=rdflib_format)
        union = {(s, p, o) for s, p, o, _ in core.dumps().quads()}
        assert len(parsed_graph) == len(union)


def test_info_prints_counts(runner):
    result = runner.invoke(cli, ["info"])
    assert result.exit_code == 0, result.output
    assert "triples:" in result.output and "named graphs:" in result.output


# --- serve: an address it cannot listen on is one line on stderr and exit 2 --------------------


def _serve_fails(*args: str, env: dict[str, str] | None = None) -> str:
    """Run ``aigraph serve`` as a process that must fail at once; return its stderr."""
    import os

    done = subprocess.run(
        [sys.executable, "-m", "aigraph", "serve", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "serving" not in done.stdout, done.stdout  # no server on some other port
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    return lines[0]


def test_serve_on_a_busy_port():
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = _serve_fails("--host", "127.0.0.1", "--port", str(port))
    assert f"127.0.0.1:{port}" in line and "already in use" in line


@pytest.mark.parametrize("port", ["99999", "65536", "-1"])
def test_serve_on_a_port_out_of_range(port):
    line = _serve_fails("--host", "127.0.0.1", "--port", port)
    assert f"port {port} is not a TCP port" in line


def test_serve_port_out_of_range_from_the_environment():
    line = _serve_fails(env={"AIGRAPH_HOST": "127.0.0.1", "AIGRAPH_PORT": "99999"})
    assert "port 99999 is not a TCP port" in line


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("300.1.2.3", "host '300.1.2.3' is not an address to listen on"),
        ("not a host!", "host 'not a host!' is not an address to listen on"),
        # A documentation-only address (RFC 5737): valid, but no interface of this machine has it.
        ("192.0.2.1", "cannot listen on 192.0.2.1:0: the address is not one of this machine's"),
    ],
)
def test_serve_on_an_invalid_host(host, expected):
    assert expected in _serve_fails("--host", host, "--port", "0")
