"""The one settings object: every path, limit and default of aigraph, each with a help string.

Values come from the defaults here, then the environment (``AIGRAPH_<NAME>``), then explicit
values (CLI options or ``create_app(settings=...)``). Nothing else in aigraph holds a default.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from aigraph import content
from aigraph.errors import UsageError

#: The base IRI the bundled project's files mint their IRIs under; IRIs under it are moved
#: under the ``base`` setting on load.
CANONICAL_BASE = "https://w3id.org/aigraph"


def _setting(default: Any, help: str) -> Any:
    return field(default=default, metadata={"help": help})


#: The query engines ``engine`` may name (``aigraph.engine.ENGINES``, the CLI's ``--engine``).
ENGINES: tuple[str, ...] = ("oxigraph", "rdflib")


@dataclass(frozen=True)
class Settings:
    """Every setting of aigraph. The README documents each (a test keeps them in step)."""

    host: str = _setting("127.0.0.1", "Interface `aigraph serve` listens on.")
    port: int = _setting(8000, "TCP port `aigraph serve` listens on (0 picks a free one).")
    project: str = _setting(
        "",
        "Project folder to serve: `data/`, optional `ontology/`, `shapes/`, `queries/`, the "
        "dataset description `dataset.ttl` and settings in `aigraph.toml` (empty: the bundled "
        "announcement project).",
    )
    data: tuple[str, ...] = _setting(
        (),
        "RDF files or folders to serve (Turtle, TriG, N-Triples, N-Quads, JSON-LD, RDF/XML) "
        "instead of the project's `ontology/` and `data/`. In the environment: paths "
        "separated by the OS path separator.",
    )
    base: str = _setting(
        CANONICAL_BASE,
        "Base IRI of the dataset. IRIs minted under the canonical base are rewritten to it on "
        "load, and it is the base against which relative IRIs in queries are resolved.",
    )
    validate: bool = _setting(
        True,
        "Validate the data against the project's SHACL shapes (`shapes/`) at start; refuse to "
        "serve if it fails. A project without shapes is served unvalidated, and says so.",
    )
    lang: str = _setting(
        "en",
        "Language of validation messages: `en` or `sv` (a result without a message in it "
        "shows the English one).",
    )
    engine: str = _setting(
        "oxigraph", "Query engine: `oxigraph` (embedded pyoxigraph) or `rdflib` (reference)."
    )
    query_timeout: float = _setting(
        10.0, "Seconds a query may run; past it the work is stopped and the client gets 503."
    )
    max_rows: int = _setting(
        10000, "Most result rows (or triples) returned; more are cut and the cut is flagged."
    )
    internal_max_rows: int = _setting(
        100_000,
        "Most rows of the queries aigraph runs for itself (a resource page's surroundings; "
        "in memory, the quads around the resource; the VoID/DCAT/service-description statistics), "
        "whatever `max_rows` says; a bigger answer is an error (503), never a cut page.",
    )
    internal_timeout: float = _setting(
        30.0,
        "Seconds one of aigraph's own queries (see `internal_max_rows`) may run, whatever "
        "`query_timeout` says; past it the page or description answers 503.",
    )
    max_body: int = _setting(
        1_000_000, "Largest request body in bytes; a larger one is refused with 413."
    )
    max_nesting: int = _setting(
        200, "Deepest nesting of `{` and `(` a query may have; deeper queries are refused (400)."
    )
    guard_cache_bytes: int = _setting(
        4_000_000,
        "Most bytes the query guard's verdict cache keeps, in all (least recently used first "
        "out; 0: no cache).",
    )
    guard_cache_max_text: int = _setting(
        65_536,
        "Longest query text, in characters, whose guard verdict is cached (see "
        "`guard_cache_bytes`).",
    )
    executors: int = _setting(
        4, "Query worker processes; a worker whose query times out or crashes is replaced."
    )
    threads: int = _setting(
        16,
        "Request threads of the WSGI server (waitress). Queries hold at most `executors` + "
        "`max_queued_queries` of them, so requests that need no worker always find one.",
    )
    # -- fair scheduling (web/admission.py, engine/isolated.py) --
    max_queued_queries: int = _setting(
        8,
        "Queries that may wait for a busy query worker; more get 503 with `Retry-After`. "
        "At most `threads` - `executors` - 2 wait, whatever this says.",
    )
    max_client_queries: int = _setting(
        2,
        "Queries one client (source address; an IPv6 /64) may have running, waiting or "
        "streaming at once; more get 429 with `Retry-After` (0: no per-client limit).",
    )
    retry_after: int = _setting(
        2, "Seconds a client turned away with 429 or 503 is asked to wait (`Retry-After`)."
    )
    # -- end fair scheduling --
    # -- front door (frontdoor.py) --
    header_timeout: float = _setting(
        10.0,
        "Seconds a client has to send a request's complete headers, counted from the "
        "connection's opening or the end of the previous response (so it also bounds idle "
        "keep-alive connections); past it the connection is closed.",
    )
    body_timeout: float = _setting(
        30.0,
        "Seconds a client has to send a request's complete body once its headers are in; "
        "past it the connection is closed.",
    )
    max_connections: int = _setting(
        10000,
        "Most open client connections; more wait in the listen backlog. `aigraph serve` "
        "raises its open-files limit to the hard limit (at most `max_open_files`) and stays "
        "below it.",
    )
    max_open_files: int = _setting(
        65536,
        "Open-files limit `aigraph serve` raises its own to, within the system's hard limit "
        "(client connections, worker pipes, the store); `max_connections` stays below it.",
    )
    max_client_connections: int = _setting(
        100,
        "Most open connections from one client (an IPv4 address, an IPv6 /64); more are "
        "closed at accept (0: no cap).",
    )
    max_header_bytes: int = _setting(
        32 * 1024,
        "Most bytes of request headers (names and values) a request may send; more get 431.",
    )
    max_request_head: int = _setting(
        1024 * 1024,
        "Most bytes of a request's head (request line with the URL, and headers) the server "
        "reads; past it the request gets 431 before the app sees it.",
    )
    idle_timeout: float = _setting(
        0.0,
        "Seconds a connection may send and read nothing before it is closed (0: "
        "`query_timeout` + 20, at least 30).",
    )
    # -- end front door --
    max_query_memory: int = _setting(
        1024,
        "MB of memory one query may allocate in its worker process; past it the query is "
        "stopped with 503 and the worker replaced (0: unbounded).",
    )
    max_result_bytes: int = _setting(
        50_000_000,
        "Largest result a query may return, in bytes as serialised (in the answer's format); "
        "a bigger one is refused with 503 before any byte is sent (0: unbounded).",
    )
    stream_threshold_bytes: int = _setting(
        1_048_576,
        "Largest answer a query worker hands over in one message (held whole by the server, "
        "briefly); a larger one is streamed to the client in pieces.",
    )
    stream_piece_bytes: int = _setting(
        65_536, "Bytes per piece of a streamed answer (see `stream_threshold_bytes`)."
    )
    cache_entries: int = _setting(
        4096,
        "Most pages, documents and descriptions the web cache keeps (least recently used "
        "first out; emptied when the data is reloaded; 0: no cache).",
    )
    cache_bytes: int = _setting(
        64_000_000, "Most bytes the web cache keeps, in all (see `cache_entries`)."
    )
    shutdown_grace: float = _setting(
        10.0, "Seconds `aigraph serve` waits for in-flight requests after SIGTERM before exiting."
    )
    max_pages: int = _setting(
        2000,
        "Most HTML pages `aigraph publish` renders (resource pages, in each language); the "
        "pages left are reported as not rendered.",
    )
    contact_email: str = _setting(
        "",
        "Contact e-mail of the DCAT-AP catalogue (`vcard:hasEmail` of the contact point); "
        "empty: the one `dataset.ttl` states, if any.",
    )
    issued: str = _setting(
        "",
        "Date (YYYY-MM-DD) the dataset was first published, for `dcterms:issued` in the "
        "catalogue; empty: the date the data states, else `issued` in the `dataset.toml` beside "
        "the data files, else none.",
    )
    modified: str = _setting(
        "",
        "Date (YYYY-MM-DD) of the dataset's last change, for `dcterms:modified` and "
        "`Last-Modified`; empty: the newest date the data states, else `modified` in the "
        "`dataset.toml` beside the data files, else none.",
    )
    # -- persistent store and remote backend (store.py, engine/remote.py) --
    store: str = _setting(
        "",
        "Folder of a store made by `aigraph load --store`, served without re-parsing the data "
        "(empty: parse `data` at start).",
    )
    backend: str = _setting(
        "",
        "SPARQL 1.1 query endpoint URL of an existing store to answer from instead of the "
        "embedded engine (empty: embedded).",
    )
    push_timeout: float = _setting(
        60.0,
        "Seconds `aigraph load --to` waits for the remote store to take each file.",
    )
    push_user: str = _setting(
        "", "User `aigraph load --to` logs in to the Graph Store as (Basic or Digest)."
    )
    push_password: str = field(
        default="",
        repr=False,
        metadata={"help": "Password of `push_user`: set it in the environment, never in argv."},
    )
    backend_default_graph: str = _setting(
        "",
        "Named graph that holds the union of the data graphs, for a backend whose Graph Store "
        "has no default graph (Virtuoso): `load --to` writes the union there and `serve "
        "--backend` reads it as the default graph. Empty: the store's default graph.",
    )
    backend_graphs: str = _setting(
        "",
        "IRI prefixes, separated by spaces, of the backend's named graphs that hold the data; "
        "only they are listed and queried by name (Virtuoso also keeps system graphs). "
        "Empty: every named graph.",
    )
    endpoint_timeout: float = _setting(
        30.0, "Seconds `aigraph query --endpoint` waits for the endpoint's answer."
    )
    # -- end store/backend --
    service_allowlist: tuple[str, ...] = _setting(
        (),
        "Endpoint IRIs a SERVICE clause may call (rdflib engine only). Empty: SERVICE is refused.",
    )
    allow_service: str = _setting(
        "",
        "URL prefixes, separated by spaces, a SERVICE clause may call (`--allow-service`, "
        "repeatable; data in memory). Such a query runs in a sandboxed process of its own whose "
        "connections a broker opens only to an allow-listed host and port. Empty: SERVICE is "
        "refused.",
    )
    service_timeout: float = _setting(
        10.0, "Seconds a SERVICE call may take to connect, and to send each part of its answer."
    )
    service_max_bytes: int = _setting(
        10_000_000, "Most bytes of one SERVICE answer; a larger one fails the query."
    )
    service_max_calls: int = _setting(
        30,
        "Most SERVICE calls (outbound connections) one query may make; the next call fails the "
        "query with 400 `query-refused`.",
    )
    # -- host names and proxies (web/urls.py, web/server.py) --
    public_url: str = _setting(
        "",
        "Origin of the site as the public sees it (e.g. `https://data.example.org`); absolute "
        "URLs in answers are built from it whatever the request's `Host`, and its host name is "
        "allowed. Empty: URLs are built from the `Host` header of an allowed host.",
    )
    allowed_hosts: str = _setting(
        "",
        "Host names (any port) a request's `Host` may name, separated by commas or spaces; "
        "others get 400. `*` allows any. Empty: the listen address, `localhost`, `127.0.0.1` "
        "and `::1`. The host of `public_url` is always allowed.",
    )
    trusted_proxy: str = _setting(
        "",
        "Address of the one reverse proxy whose `X-Forwarded-*` headers are honoured (client "
        "address, host, scheme, port); `*` trusts any peer. Empty: those headers are dropped.",
    )
    trusted_proxy_headers: str = _setting(
        "x-forwarded-for x-forwarded-host x-forwarded-proto x-forwarded-port",
        "Which forwarded headers the trusted proxy may set, separated by spaces "
        "(`forwarded` alone, or any of the `x-forwarded-*`).",
    )
    # -- end host names and proxies --

    def with_values(self, **values: Any) -> Settings:
        """Return a copy with the given non-None values set, coerced to their field types."""
        known = {f.name for f in fields(self)}
        unknown = set(values) - known
        if unknown:
            raise UsageError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        clean = {k: _coerce(k, v) for k, v in values.items() if v is not None}
        return replace(self, **clean)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **explicit: Any) -> Settings:
        """Build settings from defaults, then ``AIGRAPH_*`` variables, then ``explicit``."""
        environ = os.environ if environ is None else environ
        from_env = {
            f.name: environ[f"AIGRAPH_{f.name.upper()}"]
            for f in fields(cls)
            if f"AIGRAPH_{f.name.upper()}" in environ
        }
        project = explicit.get("project") or from_env.get("project") or ""
        from_file = project_settings(str(project))
        return cls().with_values(**from_file).with_values(**from_env).with_values(**explicit)

    @classmethod
    def help(cls) -> dict[str, tuple[Any, str]]:
        """Return ``{name: (default, help)}`` for documentation."""
        return {f.name: (f.default, f.metadata["help"]) for f in fields(cls)}


_TYPES = {f.name: f.type for f in fields(Settings)}

#: Settings a project's ``aigraph.toml`` may not state: where the project is, and where it runs.
_NOT_IN_PROJECT = frozenset({"project", "host", "port"})


def project_settings(project: str) -> dict[str, Any]:
    """Return the settings the ``aigraph.toml`` of ``project`` states (empty: the bundled one).

    Its top-level keys are settings; they sit between the defaults and the environment. An
    unknown name is an error that names the file, and so is a setting that belongs to the
    machine rather than the project. Its tables (``[validation]``) describe the project itself
    and are read by ``aigraph.project``.
    """
    root = content.project_root(project)
    values = {k: v for k, v in content.read_settings_file(root).items() if not isinstance(v, dict)}
    where = root / content.SETTINGS_FILE
    unknown = sorted(set(values) - set(_TYPES))
    if unknown:
        raise UsageError(f"{where}: unknown setting(s) {', '.join(unknown)}; see the README")
    refused = sorted(set(values) & _NOT_IN_PROJECT)
    if refused:
        raise UsageError(f"{where}: {', '.join(refused)} cannot be set by a project")
    return values


def _coerce(name: str, value: Any) -> Any:
    kind = _TYPES[name]
    try:
        if kind == "bool":
            if isinstance(value, str):
                lowered = value.strip().lower()
                if lowered not in {"1", "0", "true", "false", "yes", "no", "on", "off"}:
                    raise ValueError(value)
                return lowered in {"1", "true", "yes", "on"}
            return bool(value)
        if kind == "int":
            return int(value)
        if kind == "float":
            return float(value)
        if kind.startswith("tuple"):
            if isinstance(value, str):
                return tuple(p for p in value.split(os.pathsep) if p)
            return tuple(str(v) for v in value)
        return str(value)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"setting {name}: cannot read {value!r} as {kind}") from exc
