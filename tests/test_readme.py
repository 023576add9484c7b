"""The README's shell examples run: every command in its ``sh``/``bash``/``console`` blocks is
executed, as a user would type it, against servers the test starts on loopback ports.

Commands are found generically, so a new example is run as soon as it is written. Each block
runs in its own empty folder that holds the repository's ``data/``, ``ontology/`` and
``queries/`` (and ``.venv``), plus small stand-ins for the files the README only names. The
rewrites that keep a command local and small:

- ``127.0.0.1:8000`` (or ``localhost:8000``) is the live test server; any other loopback port
  is a free port, the same one throughout its block;
- ``aigraph serve`` listens on ``127.0.0.1`` port 0; the test waits for the URL it prints,
  checks it answers a query, then stops it;
- a line ending in ``&`` runs in the background until its block is done;
- ``curl`` fails on an HTTP error status (``--fail-with-body``);
- the system folders in ``FOLDERS`` become folders of the block.

Each command must exit 0 and give a non-empty, sensible answer: no traceback, no SPARQL result
without rows, a CSV with at least one row, or the files it was asked to write.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
BIN = Path(sys.executable).parent

#: Commands not run, each with the reason. Keep this short: a test fails if one of them is no
#: longer in the README.
EXCLUDED = {
    "python3 run.py serve": "sets up .venv (installing packages from the network) and then runs "
    "`aigraph serve`, which the test runs itself",
    "python3 run.py test": "runs this test suite itself",
    "python3 run.py test -x -k http": "runs (part of) this test suite itself",
}

#: System folders in the examples, replaced by a folder of the block.
FOLDERS = {"/var/lib/aigraph": "aigraph-store", "/data/oxi": "oxigraph-store"}

#: Small stand-ins for the user's own files the examples name.
PREFIXES = "@prefix ex: <http://example.org/> .\n"
STAND_INS = {
    "my-file.trig": PREFIXES + "# Statements of your own go here.\n",
    "my-graph/mine.ttl": PREFIXES + 'ex:thing ex:label "a thing of my own" .\n',
    "big-graph.nt": "".join(
        f'<http://example.org/s{i}> <http://example.org/p> "{i}" .\n' for i in range(100)
    ),
    "more/extra.trig": PREFIXES + 'ex:g { ex:other ex:label "another thing" . }\n',
}
LINKED = ("data", "ontology", "queries")
COMMAND_TIMEOUT = 240  # seconds; a command that takes longer fails

SHELL_BLOCK = re.compile(r"^```(?:sh|bash|console|shell)[ \t]*\n(.*?)^```", re.S | re.M)
LOCAL_PORT = re.compile(r"\b(?:127\.0\.0\.1|localhost):(\d+)")
SERVING = re.compile(r"at (http://127\.0\.0\.1:\d+)/")


@dataclass(frozen=True)
class Command:
    line: int  # line of the README where it starts
    text: str  # without prompt and trailing comment


def strip_comment(line: str) -> str:
    """Drop a trailing ``# comment`` that is outside quotes."""
    quote = None
    for i, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    return line.rstrip()


def readme_blocks(text: str) -> list[list[Command]]:
    """Return the commands of each shell block of the README, in order."""
    blocks = []
    for match in SHELL_BLOCK.finditer(text):
        first_line = text.count("\n", 0, match.start(1)) + 1
        console = match.group(0).startswith(("```console", "```shell"))
        commands: list[Command] = []
        pending, start = "", 0
        for offset, raw in enumerate(match.group(1).splitlines()):
            line = raw.strip()
            if console and not pending:
                if not line.startswith("$ "):
                    continue  # output shown in a console block
                line = line[2:]
            if not pending:
                start = first_line + offset
            if line.endswith("\\"):
                pending += line[:-1].rstrip() + " "
                continue
            command = strip_comment(pending + line)
            pending = ""
            if command:
                commands.append(Command(start, command))
        blocks.append(commands)
    return blocks


BLOCKS = [
    b
    for b in readme_blocks(README.read_text(encoding="utf-8"))
    if any(c.text not in EXCLUDED for c in b)
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Block:
    """Runs one block's commands in its own folder; stops what it started."""

    def __init__(self, folder: Path, live_server: str) -> None:
        self.folder = folder
        self.live = live_server.removeprefix("http://")
        self.ports: dict[str, str] = {}
        self.background: list[subprocess.Popen] = []
        self.env = dict(
            os.environ,
            PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            AIGRAPH_EXECUTORS="1",
            PYTHONUNBUFFERED="1",
        )
        for name in LINKED:
            (folder / name).symlink_to(ROOT / name, target_is_directory=True)
        (folder / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
        for name, content in STAND_INS.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(content, encoding="utf-8")

    # -- rewriting ------------------------------------------------------------------------------

    def rewrite(self, command: str) -> str:
        def local(match: re.Match[str]) -> str:
            if match.group(1) == "8000":
                return self.live
            return "127.0.0.1:" + self.ports.setdefault(match.group(1), str(free_port()))

        command = LOCAL_PORT.sub(local, command)
        for system, own in FOLDERS.items():
            command = command.replace(system, own)
        words = shlex.split(command)
        if words[:1] == ["curl"]:
            command = "curl --fail-with-body --silent --show-error --max-time 120" + command[4:]
        if is_serve(command):
            command = re.sub(r"--port[ =]\S+", "", command) + " --port 0"
            if "--host" not in command:
                command += " --host 127.0.0.1"
        return command

    # -- running --------------------------------------------------------------------------------

    def start(self, command: str) -> subprocess.Popen:
        return subprocess.Popen(
            ["bash", "-c", command],
            cwd=self.folder,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )

    def run(self, command: Command) -> None:
        shown = self.rewrite(command.text)
        where = f"README.md:{command.line}: `{command.text}`\n(run as: `{shown}`)"
        if shown.endswith("&"):
            self.run_background(shown[:-1].strip(), where)
        elif is_serve(shown):
            self.run_server(shown, where)
        else:
            self.run_to_end(shown, where)

    def run_to_end(self, shown: str, where: str) -> None:
        before = snapshot(self.folder)
        # Output goes to files, not pipes: a leftover child holding a pipe cannot hang the test.
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            process = subprocess.Popen(
                ["bash", "-c", shown],
                cwd=self.folder,
                env=self.env,
                stdout=out,
                stderr=err,
                text=True,
                start_new_session=True,
            )
            try:
                code: int | None = process.wait(COMMAND_TIMEOUT)
            except subprocess.TimeoutExpired:
                code = None
            leftovers = end_group(process.pid)
            out.seek(0)
            err.seek(0)
            stdout = out.read()
            output = stdout + err.read()
        assert code is not None, f"{where}\ndid not end in {COMMAND_TIMEOUT} s:\n{output[-4000:]}"
        assert code == 0, f"{where}\nexit {code}:\n{output[-4000:]}"
        assert not leftovers, f"{where}\nleft processes running after it ended: {leftovers}"
        assert "Traceback" not in output, f"{where}\n{output[-4000:]}"
        written = {p for p, size in snapshot(self.folder).items() if size and before.get(p) != size}
        assert output.strip() or written, f"{where}\nprinted nothing and wrote no file"
        problem = nonsense(shown, stdout)
        assert not problem, f"{where}\n{problem}:\n{stdout[-4000:]}"

    def run_server(self, shown: str, where: str) -> None:
        process = self.start(shown)
        try:
            url, output = wait_for_url(process)
            assert url, f"{where}\nthe server did not start:\n{output[-4000:]}"
            request = urllib.request.Request(
                url + "/sparql?query=ASK%7B%3Fs%20%3Fp%20%3Fo%7D",
                headers={"Accept": "application/sparql-results+json"},
            )
            with urllib.request.urlopen(request, timeout=60) as response:
                answer = json.loads(response.read())
            assert answer.get("boolean") is True, f"{where}\nASK over its data: {answer}"
        finally:
            stop(process)

    def run_background(self, shown: str, where: str) -> None:
        process = self.start(shown)
        self.background.append(process)
        ports = [int(p) for p in re.findall(r"127\.0\.0\.1:(\d+)", shown)]
        deadline = time.monotonic() + 120
        while ports and time.monotonic() < deadline and process.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", ports[0]), timeout=1).close()
                return
            except OSError:
                time.sleep(0.2)
        output = process.stdout.read() if process.poll() is not None and process.stdout else ""
        assert not ports, f"{where}\ndid not listen on port {ports[0]}:\n{output[-4000:]}"

    def close(self) -> None:
        for process in self.background:
            stop(process)


def is_serve(command: str) -> bool:
    return bool(re.search(r"(?:^|[\s/])aigraph serve\b", command))


def snapshot(folder: Path) -> dict[str, int]:
    """Return the size of every file under ``folder``, not following the linked folders."""
    found = {}
    for path in folder.rglob("*"):
        parts = path.relative_to(folder).parts
        if parts[0] in (*LINKED, ".venv") or not path.is_file():
            continue
        found[path.relative_to(folder).as_posix()] = path.stat().st_size
    return found


def nonsense(command: str, stdout: str) -> str:
    """Return why ``stdout`` is not a sensible answer to ``command``, or an empty string."""
    text = stdout.strip()
    try:
        parsed = json.loads(text) if text[:1] in "{[" else None
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        if "error" in parsed:
            return "an error instead of an answer"
        if "results" in parsed and not parsed["results"].get("bindings"):
            return "a SPARQL result without rows"
    if re.search(r"^0 row\(s\)$", text, re.M):
        return "a result without rows"
    if re.search(r"text/csv|text/tab-separated|format[= ](?:csv|tsv)\b", command):
        if len([line for line in text.splitlines() if line.strip()]) < 2:
            return "a CSV/TSV result with a header and no rows"
    return ""


def wait_for_url(process: subprocess.Popen) -> tuple[str, str]:
    """Read a server's output until it prints its URL (or ends); keep draining it after."""
    lines: list[str] = []
    found = threading.Event()
    url: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            match = SERVING.search(line)
            if match and not url:
                url.append(match.group(1))
                found.set()
        found.set()

    threading.Thread(target=read, daemon=True).start()
    found.wait(180)
    return (url[0] if url else ""), "".join(lines)


def stop(process: subprocess.Popen) -> None:
    """Stop a process this test started, and what it started (its own session)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
    end_group(process.pid)


def end_group(group: int) -> list[str]:
    """Return the processes of a session this test started that still run, after ending them.

    Child processes get a few seconds to end with their parent before they are killed.
    """
    import psutil

    def alive() -> list[psutil.Process]:
        found = []
        for process in psutil.process_iter(["pid", "status"]):
            try:
                if os.getpgid(process.pid) == group and process.status() != psutil.STATUS_ZOMBIE:
                    found.append(process)
            except (OSError, psutil.Error):
                continue
        return found

    deadline = time.monotonic() + 10
    while alive() and time.monotonic() < deadline:
        time.sleep(0.2)
    remaining = alive()
    shown = []
    for process in remaining:
        try:
            shown.append(f"{process.pid} {' '.join(process.cmdline())[:120]}")
            process.kill()
        except psutil.Error:
            continue
    return shown


# -- tests ----------------------------------------------------------------------------------------


def test_the_readme_has_runnable_examples() -> None:
    commands = [c.text for block in BLOCKS for c in block]
    assert sum(c.startswith("curl ") for c in commands) >= 5, commands
    assert sum(c.startswith("aigraph ") for c in commands) >= 10, commands


def test_every_excluded_command_is_still_in_the_readme() -> None:
    everything = {
        c.text for block in readme_blocks(README.read_text(encoding="utf-8")) for c in block
    }
    assert set(EXCLUDED) <= everything, set(EXCLUDED) - everything


def test_a_result_without_rows_is_not_an_answer() -> None:
    empty_csv = "o\r\n"
    assert nonsense("curl -H 'Accept: text/csv' http://x/sparql", empty_csv)
    assert nonsense("curl x", json.dumps({"head": {"vars": ["o"]}, "results": {"bindings": []}}))
    assert nonsense("aigraph query x", "a | b\n--+--\n0 row(s)\n")
    assert not nonsense("curl -H 'Accept: text/csv' x", "o\r\nhttp://example.org/a\r\n")


def test_comments_and_prompts_are_read_like_a_shell() -> None:
    text = (
        "```console\n$ aigraph info   # counts\nfiles: 3\n```\n"
        "```sh\ncurl -d 'q=a # b' \\\n  http://127.0.0.1:8000/x\n```\n"
    )
    blocks = readme_blocks(text)
    assert [[c.text for c in b] for b in blocks] == [
        ["aigraph info"],
        ["curl -d 'q=a # b' http://127.0.0.1:8000/x"],
    ]


def block_id(block: list[Command]) -> str:
    return re.sub(r"[^\w.-]+", "-", block[0].text)[:40].strip("-")


@pytest.mark.parametrize("block", BLOCKS, ids=[block_id(b) for b in BLOCKS])
def test_readme_example_runs(block: list[Command], live_server: str, tmp_path: Path) -> None:
    runner = Block(tmp_path, live_server)
    try:
        for command in block:
            if command.text not in EXCLUDED:
                runner.run(command)
    finally:
        runner.close()
