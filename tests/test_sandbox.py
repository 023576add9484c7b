"""Query workers cannot reach the network, whatever the guard lets through: the kernel stops
them. And what a failed outside call says names no host, port or remote answer."""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import platform
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from rdflib import Dataset

from aigraph.engine import (
    IsolatedEngine,
    OxigraphEngine,
    QueryRequest,
    RdflibEngine,
    guard,
    sandbox,
)
from aigraph.engine.worker import Bounds
from aigraph.errors import AigraphError
from aigraph.settings import Settings
from loopback import Listener

SECRET_BODY = "secret-body-5d81e2"


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener(
        b"HTTP/1.1 500 Oops\r\nContent-Type: text/plain\r\nConnection: close\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(SECRET_BODY), SECRET_BODY.encode())
    )
    yield server
    server.close()


def service_query(url: str) -> str:
    return f"SELECT * {{ BIND(1 AS ?one) SERVICE <{url}> {{ ?s ?p ?o }} }}"


def engines(url: str) -> list:
    """Both engines, each configured to run SERVICE <url> if nothing else stopped it."""
    return [OxigraphEngine(Dataset()), RdflibEngine(Dataset(), service_allowlist={url})]


def run(pool: IsolatedEngine, text: str) -> AigraphError | None:
    try:
        pool.query(QueryRequest(text))
    except AigraphError as error:
        return error
    return None


def test_this_machine_has_a_sandbox() -> None:
    """On Linux (x86-64, AArch64) the network is always taken from query workers."""
    assert platform.system() == "Linux"
    found = sandbox.status()
    assert found.no_network, found
    assert found.landlock == sandbox.landlock_abi()  # Landlock wherever the kernel has it
    assert "no network (seccomp)" in found.describe()


@pytest.mark.parametrize("index", [0, 1], ids=["oxigraph", "rdflib"])
def test_without_the_guard_the_kernel_stops_service(listener: Listener, index: int) -> None:
    engine = engines(f"{listener.url}/sparql")[index]
    with guard.unguarded(), IsolatedEngine(lambda: engine, workers=1) as pool:
        error = run(pool, service_query(f"{listener.url}/sparql"))
    time.sleep(0.3)
    assert listener.connections == 0
    assert error is not None and error.status in (400, 502), error
    assert_says_nothing_of(error, listener)


@pytest.mark.parametrize("index", [0, 1], ids=["oxigraph", "rdflib"])
def test_the_listener_sees_calls_from_a_worker_with_network(listener: Listener, index) -> None:
    """The control: the same worker with the network kept does call the listener."""
    engine = engines(f"{listener.url}/sparql")[index]
    with (
        guard.unguarded(),
        IsolatedEngine(lambda: engine, workers=1, bounds=Bounds(network=True)) as pool,
    ):
        error = run(pool, service_query(f"{listener.url}/sparql"))
    deadline = time.monotonic() + 5
    while not listener.connections and time.monotonic() < deadline:
        time.sleep(0.05)
    assert listener.connections >= 1
    assert error is not None
    assert_says_nothing_of(error, listener)


def assert_says_nothing_of(error: AigraphError, listener: Listener) -> None:
    said = str(error.to_dict())
    for secret in (SECRET_BODY, str(listener.port), "127.0.0.1", "Oops", "500"):
        assert secret not in said, said


def test_failed_calls_look_alike_whatever_the_port(listener: Listener) -> None:
    """An open port that answers 500, a closed port and an unknown host give the same error,
    so the endpoint cannot be used to scan ports (checked unsandboxed, in this process)."""
    closed = socket.create_server(("127.0.0.1", 0))
    closed_url = f"http://127.0.0.1:{closed.getsockname()[1]}/x"
    closed.close()
    urls = (f"{listener.url}/sparql", closed_url, "http://no-such-host.invalid/x")
    said = set()
    with guard.unguarded():
        for url in urls:
            with pytest.raises(AigraphError) as caught:
                OxigraphEngine(Dataset()).query(QueryRequest(service_query(url)))
            said.add((caught.value.status, caught.value.message))
            assert_says_nothing_of(caught.value, listener)
    assert listener.connections >= 1 and len(said) == 1, said


def _probe_confined(conn, readable: str, secret: str, inherited: socket.socket) -> None:
    """In a child: confine, then try what a compromised engine might try."""
    outcome: dict[str, str] = {}
    sandbox.confine(readable=[readable])

    def attempt(name: str, action) -> None:
        try:
            action()
            outcome[name] = "allowed"
        except OSError as exc:
            outcome[name] = type(exc).__name__

    attempt("inet", lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM).close())
    attempt("inet6", lambda: socket.socket(socket.AF_INET6, socket.SOCK_DGRAM).close())
    attempt("unix", lambda: socket.socket(socket.AF_UNIX, socket.SOCK_STREAM).close())
    attempt("inherited", lambda: socket.socket(fileno=os.dup(inherited.fileno())).getsockname())
    attempt("read-allowed", lambda: Path(readable, "ok.txt").read_text())
    attempt("read-secret", lambda: Path(secret).read_text())
    attempt("write", lambda: Path(readable, "new.txt").write_text("x"))
    conn.send(outcome)
    conn.close()


def test_a_confined_process_has_no_network_and_reads_only_what_it_may(tmp_path: Path) -> None:
    allowed = tmp_path / "store"
    allowed.mkdir()
    (allowed / "ok.txt").write_text("ok")
    secret = tmp_path / "secret.txt"
    secret.write_text("secret")
    listening = socket.create_server(("127.0.0.1", 0))  # a server socket the child inherits
    mp = multiprocessing.get_context("fork")
    parent, child = mp.Pipe()
    process = mp.Process(target=_probe_confined, args=(child, str(allowed), str(secret), listening))
    process.start()
    try:
        assert parent.poll(20)
        outcome = parent.recv()
    finally:
        process.join(10)
        listening.close()
    files = "PermissionError" if sandbox.landlock_abi() else "allowed"  # Landlock's part
    assert outcome == {
        "inet": "PermissionError",
        "inet6": "PermissionError",
        "unix": "allowed",
        "inherited": "OSError",  # replaced by /dev/null: not a socket any more
        "read-allowed": "allowed",
        "read-secret": files,
        "write": files,
    }


def test_only_workers_that_call_out_keep_the_network() -> None:
    from aigraph.engine import bounds
    from aigraph.source import RemoteSource

    assert not bounds(Settings()).network
    assert not bounds(Settings(engine="oxigraph", service_allowlist=("http://a.example/",))).network
    assert bounds(Settings(engine="rdflib", service_allowlist=("http://a.example/",))).network
    assert RemoteSource(Settings(backend="http://127.0.0.1:1/sparql")).bounds().network
    assert RemoteSource(Settings(backend="http://127.0.0.1:7878/sparql")).bounds().ports == (7878,)
    allow = ("https://a.example/sparql", "http://b.example:8890/sparql")
    assert bounds(Settings(engine="rdflib", service_allowlist=allow)).ports == (443, 8890)


@pytest.mark.parametrize("arch", ["x86_64", "aarch64"])
def test_filter_program_denies_sockets_by_family(arch: str) -> None:
    program = sandbox.filter_program(arch)
    assert program[-1] == (0x06, 0, 0, 0x00050000 | 13)  # otherwise: EACCES
    assert (0x15, 0, 1, socket.AF_UNIX) in program  # AF_UNIX: allowed
    assert program[2] == (0x06, 0, 0, 0x80000000)  # a foreign architecture: killed


def _probe_network_kept(conn) -> None:
    import ssl

    outcome: dict[str, str] = {}
    sandbox.confine(network=True)
    try:
        socket.getaddrinfo("localhost", 80)
        outcome["resolve"] = "allowed"
    except OSError as exc:
        outcome["resolve"] = type(exc).__name__
    context = ssl.create_default_context()
    outcome["certificates"] = "loaded" if context.cert_store_stats()["x509_ca"] else "none"
    try:
        Path("/tmp/aigraph-sandbox-write-test").write_text("x")
        outcome["write"] = "allowed"
    except OSError as exc:
        outcome["write"] = type(exc).__name__
    conn.send(outcome)
    conn.close()


def test_a_worker_that_keeps_the_network_resolves_names_and_checks_certificates() -> None:
    """The remote backend's workers: names resolve and CA certificates load; files stay
    read-only."""
    import ssl

    mp = multiprocessing.get_context("fork")
    parent, child = mp.Pipe()
    process = mp.Process(target=_probe_network_kept, args=(child,))
    process.start()
    try:
        assert parent.poll(20)
        outcome = parent.recv()
    finally:
        process.join(10)
    here = "loaded" if ssl.create_default_context().cert_store_stats()["x509_ca"] else "none"
    files = "PermissionError" if sandbox.landlock_abi() else "allowed"
    assert outcome == {"resolve": "allowed", "certificates": here, "write": files}


def test_an_incomplete_sandbox_is_said_loudly() -> None:
    missing = sandbox.SandboxStatus(missing=("no seccomp filter for riscv64",))
    assert "NETWORK NOT BLOCKED" in missing.describe() and "riscv64" in missing.describe()
    assert not missing.no_network


def _probe_ports(conn, allowed: int, other: int) -> None:
    sandbox.confine(network=True, ports=[allowed])
    outcome = {}
    for name, port in (("allowed", allowed), ("other", other)):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
            outcome[name] = "connected"
        except OSError as exc:
            outcome[name] = type(exc).__name__
    conn.send(outcome)
    conn.close()


def test_a_worker_that_keeps_the_network_reaches_only_its_ports(listener: Listener) -> None:
    """The remote backend's workers connect to the backend's port, not to any other."""
    other = Listener()
    mp = multiprocessing.get_context("fork")
    parent, child = mp.Pipe()
    process = mp.Process(target=_probe_ports, args=(child, listener.port, other.port))
    process.start()
    try:
        assert parent.poll(20)
        outcome = parent.recv()
    finally:
        process.join(10)
        other.close()
    refused = "PermissionError" if sandbox.landlock_abi() >= 4 else "connected"
    assert outcome == {"allowed": "connected", "other": refused}


def test_stats_report_how_the_workers_are_confined(client) -> None:
    reported = client.get("/stats").get_json()["sandbox"]
    assert reported["seccomp"] is True and reported["network"] is False
    assert reported["landlock"] == sandbox.landlock_abi()


def test_a_backend_server_says_its_workers_keep_the_network() -> None:
    from aigraph.core import Aigraph
    from aigraph.source import RemoteSource

    aigraph = Aigraph.open(Settings(engine="rdflib", validate=False))
    try:
        remote = aigraph.settings.with_values(backend="http://127.0.0.1:9/sparql")
        backend = dataclasses.replace(aigraph, settings=remote, source=RemoteSource(remote))
        assert backend.confinement().network
        assert "network kept for the backend" in backend.confinement().describe()
        assert not aigraph.confinement().network
    finally:
        aigraph.close()
