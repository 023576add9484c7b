"""The SPARQL 1.1 Protocol request parser, without HTTP."""

from __future__ import annotations

import pytest
from rdflib import URIRef

from aigraph import protocol
from aigraph.errors import BadRequest, Forbidden, MethodNotAllowed, UnsupportedMediaType
from aigraph.model import DatasetSpec

Q = "SELECT * WHERE { ?s ?p ?o }"


def test_get_query():
    parsed = protocol.parse("GET", None, [("query", Q)], b"")
    assert parsed.query == Q
    assert parsed.dataset == DatasetSpec()


def test_get_without_query_is_a_service_description_request():
    assert protocol.parse("GET", None, [], b"").query is None


def test_post_form():
    body = b"query=SELECT+*+WHERE+%7B+%3Fs+%3Fp+%3Fo+%7D"
    parsed = protocol.parse("POST", "application/x-www-form-urlencoded", [], body)
    assert parsed.query == Q


def test_post_direct_with_dataset_in_url():
    parsed = protocol.parse(
        "POST",
        "application/sparql-query; charset=utf-8",
        [
            ("default-graph-uri", "http://a"),
            ("named-graph-uri", "http://b"),
            ("named-graph-uri", "http://c"),
        ],
        Q.encode(),
    )
    assert parsed.query == Q
    assert parsed.dataset.default_graphs == (URIRef("http://a"),)
    assert parsed.dataset.named_graphs == (URIRef("http://b"), URIRef("http://c"))


@pytest.mark.parametrize(
    "method, content_type, params, body, error, words",
    [
        ("GET", None, [("query", Q), ("query", Q)], b"", BadRequest, "more than once"),
        (
            "POST",
            "application/sparql-query",
            [("query", Q)],
            Q.encode(),
            BadRequest,
            "more than once",
        ),
        (
            "POST",
            "application/x-www-form-urlencoded",
            [("query", Q)],
            b"query=ASK%7B%7D",
            BadRequest,
            "more than once",
        ),
        ("POST", "application/x-www-form-urlencoded", [], b"", BadRequest, "no query"),
        ("POST", "application/x-www-form-urlencoded", [], b"query=", BadRequest, "empty"),
        ("POST", "text/plain", [], Q.encode(), UnsupportedMediaType, "application/sparql-query"),
        ("POST", None, [], b"query=ASK%7B%7D", UnsupportedMediaType, "no Content-Type"),
        (
            "POST",
            "application/sparql-query; charset=utf-16",
            [],
            Q.encode("utf-16"),
            UnsupportedMediaType,
            "UTF-8",
        ),
        ("POST", "application/sparql-query", [], b"ASK { \xff }", BadRequest, "UTF-8"),
        ("GET", None, [("update", "CLEAR ALL")], b"", Forbidden, "read-only"),
        (
            "POST",
            "application/x-www-form-urlencoded",
            [],
            b"update=CLEAR+ALL",
            Forbidden,
            "read-only",
        ),
        ("POST", "application/sparql-update", [], b"CLEAR ALL", Forbidden, "read-only"),
        ("PUT", "application/sparql-query", [], Q.encode(), MethodNotAllowed, "PUT"),
        ("GET", None, [("query", "ASK {}\x00")], b"", BadRequest, "NUL"),
    ],
)
def test_protocol_errors(method, content_type, params, body, error, words):
    with pytest.raises(error) as caught:
        protocol.parse(method, content_type, params, body)
    assert words in caught.value.message


def test_url_pairs_rejects_invalid_utf8():
    with pytest.raises(BadRequest, match="UTF-8"):
        protocol.url_pairs(b"query=%FF%FE")
    assert protocol.url_pairs(b"query=%C3%A5&x=1") == [("query", "å"), ("x", "1")]
