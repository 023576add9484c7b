"""Query engines: the contract, the lexical guard, rdflib and oxigraph, and worker isolation.

``create_engine`` is the one way the app builds its engine: the chosen engine is built once in
the server process, then each worker process inherits it (fork) and runs queries in isolation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from rdflib import Dataset

from aigraph.engine import sandbox
from aigraph.engine.base import (
    DatasetSpec,
    Engine,
    QueryForm,
    QueryRequest,
    QueryResult,
)
from aigraph.engine.guard import CheckedQuery, check, query_form
from aigraph.engine.isolated import IsolatedEngine
from aigraph.engine.oxigraph_engine import OxigraphEngine
from aigraph.engine.worker import Bounds
from aigraph.errors import UsageError
from aigraph.settings import ENGINES, Settings

if TYPE_CHECKING:
    from aigraph.engine.rdflib_engine import RdflibEngine


def __getattr__(name: str) -> Any:
    """``RdflibEngine``, imported on first use: rdflib's SPARQL engine takes 0.2-0.5 s to
    import, and a server over a store or a backend never needs it."""
    if name == "RdflibEngine":
        from aigraph.engine.rdflib_engine import RdflibEngine

        return RdflibEngine
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def create_engine(settings: Settings, dataset: Dataset) -> IsolatedEngine:
    """Build the engine named by ``settings.engine`` over ``dataset``, in worker processes.

    The engines over an on-disk store or a remote backend are built by their ``source``.
    """
    from aigraph.engine import federation
    from aigraph.engine.rdflib_engine import RdflibEngine

    engine: OxigraphEngine | RdflibEngine
    if settings.engine == "oxigraph":
        engine = OxigraphEngine(dataset, max_nesting=settings.max_nesting)
    elif settings.engine == "rdflib":
        engine = RdflibEngine(
            dataset,
            max_nesting=settings.max_nesting,
            service_allowlist=settings.service_allowlist,
        )
    else:
        raise UsageError(f"unknown engine {settings.engine!r}; use one of {', '.join(ENGINES)}")
    # The engine's own check runs in the server too, so refused queries never reach a worker.
    pool = IsolatedEngine(
        lambda: engine,
        workers=settings.executors,
        timeout=settings.query_timeout,
        check=engine.check,
        bounds=bounds(settings),
        max_waiting=max_waiting(settings),
        retry_after=settings.retry_after,
    )
    if not settings.allow_service:
        return pool
    # SERVICE to allow-listed endpoints: a pool of its own, connected through a broker.
    return federation.federating(
        pool,
        dataset,
        prefixes=settings.allow_service.split(),
        bounds=bounds(settings, readable=sandbox.certificate_paths()),
        query_timeout=settings.query_timeout,
        service_timeout=settings.service_timeout,
        service_max_bytes=settings.service_max_bytes,
        service_max_calls=settings.service_max_calls,
        max_nesting=settings.max_nesting,
    )


def bounds(
    settings: Settings, *, endpoints: Sequence[str] = (), readable: Sequence[str] = ()
) -> Bounds:
    """Return the per-query bounds of ``settings`` and what its workers' sandbox allows.

    Only workers that must call out keep the network: those given ``endpoints`` (a remote
    backend's engine talks to it) and the rdflib engine's when SERVICE endpoints are
    allow-listed. ``readable`` are the extra directories a worker may read (an on-disk store).
    """
    calls_services = settings.engine == "rdflib" and bool(settings.service_allowlist)
    reached = [*endpoints, *(settings.service_allowlist if calls_services else ())]
    return Bounds(
        memory_mb=settings.max_query_memory,
        result_bytes=settings.max_result_bytes,
        network=bool(reached),
        readable=tuple(readable),
        ports=tuple(sorted({_port(url) for url in reached})),
    )


def _port(url: str) -> int:
    """Return the TCP port an endpoint URL connects to."""
    parts = urlsplit(url)
    return parts.port or (443 if parts.scheme == "https" else 80)


#: Request threads never held by queries waiting for a worker (for /healthz, pages, ...).
SPARE_THREADS = 2


def max_waiting(settings: Settings) -> int:
    """Return how many queries may wait for a worker before the next is turned away (503).

    Each waiting query holds a request thread, and so does each running one: at most
    ``threads - executors - SPARE_THREADS`` may wait, so some threads always stay free.
    """
    room = max(0, settings.threads - settings.executors - SPARE_THREADS)
    return min(settings.max_queued_queries, room)


__all__ = [
    "ENGINES",
    "Bounds",
    "CheckedQuery",
    "DatasetSpec",
    "Engine",
    "IsolatedEngine",
    "OxigraphEngine",
    "QueryForm",
    "QueryRequest",
    "QueryResult",
    "RdflibEngine",
    "bounds",
    "check",
    "create_engine",
    "max_waiting",
    "query_form",
]
