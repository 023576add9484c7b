"""Helpers shared by the benchmarks: servers on free loopback ports, a keep-alive SPARQL client,
synthetic data, peak memory of a process tree, medians and plain-text tables.

Everything here talks to 127.0.0.1 only; every server a helper starts is stopped by its pid.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import math
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PYTHON = sys.executable
HOST = "127.0.0.1"

SELECT_JSON = "application/sparql-results+json"
NTRIPLES = "application/n-triples"


# -- data ---------------------------------------------------------------------------------------


def synth_file(triples: int, seed: int = 1, folder: Path | None = None) -> Path:
    """Write (or reuse) ``synth-<triples>-<seed>.trig`` made by ``aigraph synth``."""
    folder = folder or Path(tempfile.gettempdir()) / "aigraph-bench"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"synth-{triples}-{seed}.trig"
    if not path.exists():
        partial = path.with_suffix(".part")
        subprocess.run(
            [
                str(BIN / "aigraph"),
                "synth",
                "--triples",
                str(triples),
                "--seed",
                str(seed),
                "-o",
                str(partial),
            ],
            check=True,
            capture_output=True,
        )
        partial.rename(path)
    return path


def subjects_of(path: Path, limit: int = 2000) -> list[str]:
    """Return up to ``limit`` full IRIs of resources described in a synth TriG file."""
    prefixes: dict[str, str] = {}
    found: list[str] = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.startswith("@prefix"):
                name, iri = re.match(r"@prefix (\w*): <([^>]*)>", line).groups()  # type: ignore[union-attr]
                prefixes[name] = iri
            elif line.startswith("    ") and not line.startswith("     ") and ":" in line:
                name, _, local = line.strip().split(" ")[0].partition(":")
                if name in prefixes and name != "graph" and local:
                    found.append(prefixes[name] + local)
                    if len(found) >= limit:
                        break
    return found


# -- servers ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """A SPARQL server process on loopback, with its query endpoint."""

    name: str
    process: subprocess.Popen
    endpoint: str
    started_s: float = 0.0
    cleanup: list[Path] = field(default_factory=list)

    @property
    def port(self) -> int:
        return int(self.endpoint.split(":")[2].split("/")[0])

    @property
    def path(self) -> str:
        return "/" + self.endpoint.split("/", 3)[3]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        for path in self.cleanup:
            shutil.rmtree(path, ignore_errors=True)


def _wait_ready(server: Server, timeout: float) -> Server:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited with {server.process.returncode}")
        with contextlib.suppress(OSError, http.client.HTTPException):
            status, _ = Client(server).query("ASK { }", "application/sparql-results+json")
            if status == 200:
                return server
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"{server.name} did not answer within {timeout} s")


def start_aigraph(data: Path | None, *extra: str, timeout: float = 600) -> Server:
    """Start ``aigraph serve --port 0`` over ``data``; wait until it answers.

    Synthetic ``data`` is served with ``--no-validate`` (it conforms; validating it only slows
    the start); without ``data`` the bundled data is served and validated, as in production.
    """
    started = time.perf_counter()
    chosen = ["--data", str(data), "--no-validate"] if data is not None else []
    # Every benchmark client comes from the one loopback address: lift the per-client share,
    # which would otherwise turn the third concurrent client away (429).
    env = {**os.environ, "AIGRAPH_MAX_CLIENT_QUERIES": "0"}
    process = subprocess.Popen(
        [PYTHON, "-m", "aigraph", "serve", "--host", HOST, "--port", "0", *chosen, *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    for line in process.stdout:
        found = re.search(r"SPARQL endpoint: (http://127\.0\.0\.1:\d+/sparql)", line)
        if found:
            # Drain the log so the server never blocks on a full pipe.
            threading.Thread(target=process.stdout.read, daemon=True).start()
            server = Server("aigraph", process, found.group(1))
            _wait_ready(server, timeout)
            server.started_s = time.perf_counter() - started
            return server
    raise RuntimeError(f"aigraph serve exited with {process.wait()}")


def oxigraph_load(data: Path, location: Path) -> float:
    """Load ``data`` into a new Oxigraph store at ``location``; return the seconds it took."""
    started = time.perf_counter()
    subprocess.run(
        [str(BIN / "oxigraph"), "load", "--location", str(location), "--file", str(data)],
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


def start_oxigraph(data: Path, timeout: float = 120) -> Server:
    """Load ``data`` and start ``oxigraph serve-read-only`` with the union as default graph.

    Without ``--timeout-s``: with it, oxigraph 0.5.13 dropped most connections under the
    4-client throughput load (tens of thousands of resets), which made its numbers meaningless.
    """
    started = time.perf_counter()
    location = Path(tempfile.mkdtemp(prefix="aigraph-bench-oxigraph-"))
    oxigraph_load(data, location)
    port = free_port()
    process = subprocess.Popen(
        [
            str(BIN / "oxigraph"),
            "serve-read-only",
            "--location",
            str(location),
            "--bind",
            f"{HOST}:{port}",
            "--union-default-graph",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = Server("oxigraph", process, f"http://{HOST}:{port}/query", cleanup=[location])
    _wait_ready(server, timeout)
    server.started_s = time.perf_counter() - started
    return server


def start_rdflib_endpoint(data: Path, timeout: float = 600) -> Server:
    """Start ``rdflib-endpoint serve FILE`` (an rdflib Dataset with the union as default graph)."""
    started = time.perf_counter()
    port = free_port()
    process = subprocess.Popen(
        [str(BIN / "rdflib-endpoint"), "serve", "--host", HOST, "--port", str(port), str(data)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = Server("rdflib-endpoint", process, f"http://{HOST}:{port}/")
    _wait_ready(server, timeout)
    server.started_s = time.perf_counter() - started
    return server


# -- client -------------------------------------------------------------------------------------


class Client:
    """A keep-alive SPARQL protocol client (POST application/sparql-query) on one connection."""

    def __init__(self, server: Server | str, timeout: float = 60) -> None:
        endpoint = server.endpoint if isinstance(server, Server) else server
        hostport, _, path = endpoint.removeprefix("http://").partition("/")
        host, _, port = hostport.partition(":")
        self.path = "/" + path
        self.connection = http.client.HTTPConnection(host, int(port), timeout=timeout)

    def query(self, text: str, accept: str) -> tuple[int, bytes]:
        """Send one query; return the status and the whole body (reconnecting if needed)."""
        headers = {"Content-Type": "application/sparql-query; charset=utf-8", "Accept": accept}
        body = text.encode("utf-8")
        for attempt in (1, 2):
            try:
                self.connection.request("POST", self.path, body=body, headers=headers)
                response = self.connection.getresponse()
                return response.status, response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.connection.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.connection.close()


def result_size(body: bytes, accept: str) -> int:
    """Count rows (SELECT), the boolean (ASK) or lines (N-Triples) of a result body."""
    if accept == SELECT_JSON:
        parsed = json.loads(body)
        return len(parsed["results"]["bindings"]) if "results" in parsed else int(parsed["boolean"])
    return sum(1 for line in body.splitlines() if line.strip())


# -- memory -------------------------------------------------------------------------------------


class PeakRSS:
    """Sample the summed RSS of a process and its children every ``interval`` seconds."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.root = psutil.Process(pid)
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> int:
        total = 0
        with contextlib.suppress(psutil.Error):
            for proc in [self.root, *self.root.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    total += proc.memory_info().rss
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._sample())
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def run_measured(command: Sequence[str], timeout: float = 600) -> tuple[float, int, int]:
    """Run ``command``; return (seconds, peak RSS bytes of its process tree, exit code)."""
    started = time.perf_counter()
    process = subprocess.Popen(list(command), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    with PeakRSS(process.pid) as peak:
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return time.perf_counter() - started, peak.peak, process.returncode


# -- statistics and tables ----------------------------------------------------------------------


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


def percentile(values: Sequence[float], fraction: float) -> float:
    """Return the nearest-rank percentile (``fraction`` in 0..1) of ``values``."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))]


def geomean(values: Sequence[float]) -> float:
    kept = [v for v in values if v > 0 and not math.isnan(v)]
    return math.exp(sum(map(math.log, kept)) / len(kept)) if kept else math.nan


def fmt(value: float | str | None, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, str):
        return value
    return f"{value:.{digits}f}"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Return a Markdown-style table with columns padded to their widest cell."""
    widths = [max(len(str(c)) for c in column) for column in zip(headers, *rows, strict=False)]

    def line(cells: Sequence[str]) -> str:
        return (
            "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=False)) + " |"
        )

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


@contextlib.contextmanager
def running(*starters) -> Iterator[list[Server]]:
    """Start servers (callables returning a ``Server``) and stop them all on exit."""
    servers: list[Server] = []
    try:
        for start in starters:
            servers.append(start())
        yield servers
    finally:
        for server in servers:
            server.stop()


def start_tree(name: str, source: Path, *args: str, **env: str) -> Server:
    """Start ``aigraph serve`` from the ``src`` folder of ``source`` on a free loopback port."""
    full = dict(os.environ, PYTHONPATH=str(source / "src"), PYTHONUNBUFFERED="1", **env)
    process = subprocess.Popen(
        [PYTHON, "-m", "aigraph", "serve", "--host", HOST, "--port", "0", "--no-validate", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=full,
        cwd=source,
    )
    assert process.stdout is not None
    for line in process.stdout:
        found = re.search(r"SPARQL endpoint: (http://127\.0\.0\.1:\d+/sparql)", line)
        if found:
            threading.Thread(target=process.stdout.read, daemon=True).start()
            return _wait_ready(Server(name, process, found.group(1)), 120)
    raise RuntimeError(f"{name}: aigraph serve exited with {process.wait()}")


@contextlib.contextmanager
def old_tree(commit: str) -> Iterator[Path]:
    """Check ``commit`` out with ``git worktree`` into a temporary folder, removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="aigraph-bench-old-"))
    tree = folder / "tree"
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), commit],
        check=True,
        capture_output=True,
    )
    try:
        yield tree
    finally:
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)],
            capture_output=True,
        )
        shutil.rmtree(folder, ignore_errors=True)
