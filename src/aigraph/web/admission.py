"""Per-client admission: one client's queries cannot take every query worker.

A client is a source address (an IPv6 address counts by its /64, which one host usually
holds whole), counted as the front door counts connections. ``request.remote_addr`` is the peer, or the forwarded address when the WSGI
server was told to trust a proxy. The global bound (how many queries may wait for a worker)
is the engine's; this one keeps a single client within its share.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

from aigraph.errors import TooManyQueries
from aigraph.web.frontdoor import client_key

__all__ = ["Admission", "client_key"]


class Admission:
    """Count each client's queries in progress and refuse those past ``per_client``."""

    def __init__(self, per_client: int, retry_after: int) -> None:
        self.per_client = per_client
        self.retry_after = retry_after
        self._lock = threading.Lock()
        self._running: Counter[str] = Counter()

    def enter(self, address: str | None) -> Callable[[], None]:
        """Admit one query of the client at ``address``; return the function that ends it.

        Raises ``TooManyQueries`` (429) when the client already has ``per_client`` queries
        running, waiting for a worker or streaming their answer.
        """
        client = client_key(address or "unknown")
        with self._lock:
            if self.per_client and self._running[client] >= self.per_client:
                raise TooManyQueries(
                    f"this client already has {self.per_client} queries in progress, the most "
                    f"one client may have; retry in {self.retry_after} s",
                    retry_after=self.retry_after,
                )
            self._running[client] += 1
        released = False

        def release() -> None:
            nonlocal released
            with self._lock:
                if released:
                    return
                released = True
                self._running[client] -= 1
                if self._running[client] <= 0:
                    del self._running[client]

        return release

    def in_progress(self) -> int:
        """Return how many admitted queries have not ended yet."""
        with self._lock:
            return sum(self._running.values())
