"""A pytest fixture: a private Virtuoso Open Source 7 on free loopback ports, in a temporary folder.

Debian's ``virtuoso-opensource`` package provides ``virtuoso-t`` and ``isql-vt``; the fixture
installs it when missing with run.py's ``ensure_virtuoso`` (apt-get, as root), else fails
saying how to install it. The instance has its own ini and database folder, listens on
127.0.0.1 only, gets a random ``dba`` password (set through ``isql-vt``, given to
``aigraph load --to`` through ``AIGRAPH_PUSH_PASSWORD``, never on a command line) and is
stopped at the end of the session.
"""

from __future__ import annotations

import importlib.util
import secrets
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from oxigraph_server import free_port

ROOT = Path(__file__).resolve().parent.parent
#: Virtuoso's own limits in the test instance: rows of one answer and seconds of one query.
MAX_ROWS = 10000
MAX_SECONDS = 60

_INI = """\
[Database]
DatabaseFile = {db}/virtuoso.db
ErrorLogFile = {db}/virtuoso.log
LockFile = {db}/virtuoso.lck
TransactionFile = {db}/virtuoso.trx
xa_persistent_file = {db}/virtuoso.pxa
ErrorLogLevel = 7
FileExtend = 200
Striping = 0
TempStorage = TempDatabase

[TempDatabase]
DatabaseFile = {db}/virtuoso-temp.db
TransactionFile = {db}/virtuoso-temp.trx
Striping = 0

[Parameters]
ServerPort = 127.0.0.1:{sql_port}
DisableUnixSocket = 1
MaxClientConnections = 8
CheckpointInterval = 60
CaseMode = 2
DirsAllowed = .
NumberOfBuffers = 10000
MaxDirtyBuffers = 6000
MaxQueryMem = 200M
ThreadsPerQuery = 2

[HTTPServer]
ServerPort = 127.0.0.1:{http_port}
ServerRoot = {db}
MaxClientConnections = 8
ServerThreads = 8
Charset = UTF-8
EnabledGzipContent = 0

[SPARQL]
ResultSetMaxRows = {max_rows}
MaxQueryCostEstimationTime = 400
MaxQueryExecutionTime = {max_seconds}
"""


@dataclass(frozen=True)
class VirtuosoServer:
    """Where the instance answers: ``query`` (SPARQL endpoint), ``store`` (Graph Store, digest)."""

    url: str
    password: str
    process: subprocess.Popen

    @property
    def query(self) -> str:
        return f"{self.url}/sparql"

    @property
    def store(self) -> str:
        return f"{self.url}/sparql-graph-crud-auth"

    def credentials(self) -> dict[str, str]:
        """The environment `aigraph load --to` reads the Graph Store credentials from."""
        return {"AIGRAPH_PUSH_USER": "dba", "AIGRAPH_PUSH_PASSWORD": self.password}


def ensure_installed() -> None:
    """Install Debian's virtuoso-opensource when missing, as ``run.py test`` does (needs root)."""
    if shutil.which("virtuoso-t") and shutil.which("isql-vt"):
        return
    spec = importlib.util.spec_from_file_location("run", ROOT / "run.py")
    assert spec is not None and spec.loader is not None
    run = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run)
    try:
        run.ensure_virtuoso()
    except SystemExit as exc:  # not root, or no apt-get: run.py says how to install it
        pytest.fail(str(exc))


def start(folder: Path, timeout: float = 60.0) -> VirtuosoServer:
    """Start ``virtuoso-t`` in the foreground over ``folder``; wait until SPARQL answers."""
    sql_port, http_port = free_port(), free_port()
    ini = folder / "virtuoso.ini"
    ini.write_text(
        _INI.format(
            db=folder,
            sql_port=sql_port,
            http_port=http_port,
            max_rows=MAX_ROWS,
            max_seconds=MAX_SECONDS,
        )
    )
    process = subprocess.Popen(
        ["virtuoso-t", "+foreground", "+configfile", str(ini)],
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{http_port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = (folder / "virtuoso.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"virtuoso-t exited: {log}")
        try:
            with urllib.request.urlopen(f"{url}/sparql?query=ASK%7B%7D", timeout=2) as answer:
                answer.read()
            break
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    else:
        _stop(process)
        raise RuntimeError("virtuoso-t did not answer in time")
    password = "p" + secrets.token_hex(16)  # a bare SQL word: a letter, then letters and digits
    try:
        _isql(sql_port, "dba", f"set password dba {password};")
    except BaseException:
        _stop(process)
        raise
    return VirtuosoServer(url, password, process)


def _isql(port: int, password: str, statement: str) -> None:
    # isql-vt takes the password as an argument: only the fresh instance's default is passed.
    done = subprocess.run(
        ["isql-vt", f"127.0.0.1:{port}", "dba", password, f"exec={statement}"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if done.returncode != 0 or "Error" in done.stdout + done.stderr:
        raise RuntimeError(f"isql-vt failed: {done.stdout}{done.stderr}")


def _stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGINT)  # virtuoso-t +foreground shuts down on SIGINT, not SIGTERM
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


@pytest.fixture(scope="session")
def virtuoso_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VirtuosoServer]:
    """A running Virtuoso with an empty store; stopped at the end of the session."""
    ensure_installed()
    server = start(tmp_path_factory.mktemp("virtuoso"))
    yield server
    _stop(server.process)
