"""Where the time of one SPARQL lookup goes: each layer of the request path measured alone.

Every stage is timed as the median of ``--repeat`` runs, in microseconds, and the stages are
subtracted to give each layer's own cost:

- HTTP: a bare WSGI app (returns ``ok``) behind plain waitress and behind the front door, one
  keep-alive client (the server runs in a forked process, so client and server do not share a
  GIL);
- Flask: the same bare app as a Flask route with no hooks, then aigraph's app (``/healthz``,
  and the lookup) called in-process as WSGI;
- the pieces of the lookup: guard check, format negotiation, and ``core.answer`` (the hop to
  the query worker, the query, and the writing of the SPARQL JSON);
- the lookup over HTTP on the front door.

    python benchmarks/profile_request.py                 # 1 000 synthetic triples
    python benchmarks/profile_request.py --triples 100000 --cprofile 20

``--cprofile N`` also prints the N functions of the in-process lookup with the most own time;
``--alternatives`` needs gunicorn and granian (the ``bench`` extra).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import http.client
import io
import multiprocessing
import os
import pstats
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    BIN,
    HOST,
    ROOT,
    SELECT_JSON,
    Server,
    fmt,
    free_port,
    median,
    old_tree,
    start_tree,
    subjects_of,
    synth_file,
    table,
)

from aigraph import formats
from aigraph.core import Aigraph
from aigraph.settings import Settings
from aigraph.web import create_app

QUERY_TYPE = "application/sparql-query; charset=utf-8"


class Stages:
    """Timed stages run in interleaved rounds, so machine noise hits them all alike."""

    def __init__(self, batch: int = 50) -> None:
        self.batch = batch
        self.runs: dict[str, Callable[[], object]] = {}
        self.samples: dict[str, list[int]] = {}
        self.core: Aigraph | None = None
        self.in_process: Callable[[], None] | None = None

    def add(self, name: str, run: Callable[[], object]) -> None:
        for _ in range(20):  # warm-up
            run()
        self.runs[name] = run
        self.samples[name] = []

    def measure(self, repeat: int) -> dict[str, float]:
        """Return the median microseconds of each stage over ``repeat`` calls."""
        for _ in range(max(1, repeat // self.batch)):
            for name, run in self.runs.items():
                found = self.samples[name]
                for _ in range(self.batch):
                    started = time.perf_counter_ns()
                    run()
                    found.append(time.perf_counter_ns() - started)
        return {name: median(found) / 1000 for name, found in self.samples.items()}


def bare_app(environ, start_response):
    environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]


def flask_bare():
    from flask import Flask, request

    app = Flask("bare")

    @app.post("/sparql")
    def sparql() -> str:
        request.get_data()
        return "ok"

    return app


def open_core(data: Path) -> Aigraph:
    return Aigraph.open(Settings(data=(str(data),), validate=False, max_rows=10_000_000))


def wsgi_call(app, method: str, path: str, body: bytes, headers: dict[str, str]):
    """Return a function calling ``app`` as a WSGI server would, with a fresh environ."""
    base = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": HOST,
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": HOST,
        "HTTP_HOST": f"{HOST}:80",
        "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "CONTENT_LENGTH": str(len(body)),
    }
    for name, value in headers.items():
        key = name.upper().replace("-", "_")
        base[key if key == "CONTENT_TYPE" else "HTTP_" + key] = value
    seen = []

    def start_response(status, response_headers, exc_info=None):
        seen.append(status)

    def call() -> None:
        environ = dict(base, **{"wsgi.input": io.BytesIO(body)})
        chunks = app(environ, start_response)
        for _ in chunks:
            pass
        getattr(chunks, "close", lambda: None)()
        if not seen[-1].startswith("200"):
            raise RuntimeError(f"{path}: {seen[-1]}")

    return call


def _serve(kind: str, data: Path, port: int, ready) -> None:
    from waitress import create_server as plain_server

    from aigraph.web.frontdoor import create_server
    from aigraph.web.server import front_door

    if kind == "plain waitress":
        server = plain_server(bare_app, host=HOST, port=port, threads=4)
    else:
        if kind == "front door":
            app = bare_app
            front = front_door(Settings(), create_app_metrics_only())
        else:
            if kind.endswith("access log"):
                from aigraph.web.server import configure_logging

                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, 2)
                configure_logging()
            core = open_core(data)
            app = create_app(core=core)
            front = front_door(core.settings, app)
        server = create_server(app, front, host=HOST, port=port, threads=16)
    ready.set()
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    server.run()


def create_app_metrics_only():
    from flask import Flask

    from aigraph.web.metrics import Metrics

    app = Flask("metrics")
    app.extensions["aigraph.metrics"] = Metrics()
    return app


#: WSGI servers measured as alternatives to waitress (when installed): command lines.
ALTERNATIVES = {
    "gunicorn gthread": lambda target, port: [
        str(BIN / "gunicorn"), "-k", "gthread", "--threads", "16", "-w", "1",
        "-b", f"{HOST}:{port}", "--keep-alive", "300", "--log-level", "warning", target,
    ],
    "granian (Rust)": lambda target, port: [
        str(BIN / "granian"), "--interface", "wsgi", "--host", HOST, "--port", str(port),
        "--blocking-threads", "16", "--log-level", "warning",
        *(["--factory"] if target.endswith("()") else []), target.removesuffix("()"),
    ],
}  # fmt: skip


class Served:
    """A server on a free loopback port: forked (``kind``) or a command of ``ALTERNATIVES``."""

    def __init__(self, kind: str, data: Path, target: str = "") -> None:
        self.port = free_port()
        self.process: multiprocessing.Process | subprocess.Popen
        if target:
            env = dict(
                os.environ,
                AIGRAPH_DATA=str(data),
                AIGRAPH_VALIDATE="false",
                AIGRAPH_MAX_ROWS="10000000",
                PYTHONPATH=str(Path(__file__).resolve().parent),
            )
            command = ALTERNATIVES[kind](target, self.port)
            self.process = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
        else:
            context = multiprocessing.get_context("fork")
            ready = context.Event()
            self.process = context.Process(target=_serve, args=(kind, data, self.port, ready))
            self.process.start()
            ready.wait(120)
        self.connection = self.connect()

    @classmethod
    def attach(cls, server: Server) -> Served:
        """Wrap a server started by ``common`` (an ``aigraph serve`` process)."""
        found = cls.__new__(cls)
        found.port, found.process = server.port, server.process
        found.connection = found.connect()
        return found

    def connect(self) -> http.client.HTTPConnection:
        deadline = time.monotonic() + 120
        while True:
            connection = http.client.HTTPConnection(HOST, self.port, timeout=60)
            try:
                connection.request("GET", "/healthz")
                connection.getresponse().read()
                return connection
            except (OSError, http.client.HTTPException):
                connection.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def call(self, method: str, path: str, body: bytes = b"") -> Callable[[], None]:
        headers = {"Content-Type": QUERY_TYPE, "Accept": SELECT_JSON}

        def run() -> None:
            try:
                self.connection.request(method, path, body=body or None, headers=headers)
                response = self.connection.getresponse()
            except (http.client.RemoteDisconnected, ConnectionError):
                # The server closed an idle keep-alive connection: open another.
                self.connection.close()
                self.connection = self.connect()
                self.connection.request(method, path, body=body or None, headers=headers)
                response = self.connection.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"{path} on port {self.port}: {response.status}")

        return run

    def stop(self) -> None:
        self.connection.close()
        self.process.terminate()
        if isinstance(self.process, subprocess.Popen):
            self.process.wait(10)
        else:
            self.process.join(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--triples", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=2000)
    parser.add_argument("--cprofile", type=int, default=0, help="print the top N functions")
    parser.add_argument(
        "--alternatives", action="store_true", help="also measure gunicorn and granian"
    )
    parser.add_argument(
        "--old", help="also time `aigraph serve` of this commit (or source folder) and of this tree"
    )
    args = parser.parse_args()
    data = synth_file(args.triples, seed=1)
    subject = subjects_of(data, 200)[0]
    lookup = f"SELECT ?p ?o WHERE {{ <{subject}> ?p ?o }}"

    served: list[Served] = []
    stages = Stages()
    with contextlib.ExitStack() as trees:
        if args.old:
            # `aigraph serve` as in production (access log on), this tree and an older one.
            env = {"AIGRAPH_MAX_ROWS": "10000000"}
            body = lookup.encode()
            for name, tree in (
                ("this tree", ROOT),
                (
                    args.old,
                    Path(args.old)
                    if Path(args.old).is_dir()
                    else trees.enter_context(old_tree(args.old)),
                ),
            ):
                served.append(Served.attach(start_tree(name, tree, "--data", str(data), **env)))
                stages.add(
                    f"HTTP lookup, aigraph serve, {name}", served[-1].call("POST", "/sparql", body)
                )
        found = measure_stages(args, data, lookup, served, stages)
    report(args, found, stages)


def measure_stages(args, data: Path, lookup: str, served: list[Served], stages: Stages):
    body = lookup.encode()
    headers = {"Content-Type": QUERY_TYPE, "Accept": SELECT_JSON}
    try:
        for kind in ("plain waitress", "front door"):
            served.append(Served(kind, data))
            stages.add(f"HTTP, bare WSGI app, {kind}", served[-1].call("POST", "/sparql", body))
        if args.alternatives:
            for kind in ALTERNATIVES:
                served.append(Served(kind, data, "profile_request:bare_app"))
                stages.add(f"HTTP, bare WSGI app, {kind}", served[-1].call("POST", "/sparql", body))
        served.append(Served("aigraph", data))
        stages.add("HTTP /healthz, aigraph on the front door", served[-1].call("GET", "/healthz"))
        stages.add(
            "HTTP lookup, aigraph on the front door", served[-1].call("POST", "/sparql", body)
        )
        served.append(Served("aigraph, access log", data))
        stages.add(
            "HTTP lookup, aigraph on the front door, access log",
            served[-1].call("POST", "/sparql", body),
        )
        if args.alternatives:
            for kind in ALTERNATIVES:
                served.append(Served(kind, data, "aigraph.web:create_app()"))
                stages.add(
                    f"HTTP lookup, aigraph on {kind}", served[-1].call("POST", "/sparql", body)
                )

        core = open_core(data)
        app = create_app(core=core)
        checked = core.check(lookup)
        table_ = formats.offers_for(checked.form)
        offer = formats.negotiate(SELECT_JSON, table_)
        ask_checked = core.check("ASK {}")
        in_process = wsgi_call(app, "POST", "/sparql", body, headers)
        stages.add(
            "Flask route, no hooks (in-process WSGI)",
            wsgi_call(flask_bare(), "POST", "/sparql", body, headers),
        )
        stages.add(
            "aigraph /healthz (in-process WSGI)", wsgi_call(app, "GET", "/healthz", b"", headers)
        )
        stages.add("aigraph lookup (in-process WSGI)", in_process)
        stages.add("guard check (core.check)", lambda: core.check(lookup))
        stages.add(
            "negotiation (formats.negotiate)", lambda: formats.negotiate(SELECT_JSON, table_)
        )
        stages.add("core.answer: worker hop + query + JSON", lambda: core.answer(checked, offer))
        stages.add(
            "worker hop alone (core.answer of ASK {})", lambda: core.answer(ask_checked, offer)
        )
        found = stages.measure(args.repeat)
        stages.core = core
        stages.in_process = in_process
        return found
    finally:
        for server in served:
            server.stop()


def report(args, found: dict[str, float], stages: Stages) -> None:
    rows = [[name, fmt(value, 0)] for name, value in found.items()]
    full = found["aigraph lookup (in-process WSGI)"]
    pieces = (
        "guard check (core.check)",
        "negotiation (formats.negotiate)",
        "core.answer: worker hop + query + JSON",
    )
    rows += [
        ["derived: front door's own cost (front door - plain waitress)", fmt(found["HTTP, bare WSGI app, front door"] - found["HTTP, bare WSGI app, plain waitress"], 0)],
        ["derived: Flask, hooks, protocol parse (in-process lookup - pieces)", fmt(full - sum(found[p] for p in pieces), 0)],
        ["derived: HTTP layer (lookup over HTTP - in-process)", fmt(found["HTTP lookup, aigraph on the front door"] - full, 0)],
    ]  # fmt: skip
    print(
        f"# profile_request: {args.triples} triples, median of {args.repeat} interleaved runs, µs"
    )
    print(table(["stage", "µs"], rows))
    core, in_process = stages.core, stages.in_process
    assert core is not None and in_process is not None
    if args.cprofile:
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(args.repeat):
            in_process()
        profile.disable()
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(args.cprofile)
        print(out.getvalue())
    core.close()


if __name__ == "__main__":
    main()
