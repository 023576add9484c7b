"""The one cache of the web layer: pages, documents and descriptions built from the data.

Bounded in entries and in bytes, least recently used first out, and keyed by the data it was
built from: each lookup names its generation (the data version and the loaded core), and a
lookup for another generation drops every entry first. So after a reload (SIGHUP swaps the
core) nothing built from the old data is served, and nothing of it is kept.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar

from flask import current_app

from aigraph.core import Aigraph

EXTENSION = "aigraph.cache"
_T = TypeVar("_T")
_CREATE = threading.Lock()


class VersionedCache:
    """A least-recently-used cache for one generation of the data at a time.

    At most ``max_entries`` entries and ``max_bytes`` bytes: ``bytes`` and ``str`` values count
    their length, other values what ``cost`` says (by default the length of their ``repr``),
    each plus ``ENTRY_BYTES`` for the key and the slot. A value larger than the whole budget is
    returned without being kept.
    """

    ENTRY_BYTES = 200

    def __init__(self, max_entries: int, max_bytes: int) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.size = 0
        self.generation: Hashable = None
        self._entries: OrderedDict[Hashable, tuple[object, int]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        """Drop every entry now (a reload frees the old generation's pages at once)."""
        with self._lock:
            self._entries.clear()
            self.size = 0
            self.generation = None

    def get(self, generation: Hashable, key: Hashable) -> object | None:
        """Return the value kept for ``key`` in ``generation``, or None."""
        with self._lock:
            self._enter(generation)
            found = self._entries.get(key)
            if found is None:
                return None
            self._entries.move_to_end(key)
            return found[0]

    def fetch(
        self,
        generation: Hashable,
        key: Hashable,
        build: Callable[[], _T],
        cost: Callable[[_T], int] | None = None,
    ) -> _T:
        """Return the value for ``key`` in ``generation``, built by ``build()`` when not kept.

        ``build`` runs outside the lock: two threads may build the same value at once, and
        neither waits for the other's (possibly slow) build.
        """
        found = self.get(generation, key)
        if found is not None:
            return found  # type: ignore[return-value]
        value = build()
        self.put(generation, key, value, (cost or _cost)(value))
        return value

    def put(self, generation: Hashable, key: Hashable, value: object, cost: int) -> None:
        """Keep ``value`` for ``key`` in ``generation``, dropping the least recently used."""
        cost += self.ENTRY_BYTES
        if cost > self.max_bytes or self.max_entries < 1:
            return
        with self._lock:
            self._enter(generation)
            old = self._entries.pop(key, None)
            if old is not None:
                self.size -= old[1]
            self._entries[key] = (value, cost)
            self.size += cost
            while self.size > self.max_bytes or len(self._entries) > self.max_entries:
                _, (_, dropped) = self._entries.popitem(last=False)
                self.size -= dropped

    def _enter(self, generation: Hashable) -> None:
        """Drop every entry when ``generation`` is not the one they were built for."""
        if generation != self.generation:
            self._entries.clear()
            self.size = 0
            self.generation = generation


def _cost(value: object) -> int:
    if isinstance(value, bytes | str):
        return len(value)
    return len(repr(value))


def generation(aigraph: Aigraph) -> Hashable:
    """Return what the cached values of ``aigraph`` are built from: its data version and the
    loaded core itself (a backend keeps its version across reloads, its data may not)."""
    return (aigraph.version, id(aigraph), aigraph.loaded_at)


def shared() -> VersionedCache:
    """Return the app's cache, made on first use with the core's settings."""
    found = current_app.extensions.get(EXTENSION)
    if found is None:
        with _CREATE:
            found = current_app.extensions.get(EXTENSION)
            if found is None:
                settings = current_app.extensions["aigraph"].settings
                found = VersionedCache(settings.cache_entries, settings.cache_bytes)
                current_app.extensions[EXTENSION] = found
    return found  # type: ignore[no-any-return]


def cached(
    key: tuple[object, ...], build: Callable[[], _T], cost: Callable[[_T], int] | None = None
) -> _T:
    """Return ``build()`` for ``key``, built once per generation of the app's current core."""
    aigraph: Aigraph = current_app.extensions["aigraph"]
    return shared().fetch(generation(aigraph), key, build, cost)
