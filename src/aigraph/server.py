"""Run the web app under waitress, a production WSGI server."""

from __future__ import annotations

import logging
import sys

import click
from waitress.server import create_server

from .core import Aigraph
from .settings import Settings


def serve(settings: Settings) -> None:
    """Open the graph, then serve it until interrupted; print the URL once listening."""
    from .web import create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    core = Aigraph.open(settings)
    app = create_app(core=core)
    server = create_server(
        app,
        host=settings.host,
        port=settings.port,
        threads=settings.threads,
        # waitress's own limits sit above the app's, so that the app answers 413/431 in the
        # one error shape; waitress only stops what is far beyond them.
        max_request_body_size=max(settings.max_body * 64, 64 * 1024 * 1024),
        max_request_header_size=1024 * 1024,
        channel_timeout=max(30, int(settings.query_timeout) + 20),
        clear_untrusted_proxy_headers=True,
        ident="aigraph",
    )
    port = server.effective_port  # type: ignore[union-attr]
    host = settings.host if ":" not in settings.host else f"[{settings.host}]"
    click.echo(
        f"aigraph: serving {core.loaded.triple_count()} triples with the {core.engine.name} "
        f"engine at http://{host}:{port}/  (SPARQL endpoint: http://{host}:{port}/sparql)"
    )
    sys.stdout.flush()
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        core.close()
