"""Limits and timeouts are settings, and each is honoured where the constant used to be."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner

from aigraph import graph
from aigraph.cli import cli
from aigraph.core import Aigraph
from aigraph.settings import CANONICAL_BASE, Settings
from aigraph.site import build as publish
from aigraph.store import base_warning
from aigraph.web import create_app, server
from conftest import LiveServer

OTHER_BASE = "https://data.example.org"


# -- request headers (web/__init__.py) --------------------------------------------------------


@pytest.fixture(scope="module")
def small_header_client() -> Iterator:
    core = Aigraph.open(Settings(executors=1, validate=False, max_header_bytes=2000))
    yield create_app(core=core).test_client()
    core.close()


def test_max_header_bytes_is_the_app_s_header_limit(small_header_client) -> None:
    fits = small_header_client.get("/healthz", headers={"X-Pad": "a" * 1500})
    assert fits.status_code == 200, fits.get_data(as_text=True)
    over = small_header_client.get("/healthz", headers={"X-Pad": "a" * 2500})
    assert over.status_code == 431, over.get_data(as_text=True)
    body = over.get_json()
    assert body["error"] == "headers-too-large"
    assert "over the limit of 2000" in body["message"]


def test_the_default_header_limit_is_unchanged(client) -> None:
    assert Settings().max_header_bytes == 32 * 1024
    assert client.get("/healthz", headers={"X-Pad": "a" * 30_000}).status_code == 200
    assert client.get("/healthz", headers={"X-Pad": "a" * 34_000}).status_code == 431


# -- the waitress limits (server.py) -----------------------------------------------------------


def test_idle_timeout_is_the_setting_or_follows_the_query_timeout() -> None:
    assert server.idle_timeout(Settings(idle_timeout=7.0)) == 7
    assert server.idle_timeout(Settings(idle_timeout=0.2)) == 1
    assert server.idle_timeout(Settings()) == 30
    assert server.idle_timeout(Settings(query_timeout=25.0)) == 45


OPEN_FILES = """
import resource
from aigraph.web.server import connection_limit
from aigraph.settings import Settings
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
limit = connection_limit(Settings(max_open_files=1000, max_connections=100_000))
print(resource.getrlimit(resource.RLIMIT_NOFILE)[0], limit, hard)
"""


def test_max_open_files_is_the_open_files_limit_asked_for() -> None:
    # In a child process: the limit raised is the process's own.
    done = subprocess.run(
        [sys.executable, "-c", OPEN_FILES], check=True, capture_output=True, text=True
    )
    soft, connections, hard = map(int, done.stdout.split())
    assert hard == -1 or hard >= 1000, "the hard open-files limit is too low for this check"
    assert soft == 1000
    assert connections == 1000 - 256 - 4 * Settings().executors


@pytest.fixture(scope="module")
def stored_server(tmp_path_factory) -> Iterator[LiveServer]:
    """``serve --store --base <other>``, with a small request head: one server for both checks."""
    directory = tmp_path_factory.mktemp("store") / "s"
    paths = [str(p) for p in graph.default_paths()]
    loaded = CliRunner().invoke(cli, ["load", "--store", str(directory), *paths])
    assert loaded.exit_code == 0, loaded.output
    live = LiveServer(
        "--store", str(directory), "--base", OTHER_BASE, env={"AIGRAPH_MAX_REQUEST_HEAD": "4096"}
    )
    yield live
    live.stop()


def test_max_request_head_bounds_the_url_and_headers(stored_server) -> None:
    address = urlsplit(stored_server.url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    connection.request("GET", "/sparql?query=" + "A" * 6000, headers={"Accept": "application/json"})
    response = connection.getresponse()
    body = response.read().decode()
    connection.close()
    assert response.status == 431, body
    assert '"headers-too-large"' in body

    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    connection.request("GET", "/healthz")
    fits = connection.getresponse()
    fits.read()
    connection.close()
    assert fits.status == 200


# -- serving a store under another base (store.base_warning) ------------------------------------


def test_serving_a_store_under_another_base_warns_at_start(stored_server) -> None:
    assert f"--base {OTHER_BASE} does not rewrite the IRIs of a store" in stored_server.output


def test_the_canonical_base_gives_no_warning() -> None:
    assert base_warning(CANONICAL_BASE) is None
    assert base_warning(CANONICAL_BASE + "/") is None
    assert CANONICAL_BASE in (base_warning(OTHER_BASE) or "")


# -- timeouts of the clients (store.push_files, client.remote_query) -----------------------------


@pytest.fixture()
def silent_endpoint() -> Iterator[str]:
    """A loopback port that accepts connections and reads, but never answers."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join(5)
    for conn in held:
        conn.close()
    listener.close()


def run_cli(*args: str, env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "aigraph", *args],
        check=False,
        capture_output=True,
        text=True,
        input=stdin,
        env={**os.environ, **env},
        # Far below the 60 s and 30 s defaults: only the settings can end these runs in time.
        timeout=25,
    )


def test_push_timeout_bounds_a_load_to_a_silent_store(silent_endpoint, tmp_path) -> None:
    data = tmp_path / "one.nt"
    data.write_text("<http://example.org/s> <http://example.org/p> <http://example.org/o> .\n")
    done = run_cli(
        "load", "--to", f"{silent_endpoint}/store", str(data), env={"AIGRAPH_PUSH_TIMEOUT": "1"}
    )
    assert done.returncode == 3, done.stdout + done.stderr  # EngineUnavailable
    assert "timed out" in done.stderr, done.stderr


def test_endpoint_timeout_bounds_a_query_to_a_silent_endpoint(silent_endpoint) -> None:
    done = run_cli(
        "query",
        "--endpoint",
        f"{silent_endpoint}/sparql",
        "-",
        env={"AIGRAPH_ENDPOINT_TIMEOUT": "1"},
        stdin="ASK {}",
    )
    assert done.returncode == 3, done.stdout + done.stderr  # EngineUnavailable
    assert "timed out" in done.stderr, done.stderr


# -- the static export (publish.py) --------------------------------------------------------------


def chain_site(pages: int):
    """A fetch over a site of ``pages`` pages, each linking to the next."""

    def fetch(url: str, accept: str) -> publish.Fetched:
        path = urlsplit(url).path
        if not path.startswith("/p") or accept != "text/html":
            return publish.Fetched(404, "text/plain", b"", None)
        number = int(path[2:])
        link = f'<a href="/p{number + 1}">next</a>' if number + 1 < pages else ""
        return publish.Fetched(200, "text/html", f"<html><body>{link}</body></html>".encode(), None)

    return fetch


def test_max_pages_bounds_the_crawl_and_says_so(tmp_path: Path) -> None:
    report = publish.write_site(
        chain_site(10),
        tmp_path,
        site="http://x.test",
        seeds=["/p0"],
        files=[],
        rdf_resources=[],
        max_pages=4,
    )
    assert sorted(report.written) == ["p0.html", "p1.html", "p2.html", "p3.html"]
    assert any("over max_pages (4)" in line for line in report.missing), report.missing

    whole = publish.write_site(
        chain_site(10),
        tmp_path / "all",
        site="http://x.test",
        seeds=["/p0"],
        files=[],
        rdf_resources=[],
        max_pages=10,
    )
    assert len(whole.written) == 10
    assert not whole.missing
