"""SERVICE through an allow-list (``serve --allow-service URL_PREFIX``), in a process of its own.

A query with SERVICE goes to a second pool of query workers (the *federation* pool, one
worker by default); every other query goes to the usual pool, whose sandbox is unchanged. The
federation worker is confined exactly as a query worker (seccomp: no network socket; Landlock:
read-only files, no TCP connect): it evaluates the query with rdflib, and each SERVICE call
asks the connection broker (``broker.py``, a thread of the server) for a connected socket,
received over an inherited Unix socket (SCM_RIGHTS). The broker alone decides which host and
port may be reached; this process cannot open a connection of its own, whatever the query says.

The HTTP exchange on the brokered socket follows no redirect (a 3xx answer fails the query),
waits at most ``service_timeout`` seconds for each read, and reads at most
``service_max_bytes`` bytes of the answer; the query timeout bounds the whole query as usual.
One query makes at most ``service_max_calls`` SERVICE calls: rdflib calls once for each row
it joins a SERVICE pattern with, so a ``VALUES`` of 300 rows would open 300 connections.

Only the federation workers hold the broker's channel: a fork hook lets every other child of
the server (the usual pool's workers, spawned again after a timeout) close it at once.
"""

from __future__ import annotations

import http.client
import os
import socket
import ssl
import threading
import urllib.request
from collections.abc import Collection, Sequence
from dataclasses import replace
from typing import Any

import rdflib.plugins.sparql.evaluate as rdflib_evaluate
from rdflib import Dataset
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.term import URIRef

from aigraph.engine import broker, guard
from aigraph.engine.base import Answer, CheckedQuery, QueryRequest, QueryResult
from aigraph.engine.isolated import IsolatedEngine
from aigraph.engine.rdflib_engine import RdflibEngine
from aigraph.engine.worker import Bounds
from aigraph.errors import EngineUnavailable, QueryRefused
from aigraph.formats import Offer

#: Set in the thread that forks a federation worker; every other child closes the channel.
_FORKING = threading.local()
_BROKERS: list[broker.Broker] = []


def _after_fork_in_child() -> None:
    keep = bool(getattr(_FORKING, "federation", False))
    for each in _BROKERS:
        each.detach_in_child(keep_client=keep)
    if not keep:
        _BROKERS.clear()


os.register_at_fork(after_in_child=_after_fork_in_child)


class FederatedEngine(RdflibEngine):
    """rdflib's evaluator whose SERVICE calls connect only through the broker."""

    name = "rdflib"

    def __init__(
        self,
        dataset: Dataset,
        *,
        channel: socket.socket,
        prefixes: Sequence[str],
        max_nesting: int = 200,
        timeout: float = 10.0,
        max_bytes: int = 10_000_000,
        max_calls: int = 30,
    ) -> None:
        super().__init__(dataset, max_nesting=max_nesting)
        self.prefixes = tuple(prefixes)
        self._channel = channel
        self._timeout = timeout
        self._max_bytes = max_bytes
        self._max_calls = max_calls
        self._calls = 0

    def check(self, text: str) -> CheckedQuery:
        """The guard, with the allow-listed prefixes (an early refusal, not the enforcement)."""
        return guard.check(text, max_nesting=self.max_nesting, service_prefixes=self.prefixes)

    def query(self, request: QueryRequest) -> QueryResult:
        """Run the query; its SERVICE calls go through ``urlopen`` below."""
        rdflib_evaluate.urlopen = self.urlopen  # type: ignore[assignment]  # this process only
        self._calls = 0  # a worker runs one query at a time
        return super().query(request)

    def _refuse_services(self, algebra: CompValue) -> None:
        """Refuse nothing from the text: the broker decides at the connection."""

    def urlopen(self, request: urllib.request.Request) -> _Reply:
        """Send ``request`` on a brokered connection; no redirect, bounded in time and size."""
        url = request.full_url
        if self._calls >= self._max_calls:
            raise QueryRefused(
                f"the query calls SERVICE more than {self._max_calls} times (service_max_calls), "
                "once for each row a SERVICE pattern is joined with; ask the remote endpoint "
                "for all rows in fewer calls (put the SERVICE pattern first, or VALUES inside it)"
            )
        self._calls += 1
        sock = broker.connect(self._channel, url, self._timeout)
        try:
            # The broker enforces scheme, host and port where it connects, but cannot see what
            # is written on the socket: the path is enforced here, where the request line is
            # written, which names exactly the checked, normalised path.
            target = broker.allowed(url, self.prefixes)
            if target is None:
                raise broker.not_allowed(url, self.prefixes)
            where = target.endpoint
            if where.scheme == "https":
                context = ssl.create_default_context()
                sock = context.wrap_socket(sock, server_hostname=where.host)
            conn = http.client.HTTPConnection(where.host, where.port, timeout=None)
            conn.sock = sock
            headers = dict(request.header_items())
            if request.data is not None:
                headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
            conn.request(
                request.get_method(), target.request_target, body=request.data, headers=headers
            )
            response = conn.getresponse()
            if 300 <= response.status < 400:
                raise EngineUnavailable(
                    f"the SERVICE endpoint answered a redirect (HTTP {response.status}); "
                    "redirects are refused"
                )
            if response.status != 200:
                raise EngineUnavailable(f"the SERVICE endpoint answered HTTP {response.status}")
            body = response.read(self._max_bytes + 1)
            if len(body) > self._max_bytes:
                raise EngineUnavailable(
                    f"the SERVICE answer is larger than {self._max_bytes} bytes"
                )
            return _Reply(response.status, body)
        except TimeoutError:
            raise EngineUnavailable(
                f"the SERVICE endpoint did not answer within {self._timeout:g} s"
            ) from None
        except (OSError, http.client.HTTPException) as exc:
            raise EngineUnavailable(f"the SERVICE call broke off: {exc}") from None
        finally:
            sock.close()


class _Reply:
    """What rdflib reads of an HTTP answer: its status and its body."""

    def __init__(self, status: int, body: bytes) -> None:
        self.status = status
        self._body = body

    def read(self) -> bytes:
        return self._body


class _FederationPool(IsolatedEngine):
    """A pool whose workers (forked in ``_spawn``) keep the broker's channel."""

    def _spawn(self) -> Any:
        _FORKING.federation = True
        try:
            return super()._spawn()
        finally:
            _FORKING.federation = False


class Federating(IsolatedEngine):
    """Route a query with SERVICE to the federation pool and every other to the usual pool."""

    def __init__(
        self, usual: IsolatedEngine, federation: IsolatedEngine, the_broker: broker.Broker
    ) -> None:
        # The two pools do the work: nothing of IsolatedEngine's own state is set up here.
        self.usual = usual
        self.federation = federation
        self.broker = the_broker
        self.name = usual.name

    def _pool(self, text: str) -> IsolatedEngine:
        return self.federation if guard.facts_of(text).services else self.usual

    def check(self, text: str) -> CheckedQuery:
        return self._pool(text).check(text)

    def query(self, request: QueryRequest) -> QueryResult:
        return self._pool(request.text).query(request)

    def answer(self, request: QueryRequest, offer: Offer) -> Answer:
        return self._pool(request.text).answer(request, offer)

    def graph_names(self) -> Sequence[URIRef]:
        return self.usual.graph_names()

    def triple_count(self) -> int:
        return self.usual.triple_count()

    def graph_count(self) -> int:
        return self.usual.graph_count()

    def stats(self) -> dict[str, int]:
        counts = dict(self.usual.stats())
        for key, value in self.federation.stats().items():
            counts[f"service_{key}"] = value
        counts["service_connections"] = self.broker.connections
        counts["service_refused"] = self.broker.refused
        return counts

    def worker_pids(self) -> list[int]:
        return [*self.usual.worker_pids(), *self.federation.worker_pids()]

    def close(self) -> None:
        self.federation.close()
        self.usual.close()
        self.broker.close()
        if self.broker in _BROKERS:
            _BROKERS.remove(self.broker)


def federating(
    usual: IsolatedEngine,
    dataset: Dataset,
    *,
    prefixes: Collection[str],
    bounds: Bounds,
    query_timeout: float,
    service_timeout: float,
    service_max_bytes: int,
    max_nesting: int,
    service_max_calls: int = 30,
    workers: int = 1,
) -> Federating:
    """Put a federation pool and its broker beside ``usual`` (already forked)."""
    allowed = broker.check_prefixes(tuple(prefixes))
    the_broker = broker.Broker(allowed, service_timeout)
    _BROKERS.append(the_broker)
    channel = the_broker.client

    def build() -> FederatedEngine:
        return FederatedEngine(
            dataset,
            channel=channel,
            prefixes=allowed,
            max_nesting=max_nesting,
            timeout=service_timeout,
            max_bytes=service_max_bytes,
            max_calls=service_max_calls,
        )

    probe = build()
    pool = _FederationPool(
        build,
        workers=workers,
        timeout=query_timeout,
        check=probe.check,
        bounds=replace(bounds, network=False, ports=()),
    )
    return Federating(usual, pool, the_broker)
