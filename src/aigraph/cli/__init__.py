"""The ``aigraph`` command line: a thin click adapter over the core.

Exit codes: 0 ok / conforms, 1 does not conform, 2 usage or unreadable input, 3 a query or
engine failure (timeout, remote endpoint error).
"""

from __future__ import annotations

import errno
import socket
import sys
import time
from pathlib import Path
from typing import Any

import click

from aigraph import logs
from aigraph.cli import project as projects
from aigraph.cli.diff import diff_command
from aigraph.errors import AigraphError, UsageError
from aigraph.settings import CANONICAL_BASE, ENGINES, Settings

_help = projects.setting_help


class AigraphGroup(click.Group):
    """A click group that maps aigraph errors to a message on stderr and their exit code."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except AigraphError as exc:
            click.echo(f"error: {logs.escape(exc.message)}", err=True)
            ctx.exit(exc.exit_code)


@click.group(cls=AigraphGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="aigraph")
def cli() -> None:
    """Publish, validate and query the aigraph knowledge graph."""
    logs.install()  # a library's warning that quotes the data cannot start a line of its own


def main() -> None:
    """Run the command line."""
    cli()


cli.add_command(diff_command)
cli.add_command(projects.init)
cli.add_command(projects.info)
cli.add_command(projects.export)


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(
        ["text", "turtle", "json", "junit", "sarif", "github", "markdown", "codequality"]
    ),
    default="text",
    show_default=True,
    help="Report format.",
)
@click.option(
    "--severity",
    type=click.Choice(["Violation", "Warning", "Info"], case_sensitive=False),
    default="Violation",
    show_default=True,
    help="Lowest severity that fails the run (Warning: warnings fail too).",
)
@click.option("--shapes", type=click.Path(exists=True, path_type=Path), help="Another shapes file.")
@click.option("--lang", type=click.Choice(["en", "sv"]), help=_help("lang"))
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Write the report here.")
@projects.project_option
@click.option(
    "--require-metadata",
    is_flag=True,
    help="Also exit 1 when the dataset description lacks what DCAT-AP makes mandatory.",
)
def validate(
    paths: tuple[Path, ...],
    fmt: str,
    severity: str,
    shapes: Path | None,
    lang: str | None,
    output: Path | None,
    project_dir: Path | None,
    require_metadata: bool,
) -> None:
    """Validate a project (PATHS: one project folder; default: the bundled one) or RDF files.

    A project is validated against its shapes/; among files, those that declare SHACL shapes
    are the shapes (not data), and ontology files are data and declarations. What the project's
    dataset description lacks (DCAT-AP) is listed on stderr. Exit 0 when the data conforms (or
    the project has no shapes), 1 when it does not, 2 when input cannot be read.
    """
    from aigraph import graph
    from aigraph.validation.report import render
    from aigraph.validation.validate import sort_inputs
    from aigraph.validation.validate import validate as run_validation

    with projects.reported_as(fmt):  # --format github: a load error is an ::error too
        settings, paths = projects.validate_settings(project_dir, paths, lang)
        # Shapes are written against the IRIs in the files: validate them before any rebase.
        inputs = sort_inputs(graph.load(settings, rebased=False), CANONICAL_BASE, project=not paths)
        shapes_files, declarations = projects.validation_files(settings, inputs, shapes)
        gaps = [] if paths else projects.metadata_gaps(settings)
        projects.echo_gaps(gaps)
        metadata_fails = require_metadata and projects.fails_on_metadata(gaps)
        if not shapes_files:
            click.echo(projects.not_validated(settings, inputs.data), err=True, nl=False)
            click.get_current_context().exit(1 if metadata_fails else 0)
        report = run_validation(
            inputs.data,
            shapes=shapes_files,
            ontology=declarations,
            severity=severity.capitalize(),
            base=CANONICAL_BASE,
            lang=settings.lang,
        )
    text = render(report, fmt)
    if output:
        output.write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)
    click.get_current_context().exit(0 if report.conforms and not metadata_fails else 1)


@cli.command()
@click.argument("project_path", required=False, type=click.Path(file_okay=False, path_type=Path))
@projects.project_option
@click.option("--host", help=_help("host"))
@click.option("--port", type=int, help=_help("port"))
@click.option("--data", multiple=True, type=click.Path(path_type=Path), help=_help("data"))
@click.option("--base", help=_help("base"))
@click.option("--validate/--no-validate", "validate_data", default=None, help=_help("validate"))
@click.option("--engine", type=click.Choice(ENGINES), help=_help("engine"))
@click.option("--timeout", "query_timeout", type=float, help=_help("query_timeout"))
@click.option("--max-rows", type=int, help=_help("max_rows"))
@click.option("--threads", type=int, help=_help("threads"))
@click.option("--store", type=click.Path(file_okay=False), help=_help("store"))
@click.option("--backend", metavar="URL", help=_help("backend"))
@click.option("--backend-default-graph", metavar="IRI", help=_help("backend_default_graph"))
@click.option("--backend-graphs", metavar="PREFIXES", help=_help("backend_graphs"))
@click.option(
    "--allow-service", "allow_service", metavar="URL_PREFIX", multiple=True,
    help=_help("allow_service"),
)  # fmt: skip
@click.option("--public-url", metavar="URL", help=_help("public_url"))
@click.option("--allowed-hosts", metavar="NAMES", help=_help("allowed_hosts"))
@click.option("--trusted-proxy", metavar="ADDRESS", help=_help("trusted_proxy"))
def serve(
    project_path: Path | None,
    project_dir: Path | None,
    host: str | None,
    port: int | None,
    data: tuple[Path, ...],
    base: str | None,
    validate_data: bool | None,
    engine: str | None,
    query_timeout: float | None,
    max_rows: int | None,
    threads: int | None,
    **stored: str | None,
) -> None:
    """Serve a project (PROJECT_PATH or --project; default: the bundled one) over HTTP.

    The SPARQL endpoint, the query page, the named queries, the pages and the catalogue.
    """
    from aigraph.web.server import serve as run_server

    if project_path and project_dir:
        raise UsageError("give the project once: as PROJECT_PATH or as --project, not both")
    chosen = project_path or project_dir
    stored["allow_service"] = " ".join(stored.get("allow_service") or ()) or None
    settings = Settings.from_env(
        None,
        project=str(chosen) if chosen else None,
        host=host,
        port=port,
        data=tuple(str(p) for p in data) or None,
        base=base,
        validate=validate_data,
        engine=engine,
        query_timeout=query_timeout,
        max_rows=max_rows,
        threads=threads,
        **stored,
    )
    _check_listen_address(settings.host, settings.port)
    run_server(settings)


def _check_listen_address(host: str, port: int) -> None:
    """Fail with one line (exit 2) when ``serve`` cannot listen on ``host:port``.

    Checked before the graph is loaded, with the same address lookup and ``SO_REUSEADDR`` as
    waitress: a port outside 0-65535 would otherwise be taken modulo 65536 by the socket layer.
    """
    if not 0 <= port <= 65535:
        raise UsageError(f"port {port} is not a TCP port: use 1-65535, or 0 to pick a free one")
    try:
        addresses = socket.getaddrinfo(
            host, port, socket.AF_UNSPEC, socket.SOCK_STREAM, socket.IPPROTO_TCP, socket.AI_PASSIVE
        )
    except (socket.gaierror, UnicodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise UsageError(f"host {host!r} is not an address to listen on: {reason}") from None
    for family, kind, proto, _, address in addresses:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    reason = "the port is already in use (choose another with --port)"
                elif exc.errno == errno.EADDRNOTAVAIL:
                    reason = "the address is not one of this machine's (see --host)"
                else:
                    reason = exc.strerror or str(exc)
                raise UsageError(f"cannot listen on {host}:{port}: {reason}") from None


@cli.command()
@click.argument("target")
@click.option("--endpoint", help="Query this SPARQL endpoint instead of the local graph.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
)
@click.option(
    "--param",
    "params",
    multiple=True,
    metavar="NAME=VALUE",
    help="A parameter of a named query (repeatable).",
)
@click.option("--data", multiple=True, type=click.Path(path_type=Path), help=_help("data"))
@click.option("--engine", type=click.Choice(ENGINES), help=_help("engine"))
@projects.project_option
def query(
    target: str,
    endpoint: str | None,
    fmt: str,
    params: tuple[str, ...],
    data: tuple[Path, ...],
    engine: str | None,
    project_dir: Path | None,
) -> None:
    """Run a named query of the project (NAME), a query file (FILE) or standard input (-)."""
    from aigraph.cli.query import run_query

    click.echo(run_query(target, endpoint, fmt, params, data, engine, project_dir), nl=False)


@cli.command()
@click.option(
    "--triples",
    type=click.IntRange(min=1),
    default=10_000,
    show_default=True,
    help="About how many triples to write (within a few percent).",
)
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="Random seed; the same seed writes byte-identical output.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="TriG file to write ('-' for standard output).",
)
@click.option("--base", help=_help("base"))
def synth(triples: int, seed: int, output: Path, base: str | None) -> None:
    """Write synthetic announcements that conform to the shapes, as TriG (for benchmarks)."""
    from aigraph.synth import write

    chosen = Settings.from_env(base=base).base
    if str(output) == "-":
        stats = write(sys.stdout, triples, seed, chosen)
    else:
        with output.open("w", encoding="utf-8", newline="\n") as out:
            stats = write(out, triples, seed, chosen)
    click.echo(
        f"wrote {stats.triples} triples in {stats.graphs} named graphs "
        f"({stats.announcements} announcements)",
        err=True,
    )


@cli.command()
@click.argument("outdir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--site",
    default="http://localhost:8000",
    show_default=True,
    help="Public URL (an origin) the copy will be served at; the catalogue's "
    "download URLs point there. Host OUTDIR at its root.",
)
@click.option("--data", multiple=True, type=click.Path(path_type=Path), help=_help("data"))
@click.option("--base", help=_help("base"))
@projects.project_option
def publish(
    outdir: Path, site: str, data: tuple[Path, ...], base: str | None, project_dir: Path | None
) -> None:
    """Write the whole site as static files: pages, dumps, catalogue, VoID, server configs."""
    from aigraph.core import Aigraph
    from aigraph.web.static_export import publish_site

    settings = Settings.from_env(
        project=str(project_dir) if project_dir else None,
        data=tuple(str(p) for p in data) or None,
        base=base,
        executors=1,
    )
    aigraph = Aigraph.open(settings)
    try:
        report = publish_site(aigraph, outdir, site)
    finally:
        aigraph.close()
    click.echo(f"wrote {len(report.written)} files to {outdir}")
    for problem in report.missing[:20]:
        click.echo(f"warning: not generated: {logs.escape(str(problem))}", err=True)
    if len(report.missing) > 20:
        click.echo(f"warning: ... and {len(report.missing) - 20} more", err=True)


# -- persistent store and remote backend (store.py) --
@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@projects.project_option
@click.option(
    "--store",
    "store_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Store folder to load into (created if needed); then `serve --store`.",
)
@click.option(
    "--to",
    "url",
    metavar="URL",
    help="Graph Store Protocol endpoint of a SPARQL store to send the files to "
    "(e.g. http://127.0.0.1:7878/store); then `serve --backend`.",
)
@click.option("--user", metavar="NAME", help=_help("push_user"))
@click.option("--default-graph", metavar="IRI", help=_help("backend_default_graph"))
def load(
    paths: tuple[Path, ...],
    project_dir: Path | None,
    store_dir: Path | None,
    url: str | None,
    user: str | None,
    default_graph: str | None,
) -> None:
    """Load RDF files (PATHS; none: the project's ontology/ and data/) into an on-disk store
    (--store DIR) or a remote store (--to URL).

    A load into a store is all or nothing: a malformed file or an interruption leaves the
    store as it was. Exit 0 when loaded, 2 on unreadable input or an unusable store.
    """
    from aigraph import graph, graphstore, store

    if (store_dir is None) == (url is None):
        raise click.UsageError("give exactly one of --store DIR or --to URL")
    chosen = Settings.from_env(project=str(project_dir) if project_dir else None)
    # A project's files are named under its base, as when it is served from memory.
    base = chosen.base if project_dir else CANONICAL_BASE
    paths = paths or graph.default_paths(chosen)
    if not paths:
        raise UsageError("nothing to load: the project has no RDF files in ontology/ or data/")
    started = time.monotonic()
    if url is not None:
        settings = Settings.from_env(push_user=user, backend_default_graph=default_graph)
        target = graphstore.Target(
            url,
            settings.push_timeout,
            settings.push_user,
            settings.push_password,
            settings.backend_default_graph,
        )
        sent = graphstore.push_files(target, paths)
        click.echo(
            f"sent {sum(f.quads for f in sent)} quads from {len(sent)} files to {url}", err=True
        )
        return
    reporter = _ProgressLine(sys.stderr)
    try:
        info = store.load_files(store_dir, paths, progress=reporter, base=base)  # type: ignore[arg-type]
    finally:
        reporter.finish()
    seconds = time.monotonic() - started
    union = "; union written to the default graph (a triple is in two graphs)"
    click.echo(
        f"loaded {len(paths)} path(s) into {store_dir} in {seconds:.1f} s: "
        f"{info.quads} quads in the store{union if info.union_written else ''}",
        err=True,
    )


class _ProgressLine:
    """Progress of a load on stderr: a live line on a terminal, a line every 5 s otherwise."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self._tty = stream.isatty()
        self._started = time.monotonic()
        self._shown = self._started
        self._drawn = False

    def __call__(self, done: int, total: int, quads: int) -> None:
        now = time.monotonic()
        if now - self._shown < (0.2 if self._tty else 5.0):
            return
        self._shown = now
        elapsed = max(now - self._started, 1e-6)
        rate = done / elapsed
        eta = (total - done) / rate if rate else 0.0
        text = (
            f"{100 * done / max(total, 1):5.1f}%  {done / 1e6:,.1f}/{total / 1e6:,.1f} MB  "
            f"{rate / 1e6:.1f} MB/s  {quads / elapsed:,.0f} quads/s  ETA {eta:4.0f} s"
        )
        if self._tty:
            self._stream.write("\r" + text)
            self._drawn = True
        else:
            self._stream.write(text + "\n")
        self._stream.flush()

    def finish(self) -> None:
        if self._drawn:
            self._stream.write("\n")
            self._stream.flush()


# -- end store/backend --
