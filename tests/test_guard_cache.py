"""The guard's verdict cache is sized by settings, applied when the app opens."""

from collections.abc import Iterator

import pytest

from aigraph.core import Aigraph
from aigraph.engine import guard
from aigraph.settings import Settings

BUDGET = 3000
MAX_TEXT = 200


@pytest.fixture()
def small_cache() -> Iterator[Aigraph]:
    settings = Settings(
        executors=1, validate=False, guard_cache_bytes=BUDGET, guard_cache_max_text=MAX_TEXT
    )
    aigraph = Aigraph.open(settings)
    try:
        yield aigraph
    finally:
        aigraph.close()
        defaults = Settings()
        guard.configure(defaults.guard_cache_bytes, defaults.guard_cache_max_text)


def _query(n: int, padding: int) -> str:
    return f"SELECT ?s{n} WHERE {{ ?s{n} ?p ?o }} #{'x' * padding}"


def test_cache_never_holds_more_than_its_budget(small_cache):
    cache = guard._CACHE
    assert (cache.budget, cache.max_text) == (BUDGET, MAX_TEXT)
    for n in range(100):
        small_cache.check(_query(n, 60))
        kept = sum(len(text) + cache.ENTRY_BYTES for text in cache._entries)
        assert kept == cache.size <= BUDGET
    assert 0 < len(cache._entries) < 100
    assert _query(99, 60) in cache._entries  # the most recent stays, the oldest went first
    assert _query(0, 60) not in cache._entries


def test_texts_over_the_longest_cached_size_are_not_kept(small_cache):
    cache = guard._CACHE
    short, long = _query(1, 10), _query(2, MAX_TEXT)
    assert len(short) <= MAX_TEXT < len(long)
    assert small_cache.check(short).form == small_cache.check(long).form == "select"
    assert short in cache._entries
    assert long not in cache._entries


def test_a_zero_budget_keeps_nothing():
    guard.configure(0, MAX_TEXT)
    try:
        guard.check(_query(3, 0))
        assert guard._CACHE.size == 0 and not guard._CACHE._entries
    finally:
        defaults = Settings()
        guard.configure(defaults.guard_cache_bytes, defaults.guard_cache_max_text)
