"""Query engines: the contract, the lexical guard, rdflib and oxigraph, and worker isolation.

``create_engine`` is the one way the app builds its engine: the chosen engine is built once in
the server process, then each worker process inherits it (fork) and runs queries in isolation.
"""

from __future__ import annotations

from rdflib import Dataset

from ..errors import UsageError
from ..settings import Settings
from .base import DatasetSpec, Engine, QueryForm, QueryRequest, QueryResult, effective_limit
from .guard import CheckedQuery, check, query_form
from .isolated import IsolatedEngine
from .oxigraph_engine import OxigraphEngine
from .rdflib_engine import RdflibEngine

ENGINES = ("oxigraph", "rdflib")


def create_engine(settings: Settings, dataset: Dataset) -> IsolatedEngine:
    """Build the engine named by ``settings.engine`` over ``dataset``, in worker processes."""
    engine: OxigraphEngine | RdflibEngine
    if settings.engine == "oxigraph":
        engine = OxigraphEngine(
            dataset, max_rows=settings.max_rows, max_nesting=settings.max_nesting
        )
    elif settings.engine == "rdflib":
        engine = RdflibEngine(
            dataset,
            max_rows=settings.max_rows,
            max_nesting=settings.max_nesting,
            service_allowlist=settings.service_allowlist,
        )
    else:
        raise UsageError(f"unknown engine {settings.engine!r}; use one of {', '.join(ENGINES)}")
    # The engine's own check runs in the server too, so refused queries never reach a worker.
    return IsolatedEngine(
        lambda: engine,
        workers=settings.executors,
        timeout=settings.query_timeout,
        check=engine.check,
    )


__all__ = [
    "ENGINES",
    "CheckedQuery",
    "DatasetSpec",
    "Engine",
    "IsolatedEngine",
    "OxigraphEngine",
    "QueryForm",
    "QueryRequest",
    "QueryResult",
    "RdflibEngine",
    "check",
    "create_engine",
    "effective_limit",
    "query_form",
]
