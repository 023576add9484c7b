"""When an answer streams, and in what pieces, is set by settings applied when the app opens."""

from collections.abc import Iterator

import pytest

from aigraph import formats
from aigraph.core import Aigraph
from aigraph.engine import stream
from aigraph.settings import Settings

CSV = formats.find_offer("csv", formats.RESULTS)
QUERY = "SELECT ?s ?p ?o WHERE { ?s ?p ?o } ORDER BY ?s ?p ?o LIMIT 200"


def _open(**values: int) -> Aigraph:
    return Aigraph.open(Settings(executors=1, validate=False, **values))


@pytest.fixture()
def restore_defaults() -> Iterator[None]:
    yield
    defaults = Settings()
    stream.configure(defaults.stream_piece_bytes, defaults.stream_threshold_bytes)


def _answer_body(aigraph: Aigraph) -> tuple[bytes, list[bytes] | None]:
    answer = aigraph.answer(QUERY, CSV)
    if answer.stream is None:
        assert answer.body is not None
        return answer.body, None
    try:
        pieces = list(answer.stream)
    finally:
        answer.stream.close()
    return b"".join(pieces), pieces


def test_a_small_threshold_streams_in_pieces_of_the_set_size(restore_defaults) -> None:
    small = _open(stream_threshold_bytes=1000, stream_piece_bytes=100)
    try:
        body, pieces = _answer_body(small)
    finally:
        small.close()
    plain = _open()
    try:
        whole, unstreamed = _answer_body(plain)
    finally:
        plain.close()
    assert unstreamed is None  # well under the default threshold: one message
    assert len(whole) > 1000
    assert pieces is not None and body == whole
    assert max(len(piece) for piece in pieces) <= 100
    assert len(pieces) == -(-len(whole) // 100)
