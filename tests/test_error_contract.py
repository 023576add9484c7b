"""The error contract: every error pickles, the body sent is ``to_body()``, 405 names the router's methods."""

from __future__ import annotations

import inspect
import pickle
import re
from pathlib import Path

import pytest

import aigraph.errors
import aigraph.store  # defines StoreError, an error of the hierarchy too
from aigraph.errors import AigraphError
from aigraph.web import create_app

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")

#: A value for each keyword an error constructor takes; a new keyword needs one here.
SAMPLES = {"path": "data/x.ttl", "line": 3, "column": 7, "retry_after": 5}


def every_error_class() -> list[type[AigraphError]]:
    """Return AigraphError and every subclass of it, wherever defined (found by walking)."""
    found, todo = [], [AigraphError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return sorted(set(found), key=lambda c: (c.__module__, c.__name__))


def sample(cls: type[AigraphError]) -> AigraphError:
    """Return an instance of ``cls`` with every keyword of its constructor given."""
    keywords = {
        name: SAMPLES[name]
        for name, param in inspect.signature(cls).parameters.items()
        if param.kind is inspect.Parameter.KEYWORD_ONLY
    }
    return cls("something to fix", **keywords)


ERRORS = every_error_class()


def test_every_class_of_the_module_is_covered() -> None:
    in_module = {
        obj
        for obj in vars(aigraph.errors).values()
        if isinstance(obj, type) and issubclass(obj, Exception)
    }
    assert in_module <= set(ERRORS)
    assert all(issubclass(cls, AigraphError) for cls in in_module), in_module


@pytest.mark.parametrize("cls", ERRORS, ids=lambda c: c.__name__)
def test_every_error_round_trips_through_pickle(cls: type[AigraphError]) -> None:
    error = sample(cls)
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is cls
    assert str(copy) == str(error)
    assert copy.args == error.args
    assert copy.message == error.message
    assert vars(copy) == vars(error)
    assert copy.to_body() == error.to_body()
    for name in SAMPLES:
        assert getattr(copy, name, None) == getattr(error, name, None), name


def test_the_message_is_not_rewritten_twice() -> None:
    # A constructor that prefixes its message would prefix it again if pickle called it.
    error = aigraph.errors.DataError("bad token", path="x.ttl", line=4)
    assert pickle.loads(pickle.dumps(error)).message == "x.ttl:4: bad token"


@pytest.fixture(scope="module")
def raising_client(core):
    """A client of an app with a route that raises a sample of any error class by name."""
    app = create_app(core=core)
    app.config["TESTING"] = True
    by_name = {cls.__name__: cls for cls in ERRORS}

    def raise_error(name: str) -> str:
        raise sample(by_name[name])

    app.add_url_rule("/raise/<name>", "raise_error", raise_error)
    return app.test_client()


@pytest.mark.parametrize("cls", ERRORS, ids=lambda c: c.__name__)
def test_the_body_sent_is_to_body_plus_the_request_id(raising_client, cls) -> None:
    response = raising_client.get(f"/raise/{cls.__name__}", headers={"Accept": "application/json"})
    expected = {**sample(cls).to_body(), "request_id": response.headers["X-Request-Id"]}
    assert response.status_code == cls.status, response.get_data(as_text=True)
    assert response.get_json() == expected


def test_details_without_a_value_are_left_out() -> None:
    body = aigraph.errors.DataError("bad", path="x.ttl").to_body()
    assert body["details"] == {"path": "x.ttl"}
    assert "details" not in aigraph.errors.NotFound("no such thing").to_body()


def test_the_readme_documents_the_shape_sent(client) -> None:
    section = README.split("Statuses, each with the one error body shape", 1)[1][:400]
    shape = re.search(r"`(\{[^`]*\})`", section)
    assert shape is not None, section
    documented = set(re.findall(r'"(\w+)":', shape.group(1)))
    assert '`"details"`' in section, section
    sent = client.get("/no/such/page", headers={"Accept": "application/json"}).get_json()
    assert set(sent) == documented, sent
    syntax = client.get("/sparql", query_string={"query": "SELECT * WHERE {"}).get_json()
    assert set(syntax) == documented | {"details"}, syntax


ROUTER_405 = [
    ("PUT", "/sparql", {"GET", "HEAD", "OPTIONS", "POST"}),
    ("DELETE", "/sparql", {"GET", "HEAD", "OPTIONS", "POST"}),
    ("POST", "/id/organisation/vinnova", {"GET", "HEAD", "OPTIONS"}),
    ("PUT", "/ontology", {"GET", "HEAD", "OPTIONS"}),
]


@pytest.mark.parametrize(("method", "path", "allowed"), ROUTER_405)
def test_405_names_the_methods_of_the_router(app, client, method, path, allowed) -> None:
    response = client.open(path, method=method, headers={"Accept": "application/json"})
    assert response.status_code == 405, response.get_data(as_text=True)
    assert response.get_json()["error"] == "method-not-allowed"
    sent = {m.strip() for m in response.headers["Allow"].split(",")}
    assert sent == allowed
    assert sent == set(app.url_map.bind("localhost").allowed_methods(path))


def test_405_raised_by_the_app_names_the_methods_of_its_route(raising_client) -> None:
    response = raising_client.get("/raise/MethodNotAllowed")
    assert response.status_code == 405
    assert {m.strip() for m in response.headers["Allow"].split(",")} == {"GET", "HEAD", "OPTIONS"}
