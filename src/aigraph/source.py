"""Where the data lives: in memory, in an on-disk store or behind a remote SPARQL endpoint.

Each mode is a ``Source``: it builds the engine that answers queries over the data and says
what only it knows (the version fingerprint, the files, the prefixes, the data to dump, if any).
What is asked of the data itself has one implementation for every mode, SPARQL through the
engine as trusted queries (``Run``, ``core.Aigraph.internal_query``): the statistics
(``facts``), whether an IRI occurs (``exists``), the neighbourhood of an IRI (``around``) and
the ontology graph (``ontology``).

One fast path is kept, behind ``InMemorySource``: data held in memory hands its pages the
dataset itself instead of fetching the neighbourhood. Measured on the bundled data
(``benchmarks/page_source_bench.py``, uncached resource pages): about 3 ms a page against 19 ms
through the workers with the oxigraph engine, 181 ms with rdflib; and page views in memory never
wait for, or are shed by, the query workers the users' queries hold. The fast path refuses a
resource with more quads around it than ``internal_max_rows``, as the store path refuses its
surroundings (``neighbourhood.bounded``). ``core.Aigraph.open`` picks the mode once.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from rdflib import Dataset, URIRef
from rdflib.term import Identifier

from aigraph import graph, neighbourhood, statistics
from aigraph.engine import Bounds, IsolatedEngine, bounds, check, create_engine, max_waiting
from aigraph.engine.base import Engine
from aigraph.engine.remote import RemoteEngine
from aigraph.engine.store_engine import StoreEngine, StoreInfo, check_store
from aigraph.errors import AigraphError, UsageError
from aigraph.model import QueryResult
from aigraph.settings import Settings
from aigraph.store import base_warning, declared_prefixes

#: Runs a trusted query with its variables bound (never pasted into the text).
Run = Callable[[str, Mapping[str, Identifier]], QueryResult]


class Source(Protocol):
    """The data of a server, wherever it lives."""

    @property
    def settings(self) -> Settings:
        """Return the settings the source was opened with."""
        ...

    def engine(self) -> Engine:
        """Build the engine that answers queries over the data (its workers included)."""
        ...

    def bounds(self) -> Bounds:
        """Return the bounds of a query worker over this source (what its sandbox allows)."""
        ...

    @property
    def fingerprint(self) -> str:
        """Return what identifies this state of the data (with the files, the ``version``)."""
        ...

    @property
    def files(self) -> tuple[Path, ...]:
        """Return the data files read at start-up (none when the data is in a store)."""
        ...

    @property
    def prefixes(self) -> dict[str, str]:
        """Return the prefixes the data files declare."""
        ...

    def dumps(self) -> Dataset | None:
        """Return the whole data to write as dumps, or None where the mode offers none."""
        ...

    def around(self, run: Run, iri: URIRef) -> Dataset:
        """Return a dataset with everything that describes ``iri`` (for its page)."""
        ...

    def ontology(self, run: Run) -> Dataset:
        """Return a dataset holding at least the ontology graph (for the documentation pages)."""
        ...

    @property
    def warnings(self) -> tuple[str, ...]:
        """Return what whoever starts a server over this source should be told."""
        ...


def version(source: Source) -> str:
    """Return a short fingerprint of the data of ``source``, used for ETags."""
    digest = hashlib.sha256(source.fingerprint.encode())
    for path in source.files:
        digest.update(str(path).encode())
        digest.update(path.read_bytes())
    digest.update(source.settings.base.encode())
    return digest.hexdigest()[:20]


def facts(run: Run, base: str) -> statistics.DatasetFacts:
    """Return the statistics of the data (VoID, DCAT, the service description), in every mode."""
    return statistics.facts(lambda text: run(text, {}), base)


def around(run: Run, iri: URIRef, base: str) -> Dataset:
    """Return a dataset with everything that describes ``iri``, fetched by SPARQL."""
    return neighbourhood.around(run, iri, ontology_iri(base))


def ontology(run: Run, base: str) -> Dataset:
    """Return a dataset holding the ontology graph, fetched by SPARQL."""
    return neighbourhood.graph(run, ontology_iri(base))


#: Whether an IRI occurs in the data, as subject, predicate, object or graph name.
_EXISTS = """ASK {
  { ?iri ?p ?o } UNION { ?s ?p ?iri } UNION { ?s ?iri ?o }
  UNION { GRAPH ?g { ?iri ?p ?o } } UNION { GRAPH ?g { ?s ?p ?iri } }
  UNION { GRAPH ?g { ?s ?iri ?o } } UNION { GRAPH ?iri { ?s ?p ?o } }
}"""


def exists(run: Run, iri: URIRef) -> bool:
    """Tell whether ``iri`` occurs in the data, in every mode (the IRI is bound, not pasted)."""
    if not neighbourhood.ABSOLUTE_IRI.match(str(iri)):
        return False
    return run(_EXISTS, {"iri": URIRef(iri)}).boolean is True


def ontology_iri(base: str) -> URIRef:
    return URIRef(f"{base.rstrip('/')}/graph/ontology")


@dataclass(frozen=True)
class InMemorySource:
    """Data files parsed into an rdflib dataset held by the server (and its forked workers)."""

    settings: Settings
    loaded: graph.LoadedData

    def engine(self) -> Engine:
        return create_engine(self.settings, self.loaded.dataset)

    def bounds(self) -> Bounds:
        return bounds(self.settings)

    @property
    def fingerprint(self) -> str:
        return ""

    @property
    def files(self) -> tuple[Path, ...]:
        return self.loaded.files

    @functools.cached_property
    def prefixes(self) -> dict[str, str]:
        return {
            prefix: str(namespace)
            for prefix, namespace in self.loaded.dataset.namespaces()
            if _declared(prefix)
        }

    def dumps(self) -> Dataset | None:
        return self.loaded.dataset

    def around(self, run: Run, iri: URIRef) -> Dataset:
        # the fast path (see the module's notes), under the store path's row limit
        return neighbourhood.bounded(self.loaded.dataset, iri, self.settings.internal_max_rows)

    @property
    def warnings(self) -> tuple[str, ...]:
        return ()

    def ontology(self, run: Run) -> Dataset:
        return self.loaded.dataset


class _Queried:
    """What a source that holds no data in memory asks its engine: ``around`` and ``ontology``."""

    settings: Settings

    def around(self, run: Run, iri: URIRef) -> Dataset:
        return around(run, iri, self.settings.base)

    def ontology(self, run: Run) -> Dataset:
        return ontology(run, self.settings.base)


@dataclass(frozen=True)
class StoreSource(_Queried):
    """An on-disk store written by ``aigraph load --store``; each worker opens it read-only.

    RocksDB handles must not be shared across fork, so the worker, not the server, opens it.
    The data was parsed (and should be validated) when it was loaded. No dumps: the store is
    not read whole into memory.
    """

    settings: Settings

    @functools.cached_property
    def info(self) -> StoreInfo:
        return check_store(self.settings.store)

    def engine(self) -> Engine:
        if self.settings.allow_service:
            raise UsageError(
                "--allow-service needs the data in memory: SERVICE runs on rdflib over data in "
                "memory, and a store is queried in each worker (drop --store and serve the files, "
                "or drop --allow-service)"
            )
        nesting = self.settings.max_nesting
        return _isolated(
            self.settings,
            functools.partial(StoreEngine, self.info, max_nesting=nesting),
            lambda text: check(text, max_nesting=nesting),
            self.bounds(),
            # One worker at start answers the first query soonest; each worker opens the store
            # (memory of its own), so the others start when queries find every worker busy.
            started=1,
        )

    def bounds(self) -> Bounds:
        return bounds(self.settings, readable=(str(self.settings.store),))

    @property
    def fingerprint(self) -> str:
        return self.info.fingerprint

    @property
    def files(self) -> tuple[Path, ...]:
        return ()

    @property
    def prefixes(self) -> dict[str, str]:
        return {p: ns for p, ns in self.info.prefixes.items() if _declared(p)}

    @property
    def warnings(self) -> tuple[str, ...]:
        warning = base_warning(self.settings.base)
        return (warning,) if warning else ()

    def dumps(self) -> Dataset | None:
        return None


@dataclass(frozen=True)
class RemoteSource(_Queried):
    """A SPARQL endpoint (``backend``) holding the data; workers keep the network to reach it.

    Nothing is known of the data but what it answers (no dumps), and the prefixes its files
    declare when they are here too (the bundled project; ``load --to`` then ``serve --backend``).
    """

    settings: Settings

    def engine(self) -> Engine:
        settings = self.settings
        if settings.allow_service:
            raise UsageError(
                "--allow-service needs the data in memory: a backend never runs SERVICE for "
                "aigraph (drop --backend, or drop --allow-service)"
            )
        remote = RemoteEngine(
            settings.backend,
            timeout=settings.query_timeout,
            max_nesting=settings.max_nesting,
            default_graph=settings.backend_default_graph,
            graphs=tuple(settings.backend_graphs.split()),
        )
        return _isolated(settings, functools.partial(_same, remote), remote.check, self.bounds())

    def bounds(self) -> Bounds:
        return bounds(self.settings, endpoints=(self.settings.backend,))

    @property
    def fingerprint(self) -> str:
        return self.settings.backend

    @property
    def files(self) -> tuple[Path, ...]:
        return ()

    @functools.cached_property
    def prefixes(self) -> dict[str, str]:
        """The prefixes declared at the top of the data files, if here (none if not)."""
        settings = self.settings
        found: dict[str, str] = {}
        try:
            files = tuple(graph.expand(settings.data)) or graph.default_paths(settings)
            for path in files:
                found.update(declared_prefixes(path))
        except (AigraphError, OSError, SyntaxError):
            return {}  # no files here, or not the data: nothing is claimed
        return {p: ns for p, ns in found.items() if _declared(p)}

    @property
    def warnings(self) -> tuple[str, ...]:
        return ()

    def dumps(self) -> Dataset | None:
        return None


def _declared(prefix: str) -> bool:
    """Tell a prefix the data declares from rdflib's generated ``ns1`` and ``_`` ones."""
    return bool(prefix) and not prefix.startswith(("ns", "_"))


def _isolated(
    settings: Settings,
    factory: Callable[[], Engine],
    check_query: Callable[[str], object],
    limits: Bounds,
    started: int | None = None,
) -> IsolatedEngine:
    """Run ``factory``'s engine in workers (``started`` of them at once, default all);
    ``check_query`` runs in the server first."""
    return IsolatedEngine(
        factory,
        workers=settings.executors,
        timeout=settings.query_timeout,
        check=check_query,
        bounds=limits,
        max_waiting=max_waiting(settings),
        retry_after=settings.retry_after,
        started=started,
    )


def _same(engine: Engine) -> Engine:
    return engine


__all__ = [
    "InMemorySource",
    "RemoteSource",
    "Run",
    "Source",
    "StoreSource",
    "around",
    "exists",
    "facts",
    "ontology",
    "version",
]
