"""Run the web app under waitress, a production WSGI server, with graceful stop and reload.

Signals: SIGTERM (and SIGINT) stop accepting, let in-flight requests finish within
``shutdown_grace`` seconds, then exit 0. SIGHUP reloads the data: the new graph is loaded and
validated beside the old one, which keeps answering until the new one is ready; invalid new
data is refused and the old graph stays.
"""

from __future__ import annotations

import _thread
import atexit
import json
import logging
import queue
import resource
import signal
import sys
import threading
import time
from typing import Any

import click
from flask import Flask
from waitress import wasyncore

from aigraph import logs
from aigraph.core import Aigraph
from aigraph.errors import AigraphError
from aigraph.settings import Settings
from aigraph.web import EXTENSION, cache, create_app
from aigraph.web.frontdoor import FrontDoor, client_key, create_server

log = logging.getLogger("aigraph.server")


def serve(settings: Settings) -> None:
    """Open the graph, then serve it until stopped; print the URL once listening."""
    configure_logging()
    core = Aigraph.open(settings)
    for warning in core.source.warnings:
        log.warning("%s", warning)
    if not core.project.validation_shapes():
        log.warning("not validated: the project %s has no shapes/", core.project.root)
    for gap in core.metadata_gaps:  # the dataset description, per DCAT-AP
        log.warning("metadata %s", gap)
    app = create_app(core=core)
    server = create_server(
        app,
        front_door(settings, app),
        host=settings.host,
        port=settings.port,
        threads=settings.threads,
        connection_limit=connection_limit(settings),
        max_request_header_size=settings.max_request_head,
        # A client that sends or reads nothing for this long is disconnected.
        channel_timeout=idle_timeout(settings),
        clear_untrusted_proxy_headers=True,
        **proxy_adjustments(settings),
        ident="aigraph",
    )
    lifecycle = Lifecycle(app, server, settings)
    lifecycle.install()
    port = server.effective_port  # type: ignore[union-attr]
    host = settings.host if ":" not in settings.host else f"[{settings.host}]"
    click.echo(
        f"aigraph: serving {core.triple_count} triples with the {core.engine.name} "
        f"engine at http://{host}:{port}/  (SPARQL endpoint: http://{host}:{port}/sparql)"
    )
    sys.stdout.flush()
    confinement = core.confinement()
    if confinement.missing and not confinement.network:
        log.warning("SANDBOX INCOMPLETE: %s", confinement.describe())
    else:
        log.info("%s", confinement.describe())
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        app.extensions[EXTENSION].close()
    log.info("stopped")


def idle_timeout(settings: Settings) -> int:
    """Return the whole seconds a silent connection is kept (waitress counts in seconds)."""
    if settings.idle_timeout > 0:
        return max(1, round(settings.idle_timeout))
    return max(30, int(settings.query_timeout) + 20)


def front_door(settings: Settings, app: Flask) -> FrontDoor:
    """Return the front door's limits from ``settings``, counting into the app's metrics."""
    return FrontDoor(
        header_timeout=settings.header_timeout,
        body_timeout=settings.body_timeout,
        max_body=settings.max_body,
        max_client_connections=settings.max_client_connections,
        # A trusted proxy speaks for many clients: only the overall limit applies to it.
        exempt=frozenset({client_key(settings.trusted_proxy)} - {"", "*"}),
        count=app.extensions["aigraph.metrics"].count,
    )


#: Descriptors kept free of client connections: the store, worker pipes, logs, the listener.
_RESERVED_FILES = 256


def connection_limit(settings: Settings) -> int:
    """Raise the open-files limit, and return ``max_connections`` bounded by it."""
    files = raise_open_files_limit(settings.max_open_files)
    room = max(16, files - _RESERVED_FILES - 4 * settings.executors)
    if settings.max_connections > room:
        log.warning(
            "max_connections %d is over what the open-files limit (%d) allows; using %d",
            settings.max_connections,
            files,
            room,
        )
    return min(settings.max_connections, room)


def proxy_adjustments(settings: Settings) -> dict[str, Any]:
    """Return waitress's trusted-proxy options: none unless ``trusted_proxy`` is set.

    With them, waitress takes the client address, host, scheme and port from the forwarded
    headers of that one peer (rewriting ``REMOTE_ADDR``, ``Host`` and the URL scheme); from
    any other peer those headers are removed before the app sees the request.
    """
    if not settings.trusted_proxy:
        return {}
    return {
        "trusted_proxy": settings.trusted_proxy,
        "trusted_proxy_count": 1,
        "trusted_proxy_headers": settings.trusted_proxy_headers,
    }


def configure_logging() -> None:
    """Log to stderr: the access log as bare JSON lines, everything else with a prefix.

    Every record is escaped (``logs``): no client text can start a line or send a terminal
    escape; warnings are logged too, as one escaped line each.
    """
    logs.capture_warnings()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    access = logging.getLogger("aigraph.access")
    access.propagate = False
    lines = BatchedLines(sys.stderr)
    lines.setFormatter(logging.Formatter("%(message)s"))
    access.addHandler(lines)
    atexit.register(lines.close)
    access.setLevel(logging.INFO)
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)


class BatchedLines(logging.Handler):
    """Write the lines of the records from one thread, a batch at a time.

    A request thread only formats its line and queues it (no copy of the record, no write).
    The writer thread, once woken, waits ``pause`` seconds and writes every line queued by
    then in one call: under load it wakes once per ``pause``, not once per request, so the
    log costs requests no thread switch and no system call. ``close`` writes what is left.

    At most ``limit`` lines wait: when the stream is not read (stderr to a pipe nobody
    drains) further lines are dropped and counted, and once writing works again one JSON line
    says how many (``{"dropped": N, ...}``). Requests are never held up by the log, unlike a
    server that writes each line in the request's thread (gunicorn, Datasette's uvicorn),
    where a full pipe stalls every request.
    """

    def __init__(self, stream: Any, pause: float = 0.05, limit: int = 10_000) -> None:
        super().__init__()
        self.stream = stream
        self.pause = pause
        self.limit = limit
        self.dropped = 0  # lines dropped since the last notice
        self.drop_lock = threading.Lock()
        self.lines: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self.writer = threading.Thread(target=self._write, name="aigraph-log-writer", daemon=True)
        self.writer.start()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if self.lines.qsize() >= self.limit:
                with self.drop_lock:
                    self.dropped += 1
                return
            self.lines.put(self.format(record))
        except Exception:  # noqa: BLE001 - logging reports its own failures
            self.handleError(record)

    def _dropped_notice(self) -> list[str]:
        with self.drop_lock:
            dropped, self.dropped = self.dropped, 0
        if not dropped:
            return []
        message = (
            f"{dropped} access-log lines dropped: the log stream was not read fast enough"
            f" (at most {self.limit} lines wait to be written)"
        )
        return [json.dumps({"dropped": dropped, "message": message})]

    def _write(self) -> None:
        while True:
            batch = [self.lines.get()]
            time.sleep(self.pause)
            while True:
                try:
                    batch.append(self.lines.get_nowait())
                except queue.Empty:
                    break
            text = [line for line in batch if line is not None] + self._dropped_notice()
            if text:
                try:
                    self.stream.write("\n".join(text) + "\n")
                    self.stream.flush()
                except (OSError, ValueError):
                    pass  # the stream is gone: nothing else can be told
            if None in batch:
                return

    def close(self) -> None:
        if self.writer.is_alive():
            self.lines.put(None)
            self.writer.join(timeout=5)
        super().close()


class Lifecycle:
    """Signal handling: graceful stop on SIGTERM/SIGINT, reload on SIGHUP."""

    def __init__(self, app: Flask, server: Any, settings: Settings) -> None:
        self.app = app
        self.server = server
        self.settings = settings
        self.stopping = False
        self.reload_lock = threading.Lock()

    def install(self) -> None:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        signal.signal(signal.SIGHUP, self.reload)

    def stop(self, signum: int, frame: object) -> None:
        """Stop accepting connections now; exit once in-flight requests are done."""
        if self.stopping:
            return
        self.stopping = True
        # The drain thread ends the loop with interrupt_main(), which runs the SIGINT handler:
        # from now on that must raise KeyboardInterrupt, not call stop() again.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        log.info(
            "signal %s: no longer accepting; finishing in-flight requests",
            signal.Signals(signum).name,
        )
        # Close the listening socket from waitress's own loop (closing it here, inside a
        # select() call, would break the loop); open connections keep being served. Only the
        # socket: the server's close() also closes the trigger that request threads pull to
        # have their output sent, which would cut every answer still being written.
        self.server.trigger.pull_trigger(lambda: wasyncore.dispatcher.close(self.server))
        threading.Thread(target=self._drain, name="aigraph-drain", daemon=True).start()

    def _drain(self) -> None:
        metrics = self.app.extensions["aigraph.metrics"]
        deadline = time.monotonic() + self.settings.shutdown_grace
        while metrics.in_flight > 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        if metrics.in_flight > 0:
            log.warning("grace period over with %d request(s) in flight", metrics.in_flight)
        time.sleep(0.1)  # let waitress flush the last responses
        _thread.interrupt_main()

    def reload(self, signum: int, frame: object) -> None:
        threading.Thread(target=self._reload, name="aigraph-reload", daemon=True).start()

    def _reload(self) -> None:
        if not self.reload_lock.acquire(blocking=False):
            log.info("reload already running")
            return
        try:
            log.info("reloading the data")
            try:
                fresh = Aigraph.open(self.settings)
            except AigraphError as exc:
                log.error("reload refused, the old graph stays: %s", exc.message)
                return
            old = self.app.extensions[EXTENSION]
            self.app.extensions[EXTENSION] = fresh
            pages = self.app.extensions.get(cache.EXTENSION)
            if pages is not None:
                pages.clear()  # the old core's pages go now, not at the next request
            self.app.extensions["aigraph.metrics"].count("reloads")
            log.info("reloaded: %d triples", fresh.triple_count)
            # Requests already running on the old graph finish before it is closed.
            timer = threading.Timer(self.settings.query_timeout + 2, old.close)
            timer.daemon = True
            timer.start()
        finally:
            self.reload_lock.release()


def raise_open_files_limit(target: int) -> int:
    """Raise the soft open-files limit towards ``target`` (within the hard limit); return it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = target if hard == resource.RLIM_INFINITY else min(target, hard)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError) as exc:
            log.warning("cannot raise the open-files limit from %d: %s", soft, exc)
    return target if soft == resource.RLIM_INFINITY else soft
