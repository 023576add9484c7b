"""Serving under another base: the data validates and the named queries give the same answers."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from aigraph.cli import cli
from aigraph.core import Aigraph
from aigraph.settings import Settings

OTHER = "https://data.example.org/aigraph"


@pytest.fixture(scope="module")
def pair():
    canonical = Aigraph.open(Settings(engine="rdflib"))
    other = Aigraph.open(Settings(engine="rdflib", base=OTHER))  # validates at start
    yield canonical, other
    canonical.close()
    other.close()


def test_another_base_validates_and_moves_the_data(pair):
    _, other = pair
    assert other.settings.validate
    ask = other.query(f"ASK {{ <{OTHER}/id/organisation/vinnova> ?p ?o }}")
    assert ask.boolean is True


def test_named_queries_answer_the_same_under_another_base(pair):
    canonical, other = pair
    assert canonical.named.keys() == other.named.keys()
    for name, named in other.named.items():
        assert f"<{OTHER}/" in named.text or "w3id.org/aigraph" not in canonical.named[name].text
        assert "w3id.org/aigraph" not in named.text
        assert other.run_named(name, {}).count == canonical.run_named(name, {}).count, name
        assert canonical.run_named(name, {}).count > 0, name


def test_validate_honours_another_base_from_the_environment():
    result = CliRunner().invoke(cli, ["validate"], env={"AIGRAPH_BASE": OTHER})
    assert result.exit_code == 0, result.output
    assert "Conforms" in result.output
