"""The aigraph core: the loaded graph, its engine and named queries, behind one object.

The web app and the CLI are adapters over this; neither knows which engine answers.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

from rdflib import Dataset, URIRef
from rdflib.term import Identifier

from aigraph import content, graph, neighbourhood, queries, store
from aigraph.describe import dataset as describe
from aigraph.describe.dates import DatasetDates, dataset_dates
from aigraph.describe.query_facts import facts_by_query
from aigraph.engine import create_engine, sandbox
from aigraph.engine.base import Engine
from aigraph.errors import NotConforming
from aigraph.model import DatasetSpec, QueryRequest, QueryResult
from aigraph.settings import CANONICAL_BASE, Settings


@dataclass
class Aigraph:
    """A loaded, validated dataset ready to answer queries."""

    settings: Settings
    loaded: graph.LoadedData
    engine: Engine
    named: dict[str, queries.NamedQuery]
    loaded_at: float = field(default_factory=time.time)

    @classmethod
    def open(cls, settings: Settings | None = None) -> Aigraph:
        """Load the data of ``settings``, validate it unless disabled, and start the engine."""
        settings = settings or Settings()
        if settings.store or settings.backend:
            return cls._open_stored(settings)
        # The shapes and the named queries are written against the canonical IRIs of the
        # files: validate before the data moves under another base, and move the queries too.
        loaded = graph.load(settings, rebased=False)
        if settings.validate:
            check(loaded, CANONICAL_BASE, settings.lang)
        loaded = graph.rebase_loaded(loaded, settings.base)
        engine = create_engine(settings, loaded.dataset)
        named = queries.load_all(content.queries_dir())
        return cls(settings, loaded, engine, queries.rebase_all(named, settings.base))

    # -- store/backend (store.py) --
    @classmethod
    def _open_stored(cls, settings: Settings) -> Aigraph:
        """Serve an on-disk store or a remote store: nothing is parsed or validated here.

        The data was parsed when it was loaded (validate files with ``aigraph validate`` before
        loading them). ``loaded`` is a stand-in with an empty dataset that only carries the
        prefixes and the triple count, so ``facts`` (VoID/DCAT/service-description statistics)
        and dumps built from ``loaded.dataset`` are empty in these modes.
        """
        engine = create_engine(settings, None)  # type: ignore[arg-type]
        if settings.store:
            info = store.read_info(settings.store)
            prefixes, fingerprint = info.prefixes, info.fingerprint
        else:
            prefixes, fingerprint = {}, settings.backend
        loaded = store.stand_in(engine.triple_count(), prefixes, fingerprint)
        return cls(settings, loaded, engine, queries.load_all(content.queries_dir()))
    # -- end store/backend --

    def query(
        self,
        text: str,
        *,
        dataset: DatasetSpec | None = None,
        bindings: Mapping[str, Identifier] | None = None,
        max_rows: int | None = None,
        format: str | None = None,
    ) -> QueryResult:
        """Run a query with the configured limits, base IRI and dataset.

        With ``format`` (a ``formats`` offer name) the result comes back already serialised in
        ``QueryResult.payload``, or, when it is large, in ``QueryResult.stream`` (iterate it,
        then close it: its query worker is held until then).
        """
        limit = self.settings.max_rows if max_rows is None else min(max_rows, self.settings.max_rows)
        request = QueryRequest(
            text=text,
            dataset=dataset or DatasetSpec(),
            bindings=dict(bindings or {}),
            base=self.settings.base.rstrip("/") + "/",
            max_rows=limit,
            timeout=self.settings.query_timeout,
            format=format,
        )
        return self.engine.query(request)

    def internal_query(
        self, text: str, bindings: Mapping[str, Identifier] | None = None
    ) -> QueryResult:
        """Run one of aigraph's own (trusted) queries under ``internal_max_rows``/``_timeout``.

        The user's ``max_rows`` and ``query_timeout`` do not apply: a page or a statistic built
        from the answer must be whole. Callers check ``truncated`` (see ``neighbourhood``).
        """
        request = QueryRequest(
            text=text,
            bindings=dict(bindings or {}),
            base=self.settings.base.rstrip("/") + "/",
            max_rows=self.settings.internal_max_rows,
            timeout=self.settings.internal_timeout,
            trusted=True,
        )
        return self.engine.query(request)

    def run_named(
        self, name: str, params: Mapping[str, str] | None = None, format: str | None = None
    ) -> QueryResult:
        """Run a named query with its parameters bound from ``params``."""
        named = queries.lookup(self.named, name)
        return self.query(named.text, bindings=named.bind(params or {}), format=format)

    @cached_property
    def version(self) -> str:
        """Return a short fingerprint of the loaded data, used for ETags."""
        digest = hashlib.sha256(getattr(self.loaded, "fingerprint", "").encode())  # store/backend
        for path in self.loaded.files:
            digest.update(str(path).encode())
            digest.update(path.read_bytes())
        digest.update(self.settings.base.encode())
        return digest.hexdigest()[:20]

    @cached_property
    def dates(self) -> DatasetDates:
        """Return when the dataset was issued and modified, as the data or its metadata say."""
        return dataset_dates(
            self.loaded.dataset, self.loaded.files, self.settings.base,
            issued=self.settings.issued, modified=self.settings.modified,
        )

    @cached_property
    def last_modified(self) -> str | None:
        """Return the HTTP date of the data's last change (``dates.modified``), if stated."""
        return self.dates.http_last_modified()

    @cached_property
    def facts(self) -> describe.DatasetFacts:
        """Return the statistics of the data (for VoID, DCAT and the service description)."""
        if self.settings.store or self.settings.backend:
            # The data is in a store, not in memory: ask the engine.
            return facts_by_query(self.internal_query, self.settings.base)
        return describe.facts(self.loaded.dataset, self.settings.base)

    @cached_property
    def prefixes(self) -> dict[str, str]:
        """Return the prefixes the data files declare (not rdflib's generated ``ns1``)."""
        return {
            prefix: str(namespace)
            for prefix, namespace in self.loaded.dataset.namespaces()
            if prefix and not prefix.startswith(("ns", "_"))
        }

    @property
    def in_memory(self) -> bool:
        """Return whether the whole graph is held in memory (not in a store or a backend)."""
        return not (self.settings.store or self.settings.backend)

    def dataset_around(self, iri: URIRef) -> Dataset:
        """Return a dataset with everything that describes ``iri`` (for its page)."""
        if self.in_memory:
            return self.loaded.dataset
        ontology = URIRef(f"{self.settings.base.rstrip('/')}/graph/ontology")
        return neighbourhood.around(self.internal_query, iri, ontology)

    @cached_property
    def ontology_dataset(self) -> Dataset:
        """Return a dataset holding at least the ontology graph (for the documentation pages)."""
        if self.in_memory:
            return self.loaded.dataset
        return neighbourhood.graph(
            self.internal_query, URIRef(f"{self.settings.base.rstrip('/')}/graph/ontology")
        )

    def confinement(self) -> sandbox.SandboxStatus:
        """Return how the kernel confines this server's query workers."""
        allowlisted = self.settings.engine == "rdflib" and bool(self.settings.service_allowlist)
        network = bool(self.settings.backend) or allowlisted
        return dataclasses.replace(sandbox.status(), network=network)

    def close(self) -> None:
        self.engine.close()


def check(loaded: graph.LoadedData, base: str, lang: str = "en") -> None:
    """Validate ``loaded`` and raise NotConforming with the summary if it fails."""
    from aigraph.validation.report import render
    from aigraph.validation.validate import validate

    report = validate(loaded, base=base, lang=lang)
    if not report.conforms:
        raise NotConforming(
            "the data does not conform to the shapes (use --no-validate for data without "
            "aigraph's shapes):\n" + render(report, "text")
        )
