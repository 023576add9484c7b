"""The aigraph core: the data source, its engine and named queries, behind one object.

The web app and the CLI are adapters over this; neither knows which engine answers, nor where
the data lives (``source``).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

from rdflib import Dataset, URIRef
from rdflib.term import Identifier

from aigraph import graph, queries, source
from aigraph.describe.common import Metadata, read_metadata
from aigraph.describe.dates import DatasetDates, dataset_dates
from aigraph.describe.required import Gap, gaps
from aigraph.engine import guard, sandbox, stream
from aigraph.engine.base import CheckedQuery, Engine
from aigraph.engine.isolated import IsolatedEngine
from aigraph.errors import NotConforming
from aigraph.formats import Offer
from aigraph.model import Answer, DatasetSpec, QueryRequest, QueryResult
from aigraph.project import Project
from aigraph.settings import CANONICAL_BASE, Settings
from aigraph.source import InMemorySource, RemoteSource, Source, StoreSource
from aigraph.statistics import DatasetFacts


@dataclass
class Aigraph:
    """A dataset ready to answer queries, wherever it lives (``source``)."""

    settings: Settings
    source: Source
    engine: Engine
    named: dict[str, queries.NamedQuery]
    loaded_at: float = field(default_factory=time.time)

    @classmethod
    def open(cls, settings: Settings | None = None) -> Aigraph:
        """Open the data ``settings`` name, validate files unless disabled, start the engine.

        A remote backend, else an on-disk store, else the data files parsed into memory. A
        store or a backend is served as it is: its data was parsed when it was loaded
        (validate files with ``aigraph validate`` before loading them).
        """
        settings = settings or Settings()
        project = Project.of(settings)
        named = queries.load_all(project.queries_dir)
        data: Source
        if settings.backend:
            data = RemoteSource(settings)
        elif settings.store:
            data = StoreSource(settings)
        else:
            # The shapes and the named queries are written against the canonical IRIs of the
            # files: validate before the data moves under another base, and move the queries.
            loaded = graph.load(settings, rebased=False)
            if settings.validate:
                check(loaded, CANONICAL_BASE, settings.lang, project)
            data = InMemorySource(settings, graph.rebase_loaded(loaded, settings.base))
            named = queries.rebase_all(named, settings.base)
        guard.configure(settings.guard_cache_bytes, settings.guard_cache_max_text)
        stream.configure(settings.stream_piece_bytes, settings.stream_threshold_bytes)
        return cls(settings, data, data.engine(), named)

    def check(self, text: str) -> CheckedQuery:
        """Run the engine's guard on ``text`` once; pass the answer to ``query``."""
        return self.engine.check(text)

    def query(
        self,
        text: str | CheckedQuery,
        *,
        dataset: DatasetSpec | None = None,
        bindings: Mapping[str, Identifier] | None = None,
        max_rows: int | None = None,
    ) -> QueryResult:
        """Run a query with the configured limits, base IRI and dataset.

        Given a ``CheckedQuery`` (from ``check``), the query is not checked again in the server.
        """
        return self.engine.query(self._request(text, dataset, bindings, max_rows))

    def answer(
        self,
        text: str | CheckedQuery,
        offer: Offer,
        *,
        dataset: DatasetSpec | None = None,
        bindings: Mapping[str, Identifier] | None = None,
    ) -> Answer:
        """Run a query as ``query`` does and return its answer written in ``offer``.

        In worker processes the worker writes it; a large answer comes as ``Answer.stream``
        (iterate it, then close it: its query worker is held until then).
        """
        request = self._request(text, dataset, bindings, None)
        if isinstance(self.engine, IsolatedEngine):
            return self.engine.answer(request, offer)
        result = self.engine.query(request)
        return stream.written(result, offer, self.settings.max_result_bytes)

    def _request(
        self,
        text: str | CheckedQuery,
        dataset: DatasetSpec | None,
        bindings: Mapping[str, Identifier] | None,
        max_rows: int | None,
    ) -> QueryRequest:
        checked = text if isinstance(text, CheckedQuery) else None
        limit = (
            self.settings.max_rows if max_rows is None else min(max_rows, self.settings.max_rows)
        )
        return QueryRequest(
            text=checked.source if checked else str(text),
            checked=checked,
            dataset=dataset or DatasetSpec(),
            bindings=dict(bindings or {}),
            base=self.settings.base.rstrip("/") + "/",
            max_rows=limit,
            timeout=self.settings.query_timeout,
        )

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
        )
        return self.engine.query(request)

    def run_named(
        self,
        name: str,
        params: Mapping[str, str] | None = None,
    ) -> QueryResult:
        """Run a named query with its parameters bound from ``params``."""
        named = queries.lookup(self.named, name)
        return self.query(named.text, bindings=named.bind(params or {}))

    @cached_property
    def project(self) -> Project:
        """Return the project served: its shapes, queries and dataset description."""
        return Project.of(self.settings)

    @cached_property
    def metadata(self) -> Metadata:
        """Return the project's editorial description (``dataset.ttl``), read once."""
        return read_metadata(self.project.dataset_file)

    @cached_property
    def metadata_gaps(self) -> list[Gap]:
        """Return what the description lacks that DCAT-AP requires or recommends."""
        # The file's name only: the list is shown on the public landing page.
        where = self.project.dataset_file.name
        return gaps(self.metadata, where, email=self.settings.contact_email)

    @cached_property
    def validated(self) -> bool:
        """Tell whether the data was checked against shapes (the project has some, and the
        data was parsed here with validation on; a store or a backend was checked at load)."""
        parsed = not (self.settings.backend or self.settings.store)
        return bool(self.project.validation_shapes()) and self.settings.validate and parsed

    @cached_property
    def version(self) -> str:
        """Return a short fingerprint of the data, used for ETags."""
        return source.version(self.source)

    @cached_property
    def triple_count(self) -> int:
        """Return the number of distinct quads of the data."""
        return self.engine.triple_count()

    @cached_property
    def dates(self) -> DatasetDates:
        """Return when the dataset was issued and modified, as the data or its metadata say."""
        return dataset_dates(
            self.source.dumps() or graph.new_dataset(),
            self.source.files,
            self.settings.base,
            issued=self.settings.issued,
            modified=self.settings.modified,
            described_issued=self.metadata.issued,
        )

    @cached_property
    def last_modified(self) -> str | None:
        """Return the HTTP date of the data's last change (``dates.modified``), if stated."""
        return self.dates.http_last_modified()

    @cached_property
    def facts(self) -> DatasetFacts:
        """Return the statistics of the data (for VoID, DCAT and the service description)."""
        return source.facts(self.internal_query, self.settings.base)

    @property
    def prefixes(self) -> dict[str, str]:
        """Return the prefixes the data files declare (not rdflib's generated ``ns1``)."""
        return self.source.prefixes

    def dataset_around(self, iri: URIRef) -> Dataset:
        """Return a dataset with everything that describes ``iri`` (for its page)."""
        return self.source.around(self.internal_query, iri)

    @cached_property
    def ontology_dataset(self) -> Dataset:
        """Return a dataset holding at least the ontology graph (for the documentation pages)."""
        return self.source.ontology(self.internal_query)

    def exists(self, iri: URIRef) -> bool:
        """Tell whether ``iri`` occurs in the data (as subject, predicate, object or graph)."""
        return source.exists(self.internal_query, iri)

    def dumps(self) -> Dataset | None:
        """Return the whole data to write as dumps, or None where the source offers none."""
        return self.source.dumps()

    def confinement(self) -> sandbox.SandboxStatus:
        """Return how the kernel confines this server's query workers."""
        network = self.source.bounds().network
        return dataclasses.replace(sandbox.status(), network=network)

    def close(self) -> None:
        self.engine.close()


def check(
    loaded: graph.LoadedData, base: str, lang: str = "en", project: Project | None = None
) -> None:
    """Validate ``loaded`` against the shapes of ``project`` (default: the bundled one).

    Raise NotConforming with the summary if it fails; a project without shapes is not validated.
    """
    from aigraph.validation.report import render
    from aigraph.validation.validate import validate

    project = project or Project.bundled()
    shapes = project.validation_shapes()
    if not shapes:
        return
    report = validate(loaded, shapes=shapes, ontology=project.declarations(), base=base, lang=lang)
    if not report.conforms:
        raise NotConforming(
            "the data does not conform to the shapes (use --no-validate for data without "
            "aigraph's shapes):\n" + render(report, "text")
        )
