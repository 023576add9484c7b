"""`aigraph init`: a new project that validates and serves at once, with no placeholder in it."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

from click.testing import CliRunner
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF

from aigraph.cli import cli
from aigraph.core import Aigraph
from aigraph.describe.common import VCARD, read_metadata
from aigraph.describe.required import MANDATORY, gaps
from aigraph.settings import Settings
from aigraph.web import create_app
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


def test_init_refuses_values_that_make_no_iri_or_no_turtle(tmp_path):
    for option, value, says in [
        ("--licence", "javascript:alert(4)", "--licence must be an http(s) IRI"),
        ("--licence", "mailto:x@example.se", "--licence must be an http(s) IRI"),
        ("--contact-email", "a b@c", "--contact-email must be an e-mail address"),
        ("--contact-email", "a@b>c", "--contact-email must be an e-mail address"),
        ("--lang", 'en"x', "--lang must be a language tag"),
        ("--publisher-type", "Foo>Bar", "--publisher-type must be one word of the ADMS"),
    ]:
        folder = tmp_path / "new"
        result = CliRunner().invoke(cli, ["init", str(folder), *ARGS, option, value])
        assert result.exit_code == 2, (option, value, result.output)
        assert result.exception is None or isinstance(result.exception, SystemExit)
        assert says in result.stderr and repr(value) in result.stderr
        assert not folder.exists()


def test_pages_link_out_to_a_licence_only_over_http(tmp_path):
    folder = tmp_path / "bridges"
    init(folder, "--licence", "https://creativecommons.org/licenses/by/4.0/")
    described = folder / "dataset.ttl"
    text = described.read_text(encoding="utf-8")
    described.write_text(
        text.replace("https://creativecommons.org/licenses/by/4.0/", "javascript:alert(4)"),
        encoding="utf-8",
    )
    core = Aigraph.open(Settings.from_env({}, project=str(folder), executors=1))
    try:
        client = create_app(core=core).test_client()
        for path in ("/?lang=en", "/catalog?lang=en"):
            page = client.get(path).get_data(as_text=True)
            assert "javascript:alert(4)" in page  # shown as text...
            assert 'href="javascript:' not in page and 'rel="license"' not in page  # ...not linked
    finally:
        core.close()


def test_a_malformed_dataset_description_is_named_by_file_and_line(tmp_path):
    folder = tmp_path / "bridges"
    init(folder)
    described = folder / "dataset.ttl"
    described.write_bytes(b'<dataset> a <http://www.w3.org/ns/dcat#Dataset ;\n::error::x> "y" .\n')
    # In a process of its own: what rdflib logs about the broken IRI reaches stderr as it would.
    done = subprocess.run(
        [sys.executable, "-m", "aigraph", "validate", str(folder)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert f"error: {described}:1: cannot read the dataset description: bad syntax:" in done.stderr
    assert "b'" not in done.stderr and "Traceback" not in done.stderr
    assert not [line for line in done.stderr.splitlines() if line.startswith("::")], done.stderr
    described.write_bytes(b'<dataset> a <http://www.w3.org/ns/dcat#Dataset> ;\n  <t> "\xff" .\n')
    result = CliRunner().invoke(cli, ["validate", str(folder)])
    assert result.exit_code == 2
    assert f"{described}:2: cannot read the dataset description: not valid UTF-8" in result.stderr
