"""Schemathesis against the live server's ``/openapi.json``: every documented operation.

For each operation, schemathesis generates requests from the description (and, where the
description constrains anything, requests that break it) and checks each answer: no server
error except the documented 503 of a stopped query, only documented status codes, the
documented content types, headers and error shape.

``schemathesis.pytest.from_fixture`` does not work under pytest 9 (it sets
``request.node._nodeid``, which pytest 9 removed), so each operation is driven through
``APIOperation.as_strategy`` with Hypothesis directly; the schema is still loaded from the live
server's ``/openapi.json``.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis import checks as st_checks

from aigraph.web.openapi import openapi

#: The operations, known before the server starts so that each is its own test.
DESCRIPTION = openapi("http://127.0.0.1")
OPERATIONS = [
    (path, method.upper())
    for path, item in DESCRIPTION["paths"].items()
    for method in item
    if method in ("get", "post", "put", "delete", "patch", "options", "head")
]
#: Operations whose description constrains something a request can break (types, bodies).
NEGATABLE = [
    (path, method)
    for path, method in OPERATIONS
    if "requestBody" in DESCRIPTION["paths"][path][method.lower()]
    or any(
        p["schema"].get("type") == "array"
        for p in DESCRIPTION["paths"][path][method.lower()].get("parameters", [])
    )
]
#: The only 5xx an answer may be: a query stopped at a documented limit.
ALLOWED_5XX = {"query-timeout", "query-too-large"}

CHECKS_PER_OPERATION = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)


def not_a_server_error_but_a_timeout(ctx, response, case) -> None:
    """Fail on a 5xx unless it is a 503 for a query stopped at a documented limit."""
    if response.status_code < 500:
        return
    try:
        kind = json.loads(response.content).get("error")
    except ValueError:
        kind = None
    if response.status_code != 503 or kind not in ALLOWED_5XX:
        raise AssertionError(
            f"server error {response.status_code} ({kind}) for {case.as_curl_command()}:\n"
            f"{response.content[:500]!r}"
        )


def documented_status(ctx, response, case) -> None:
    """The status is documented (schemathesis' check), apart from the known, reported gaps."""
    st_checks.status_code_conformance(ctx, response, case)


CHECKS = [
    not_a_server_error_but_a_timeout,
    documented_status,
    st_checks.content_type_conformance,
    st_checks.response_headers_conformance,
    st_checks.response_schema_conformance,
]


@pytest.fixture(scope="module")
def api_schema(live_server):
    return schemathesis.openapi.from_url(live_server + "/openapi.json")


def run_operation(api_schema, path: str, method: str, mode: GenerationMode) -> None:
    operation = api_schema[path][method]
    session = requests.Session()

    @CHECKS_PER_OPERATION
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case) -> None:
        case.call_and_validate(session=session, checks=CHECKS)

    try:
        check()
    finally:
        session.close()


def test_the_served_description_is_the_one_tested(live_server):
    served = requests.get(live_server + "/openapi.json", timeout=30).json()
    assert served["servers"] == [{"url": live_server}]
    assert served["paths"] == json.loads(json.dumps(DESCRIPTION["paths"]))


@pytest.mark.parametrize("path, method", OPERATIONS, ids=[f"{m} {p}" for p, m in OPERATIONS])
def test_valid_requests(api_schema, path, method):
    run_operation(api_schema, path, method, GenerationMode.POSITIVE)


@pytest.mark.parametrize("path, method", NEGATABLE, ids=[f"{m} {p}" for p, m in NEGATABLE])
def test_invalid_requests(api_schema, path, method):
    run_operation(api_schema, path, method, GenerationMode.NEGATIVE)


# --- gaps schemathesis found once, kept as regressions ---------------------------------------


@pytest.mark.parametrize("path", ["/ontology", "/shapes", "/id/organisation/vinnova"])
def test_unknown_format_status_is_documented(live_server, path):
    response = requests.get(live_server + path + "?" + urlencode({"format": "bogus"}), timeout=30)
    assert response.status_code == 400, response.text
    template = "/id/{rest}" if path.startswith("/id/") else path
    assert "400" in DESCRIPTION["paths"][template]["get"]["responses"]
