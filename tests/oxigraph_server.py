"""A pytest fixture: a real Oxigraph server on a free loopback port, over a temporary folder."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from aigraph import graph
from aigraph.cli import cli

OXIGRAPH = Path(sys.executable).with_name("oxigraph")
if not OXIGRAPH.exists():
    OXIGRAPH = Path(shutil.which("oxigraph") or OXIGRAPH)


@dataclass(frozen=True)
class OxigraphServer:
    """Where the server answers: ``query`` (SPARQL endpoint) and ``store`` (Graph Store)."""

    url: str
    process: subprocess.Popen

    @property
    def query(self) -> str:
        return f"{self.url}/query"

    @property
    def store(self) -> str:
        return f"{self.url}/store"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(location: Path, timeout: float = 30.0) -> OxigraphServer:
    """Start ``oxigraph serve`` and wait until it answers a query."""
    port = free_port()
    process = subprocess.Popen(
        [str(OXIGRAPH), "serve", "--location", str(location), "--bind", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"oxigraph serve exited: {process.stderr.read().decode()}")
        try:
            with urllib.request.urlopen(f"{url}/query?query=ASK%7B%7D", timeout=1) as answer:
                answer.read()
            return OxigraphServer(url, process)
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    stop(OxigraphServer(url, process))
    raise RuntimeError("oxigraph serve did not answer in time")


def stop(server: OxigraphServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(5)


@pytest.fixture(scope="session")
def oxigraph_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OxigraphServer]:
    """A running Oxigraph server with an empty store; stopped at the end of the session."""
    if not OXIGRAPH.exists():
        pytest.fail(f"the oxigraph server is not installed at {OXIGRAPH} (pip install oxigraph)")
    server = start(tmp_path_factory.mktemp("oxigraph"))
    yield server
    stop(server)


def load_bundled(option: str, target: str | Path) -> None:
    """Load the bundled ontology and data with ``aigraph load --store DIR`` or ``--to URL``."""
    paths = [str(p) for p in graph.default_paths()]
    result = CliRunner().invoke(cli, ["load", option, str(target), *paths])
    assert result.exit_code == 0, result.output


@contextmanager
def bundled_server(location: Path) -> Iterator[str]:
    """A server of its own with the bundled data loaded; yields its query endpoint.

    Each module that needs one gets its own: loading the data twice would double blank nodes.
    """
    if not OXIGRAPH.exists():
        pytest.fail(f"the oxigraph server is not installed at {OXIGRAPH} (pip install oxigraph)")
    server = start(location)
    try:
        load_bundled("--to", server.store)
        yield server.query
    finally:
        stop(server)
