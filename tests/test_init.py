"""`aigraph init`: a new project that validates and serves at once, with no placeholder in it."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

from click.testing import CliRunner
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF

from aigraph.cli import cli
from aigraph.describe.common import VCARD, read_metadata
from aigraph.describe.required import MANDATORY, gaps
from conftest import LiveServer

BASE = "https://data.example.se/bridges"
ARGS = [
    "--title",
    "Broar i Uppsala",
    "--description",
    "Varje bro i kommunen.",
    "--publisher",
    "Uppsala kommun",
    "--base",
    BASE,
    "--lang",
    "sv",
]


def init(folder: Path, *extra: str) -> str:
    result = CliRunner().invoke(cli, ["init", str(folder), *ARGS, *extra])
    assert result.exit_code == 0, result.output
    return result.output


def test_init_then_validate_then_serve(tmp_path):
    folder = tmp_path / "bridges"
    init(folder)
    assert {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()} == {
        "aigraph.toml",
        "data/publisher.ttl",
        "dataset.ttl",
        "queries/organisations.rq",
        "shapes/shapes.ttl",
    }
    validated = CliRunner().invoke(cli, ["validate", str(folder)])
    assert validated.exit_code == 0, validated.output
    assert "Conforms" in validated.stdout and "shapes.ttl" in validated.stdout
    assert "mandatory" not in validated.stderr  # the options gave every mandatory property
    assert "dcat:contactPoint is missing" in validated.stderr  # recommended, and listed
    server = LiveServer(str(folder))
    try:
        page = urllib.request.urlopen(server.url + "/?lang=sv", timeout=30).read().decode()
        assert "Broar i Uppsala" in page and "Varje bro i kommunen." in page
        catalog = Graph().parse(
            data=urllib.request.urlopen(server.url + "/catalog.ttl", timeout=30).read(),
            format="turtle",
        )
        assert Literal("Uppsala kommun", lang="sv") in set(catalog.objects(None, FOAF.name))
        assert (URIRef(f"{BASE}/catalog"), DCAT.dataset, URIRef(f"{BASE}/dataset")) in catalog
        answer = json.loads(
            urllib.request.urlopen(server.url + "/queries/organisations?format=json", timeout=30)
            .read()
            .decode()
        )
        [row] = answer["results"]["bindings"]
        assert row["organisation"]["value"] == f"{BASE}/id/publisher"
        assert row["name"]["value"] == "Uppsala kommun"
    finally:
        server.stop()


def test_the_metadata_states_what_the_options_say_and_nothing_else(tmp_path):
    bare, full = tmp_path / "bare", tmp_path / "full"
    init(bare)
    text = (bare / "dataset.ttl").read_text(encoding="utf-8")
    assert "example" not in text.replace(BASE, "") and "TODO" not in text
    metadata = read_metadata(bare / "dataset.ttl")
    assert metadata.title == {"sv": "Broar i Uppsala"} and metadata.publisher_names
    assert not metadata.has_contact and not metadata.data_license and not metadata.keywords
    assert not [g for g in gaps(metadata) if g.level == MANDATORY]
    init(
        full,
        "--publisher-type",
        "LocalAuthority",
        "--contact-name",
        "Kommunens dataenhet",
        "--contact-email",
        "data@uppsala.se",
        "--licence",
        "http://creativecommons.org/publicdomain/zero/1.0/",
        "--keyword",
        "broar",
        "--keyword",
        "infrastruktur",
    )
    graph = Graph().parse(full / "dataset.ttl", publicID="http://dataset.invalid/")
    assert URIRef("mailto:data@uppsala.se") in set(graph.objects(None, VCARD.hasEmail))
    assert URIRef("http://purl.org/adms/publishertype/LocalAuthority") in set(
        graph.objects(None, DCTERMS.type)
    )
    assert {str(k) for k in graph.objects(None, DCAT.keyword)} == {"broar", "infrastruktur"}
    remaining = {g.prop for g in gaps(read_metadata(full / "dataset.ttl"))}
    assert "dcat:contactPoint" not in remaining and "dcterms:license" in remaining  # catalogue's


def test_init_refuses_a_folder_with_files_and_a_base_that_is_no_iri(tmp_path):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine", encoding="utf-8")
    result = CliRunner().invoke(cli, ["init", str(tmp_path / "taken"), *ARGS])
    assert result.exit_code == 2 and "is not empty" in result.output
    assert (tmp_path / "taken" / "notes.txt").read_text(encoding="utf-8") == "mine"
    bad = [*ARGS[:7], "not an iri", *ARGS[8:]]
    result = CliRunner().invoke(cli, ["init", str(tmp_path / "new"), *bad])
    assert result.exit_code == 2 and "--base must be an http(s) IRI" in result.output
    assert not (tmp_path / "new").exists()


def test_graphs_are_named_from_the_project_not_from_the_machine(tmp_path):
    folder = tmp_path / "bridges"
    init(folder)
    nested = folder / "data" / "city bridges" / "east.nt"
    nested.parent.mkdir()
    nested.write_text(f'<{BASE}/id/b1> <http://schema.org/name> "Bro" .\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["export", "--project", str(folder), "--format", "nquads"])
    assert result.exit_code == 0, result.output
    graphs = {line.rsplit(" ", 2)[-2] for line in result.stdout.splitlines()}
    assert graphs == {f"<{BASE}/graph/data/publisher>", f"<{BASE}/graph/data/city%20bridges/east>"}
    assert str(tmp_path) not in result.stdout and "file:" not in result.stdout
