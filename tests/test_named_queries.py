"""Every named query in ``queries/`` has a proper header and gives its expected answer."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from rdflib import XSD, BNode, Dataset, Literal, URIRef
from rdflib.namespace import RDF

from aigraph.graph import load

ROOT = Path(__file__).resolve().parents[1]
QUERIES = sorted((ROOT / "queries").glob("*.rq"))
BASE = "https://w3id.org/aigraph"
ID = f"{BASE}/id/"
SCHEMA = "http://schema.org/"
PARAM = re.compile(r"^# param: ([A-Za-z_][A-Za-z0-9_]*) (iri|literal)$")

Row = dict[str, object]


def header(text: str) -> tuple[str, str, list[tuple[str, str]]]:
    lines = text.splitlines()
    assert lines[0].startswith("# title: ") and lines[0][9:].strip()
    assert lines[1].startswith("# description: ") and lines[1][15:].strip()
    params = []
    for line in lines[2:]:
        if not line.startswith("#"):
            break
        match = PARAM.match(line)
        assert match, f"bad header line {line!r}"
        params.append((match.group(1), match.group(2)))
    return lines[0][9:].strip(), lines[1][15:].strip(), params


def run(dataset: Dataset, path: Path, **bindings: object) -> list[Row]:
    result = dataset.query(path.read_text(encoding="utf-8"), initBindings=bindings)
    names = [str(v) for v in result.vars]
    return [
        {
            n: (None if v is None else v.toPython() if isinstance(v, Literal) else str(v))
            for n, v in zip(names, row, strict=True)
        }
        for row in result
    ]


def plain(rows: list[Row], *columns: str) -> list[tuple]:
    return [tuple(None if r[c] is None else str(r[c]) for c in columns) for r in rows]


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return load().dataset


# -- expected answers ---------------------------------------------------------------------------


def expect_funding(rows: list[Row]) -> None:
    assert plain(rows, "funderLabel", "amount", "currency", "startYear", "endYear") == [
        ("Vinnova", "100000000", "SEK", "2020", "2024"),
        ("Region Västra Götaland", None, None, None, None),
        ("partners of AI Innovation of Sweden", None, None, None, None),
    ]
    assert {r["recipient"] for r in rows} == {ID + "organisation/ai-innovation-of-sweden"}


def expect_regional_nodes(rows: list[Row]) -> None:
    assert sorted(plain(rows, "status", "placeLabelSv")) == [
        ("established", "Göteborg"),
        ("established", "Storstockholm"),
        ("established", "södra Sverige"),
        ("established", "Örebro"),
        ("feasibility study", "Linköping"),
        ("feasibility study", "norra Sverige"),
    ]


def expect_host(rows: list[Row]) -> None:
    assert plain(rows, "initiativeLabel", "hostLabel") == [
        ("AI Innovation of Sweden", "Lindholmen Science Park AB")
    ]


def expect_partner_growth(rows: list[Row]) -> None:
    assert plain(
        rows,
        "yearsAfterStart",
        "year",
        "count",
        "approximationLabel",
        "minValue",
        "maxValue",
        "originalWording",
    ) == [
        ("0", "2019", "40", "just over", "40", None, "dryga 40 grundande partners"),
        (
            "1",
            None,
            "70",
            "nearly",
            None,
            "70",
            "nära 70 organisationer är delaktiga i verksamheten",
        ),
    ]


def expect_posts_and_quotes(rows: list[Row]) -> None:
    assert plain(rows, "name", "postLabel", "organisationLabel") == [
        ("Darja Isaksson", "Director General of Vinnova", "Vinnova"),
        ("Martin Svensson", "Co-director of AI Innovation of Sweden", "AI Innovation of Sweden"),
    ]
    assert str(rows[0]["text"]).startswith("AI Innovation of Sweden har en avgörande roll")
    assert str(rows[1]["text"]).startswith("Med etableringen av noden i Stockholm")
    assert all(r["translation"] for r in rows)


def expect_complementary(rows: list[Row]) -> None:
    assert sorted(plain(rows, "initiativeLabel", "complementaryToLabel", "accordingToLabel")) == [
        ("AI Innovation of Sweden", "WASP", "Vinnova"),
        (
            "AI Innovation of Sweden",
            "similar research-oriented initiatives around Sweden",
            "Vinnova",
        ),
    ]
    assert all("komplementär till WASP" in str(r["sourceSentence"]) for r in rows)


def expect_provenance(rows: list[Row]) -> None:
    assert len(rows) > 100
    graphs = {r["graph"] for r in rows}
    assert f"{BASE}/graph/provenance" not in graphs
    assert f"{BASE}/graph/ontology" not in graphs
    host = [r for r in rows if r["predicate"] == "https://w3id.org/aigraph/ontology#hostedBy"]
    assert plain(host, "sourceSentence") == [
        ("Formell värd för satsningen är Lindholmen Science Park AB.",)
    ]


def expect_funding_per_funder_year(rows: list[Row]) -> None:
    assert plain(
        rows, "funderLabel", "year", "currency", "total", "grants", "periodStart", "periodEnd"
    ) == [("Vinnova", "2020", "SEK", "100000000", "1", "2020", "2024")]


EXPECTED: dict[str, Callable[[list[Row]], None]] = {
    "funding": expect_funding,
    "regional-nodes": expect_regional_nodes,
    "host": expect_host,
    "partner-growth": expect_partner_growth,
    "posts-and-quotes": expect_posts_and_quotes,
    "complementary": expect_complementary,
    "provenance": expect_provenance,
    "funding-per-funder-year": expect_funding_per_funder_year,
}


# -- tests --------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", QUERIES, ids=lambda p: p.stem)
def test_query_header(path: Path) -> None:
    header(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", QUERIES, ids=lambda p: p.stem)
def test_query_gives_expected_answer(path: Path, dataset: Dataset) -> None:
    assert path.stem in EXPECTED, f"no expected answer for queries/{path.name}"
    EXPECTED[path.stem](run(dataset, path))


def test_every_expected_answer_has_a_query() -> None:
    assert set(EXPECTED) == {p.stem for p in QUERIES}


@pytest.mark.parametrize("path", QUERIES, ids=lambda p: p.stem)
def test_params_are_used_as_variables(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    for name, _ in header(text)[2]:
        assert re.search(rf"\?{name}\b", text), name


def test_provenance_of_one_subject(dataset: Dataset) -> None:
    grant = URIRef(ID + "grant/vinnova-ai-innovation-of-sweden-2020-2024")
    rows = run(dataset, ROOT / "queries" / "provenance.rq", subject=grant)
    assert rows and {r["subject"] for r in rows} == {str(grant)}
    sentences = {r["sourceSentence"] for r in rows}
    assert any("100 miljoner kronor under perioden 2020-2024" in s for s in sentences)
    assert any("ytterligare 100 miljoner under perioden 2020-2024" in s for s in sentences)


def test_funding_for_a_bound_recipient(dataset: Dataset) -> None:
    aiios = URIRef(ID + "organisation/ai-innovation-of-sweden")
    rows = run(dataset, ROOT / "queries" / "funding.rq", recipient=aiios)
    assert len(rows) == 3
    other = run(dataset, ROOT / "queries" / "funding.rq", recipient=URIRef(ID + "organisation/x"))
    assert other == []


def add_grant(ds: Dataset, slug: str, funder: str, amount: str, start: str, end: str) -> None:
    g = ds.graph(URIRef(f"{BASE}/graph/{slug}"))
    grant = URIRef(ID + "grant/" + slug)
    money = BNode()
    g.add((grant, RDF.type, URIRef(SCHEMA + "MonetaryGrant")))
    g.add((grant, URIRef(SCHEMA + "funder"), URIRef(ID + "organisation/" + funder)))
    g.add((grant, URIRef(SCHEMA + "amount"), money))
    g.add((money, URIRef(SCHEMA + "value"), Literal(amount, datatype=XSD.decimal)))
    g.add((money, URIRef(SCHEMA + "currency"), Literal("SEK")))
    g.add((grant, URIRef(SCHEMA + "startDate"), Literal(start, datatype=XSD.gYear)))
    g.add((grant, URIRef(SCHEMA + "endDate"), Literal(end, datatype=XSD.gYear)))


def copy(dataset: Dataset) -> Dataset:
    ds = Dataset(default_union=True)
    for s, p, o, g in dataset.quads((None, None, None, None)):
        ds.add((s, p, o, g))
    return ds


def test_funding_totals_grow_with_more_grants(dataset: Dataset) -> None:
    ds = copy(dataset)
    add_grant(ds, "second-2020", "vinnova", "5000000", "2020", "2021")
    add_grant(ds, "third-2021", "vinnova", "250000.50", "2021", "2021")
    add_grant(ds, "regional-2020", "vastra-gotalandsregionen", "1000", "2020", "2020")
    rows = run(ds, ROOT / "queries" / "funding-per-funder-year.rq")
    totals = {(r["funder"].rsplit("/", 1)[1], r["year"]): (r["total"], r["grants"]) for r in rows}
    assert totals == {
        ("vinnova", "2020"): (Decimal("105000000"), 2),
        ("vinnova", "2021"): (Decimal("250000.50"), 1),
        ("vastra-gotalandsregionen", "2020"): (Decimal("1000"), 1),
    }


def test_a_grant_stated_twice_is_counted_once(dataset: Dataset) -> None:
    ds = copy(dataset)
    # The same grant described again in another named graph (as a second announcement would).
    add_grant(
        ds, "vinnova-ai-innovation-of-sweden-2020-2024", "vinnova", "100000000", "2020", "2024"
    )
    rows = run(ds, ROOT / "queries" / "funding-per-funder-year.rq")
    assert [(r["total"], r["grants"]) for r in rows] == [(Decimal("100000000"), 1)]
