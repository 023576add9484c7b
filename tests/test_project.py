"""A project folder of someone else's data: served, described, queried and validated as its own.

The project here is small and made up for the test (museums of a made-up municipality): its
data, ontology, shapes, named query, dataset description and settings. Nothing of the bundled
announcement may show through.
"""

from __future__ import annotations

import json
import shutil
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, VOID

from aigraph import graph
from aigraph.cli import cli
from aigraph.core import Aigraph
from aigraph.errors import NotConforming
from aigraph.pages import vocabulary
from aigraph.project import Project
from aigraph.settings import Settings
from aigraph.web import create_app
from conftest import LiveServer

BASE = "https://data.example.se/museums"

FILES = {
    "aigraph.toml": f"""
base = "{BASE}"
max_rows = 500

[validation]
closed_world = true
vocabulary = ["vocabulary"]
""",
    "data/museums.ttl": f"""
@prefix mus: <{BASE}/ontology#> .
@prefix schema: <http://schema.org/> .
<{BASE}/id/stadsmuseet> a mus:Museum ; schema:name "Stadsmuseet"@sv, "The City Museum"@en .
<{BASE}/id/konsthallen> a mus:Museum ; schema:name "Konsthallen"@sv .
""",
    "ontology/museums.ttl": f"""
@prefix mus: <{BASE}/ontology#> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
<{BASE}/ontology> a owl:Ontology ; rdfs:label "Museum ontology"@en .
mus:Museum a owl:Class ; rdfs:label "Museum"@en, "Museum"@sv ;
    rdfs:isDefinedBy <{BASE}/ontology> .
""",
    "vocabulary/reused.ttl": """
@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix schema: <http://schema.org/> .
schema:name a rdf:Property ; rdfs:label "name"@en .
rdf:type a rdf:Property ; rdfs:label "type"@en .
rdfs:label a rdf:Property ; rdfs:label "label"@en .
rdfs:isDefinedBy a rdf:Property ; rdfs:label "is defined by"@en .
owl:Class a rdfs:Class ; rdfs:label "Class"@en .
owl:Ontology a rdfs:Class ; rdfs:label "Ontology"@en .
rdfs:Class a rdfs:Class ; rdfs:label "Class"@en .
rdf:Property a rdfs:Class ; rdfs:label "Property"@en .
""",
    "shapes/museums.ttl": f"""
@prefix mus: <{BASE}/ontology#> .
@prefix schema: <http://schema.org/> .
@prefix sh: <http://www.w3.org/ns/shacl#> .
mus:MuseumShape a sh:NodeShape ;
    sh:targetClass mus:Museum ;
    sh:property [ sh:path schema:name ; sh:minCount 1 ;
                  sh:message "A museum needs a name"@en , "Ett museum behöver ett namn"@sv ] .
""",
    "queries/museums.rq": """# title: Museums
# description: Every museum and its names.
PREFIX schema: <http://schema.org/>
SELECT ?museum ?name WHERE { ?museum schema:name ?name } ORDER BY ?name
""",
    "dataset.ttl": """
@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix foaf: <http://xmlns.com/foaf/0.1/> .
@prefix adms: <http://purl.org/adms/publishertype/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
<dataset> a dcat:Dataset ;
    dcterms:title "Kommunens museer"@sv , "The municipality's museums"@en ;
    dcterms:description "Museer i kommunen."@sv , "Museums of the municipality."@en ;
    dcat:keyword "museer"@sv , "museums"@en ;
    dcterms:license <http://creativecommons.org/publicdomain/zero/1.0/> ;
    dcterms:issued "2025-03-01"^^xsd:date ;
    dcterms:temporal [ dcat:startDate "1990-01-01"^^xsd:date ; dcat:endDate "2025-12-31"^^xsd:date ] ;
    dcterms:publisher <catalog#publisher> .
<catalog> a dcat:Catalog ;
    dcterms:title "Kommunens datakatalog"@sv , "The municipality's data catalogue"@en ;
    dcterms:description "Öppna data från kommunen."@sv , "Open data of the municipality."@en .
<service/sparql> a dcat:DataService ;
    dcterms:title "Museernas SPARQL-ändpunkt"@sv , "SPARQL endpoint of the museums"@en .
<catalog#publisher> a foaf:Organization ;
    foaf:name "Exempelkommunen"@sv ;
    dcterms:type adms:LocalAuthority .
""",
}


def write_project(folder: Path, files: dict[str, str] = FILES) -> Path:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.lstrip(), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_project(tmp_path_factory.mktemp("museums"))


@pytest.fixture(scope="module")
def server(project: Path) -> Iterator[LiveServer]:
    served = LiveServer(str(project))
    yield served
    served.stop()


def get(url: str, accept: str = "*/*") -> bytes:
    request = urllib.request.Request(url, headers={"Accept": accept})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.read()


def test_the_landing_page_shows_the_projects_words_and_what_its_description_lacks(server):
    page = get(server.url + "/?lang=en", "text/html").decode()
    assert "The municipality&#39;s museums" in page and "Museums of the municipality." in page
    assert "Vinnova" not in page and "AI Innovation" not in page
    assert "contactPoint is missing" in page  # recommended, and listed
    assert "not validated" not in page  # it has shapes, and was validated
    swedish = get(server.url + "/?lang=sv", "text/html").decode()
    assert "Kommunens museer" in swedish
    schema = json.loads(swedish.split('type="application/ld+json">', 1)[1].split("</script>")[0])
    assert {"@language": "en", "@value": "The municipality's museums"} in schema["name"]
    assert schema["publisher"]["name"] == "Exempelkommunen"
    assert schema["license"] == "http://creativecommons.org/publicdomain/zero/1.0/"
    assert "spatialCoverage" not in schema  # the project states none: none is made up
    assert schema["temporalCoverage"] == "1990-01-01/2025-12-31"


def test_the_catalogue_void_and_service_description_merge_its_words_with_live_statistics(server):
    catalog = Graph().parse(data=get(server.url + "/catalog.ttl"), format="turtle")
    dataset = URIRef(f"{BASE}/dataset")
    assert Literal("The municipality's museums", lang="en") in set(
        catalog.objects(dataset, DCTERMS.title)
    )
    assert Literal("Exempelkommunen", lang="sv") in set(catalog.objects(None, FOAF.name))
    assert (URIRef(f"{BASE}/catalog"), DCAT.dataset, dataset) in catalog
    assert not list(catalog.objects(None, DCAT.contactPoint))  # none stated, none invented
    assert [str(d) for d in catalog.objects(dataset, DCTERMS.issued)] == ["2025-03-01"]
    [period] = catalog.objects(dataset, DCTERMS.temporal)
    assert str(catalog.value(period, DCAT.startDate)) == "1990-01-01"
    assert str(catalog.value(period, DCAT.endDate)) == "2025-12-31"
    void = Graph().parse(data=get(server.url + "/.well-known/void"), format="turtle")
    assert Literal("Museums of the municipality.", lang="en") in set(
        void.objects(dataset, DCTERMS.description)
    )
    live = get(
        server.url + "/sparql?format=json&query=" + "SELECT%20(COUNT(*)%20AS%20?n)%20{?s%20?p%20?o}"
    )
    triples = int(json.loads(live)["results"]["bindings"][0]["n"]["value"])
    assert Literal(triples) in set(void.objects(dataset, VOID.triples))
    service = get(server.url + "/sparql", "text/turtle").decode()
    assert f"<{BASE}/dataset>" in service and "Vinnova" not in service


def test_the_projects_named_query_runs_and_only_its_queries_are_listed(server):
    listed = json.loads(get(server.url + "/queries", "application/json"))
    names = {q["name"] for q in (listed["queries"] if isinstance(listed, dict) else listed)}
    assert names == {"museums"}
    answer = json.loads(get(server.url + "/queries/museums?format=json"))
    assert {b["name"]["value"] for b in answer["results"]["bindings"]} == {
        "Stadsmuseet",
        "The City Museum",
        "Konsthallen",
    }


def test_the_shapes_pages_are_the_projects_shapes_and_the_closed_world_shape(server):
    turtle = get(server.url + "/shapes.ttl").decode()
    assert "A museum needs a name" in turtle and "Undefined property" in turtle
    assert "aigsh:GrantShape" not in turtle
    assert "MuseumShape" in get(server.url + "/shapes?lang=en", "text/html").decode()


def test_the_ontology_page_is_the_projects_ontology(server):
    page = get(server.url + "/ontology?lang=en", "text/html").decode()
    assert "Museum ontology" in page and 'id="Museum"' in page
    assert "aig:" not in page  # the prefixes are the project's, none of the announcement's


def test_an_ontology_in_another_namespace_is_documented():
    dataset = graph.new_dataset()
    dataset.graph(URIRef(f"{BASE}/graph/ontology")).parse(
        data="""@prefix owl: <http://www.w3.org/2002/07/owl#> .
        @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
        <http://example.org/zoo> a owl:Ontology ; rdfs:label "Zoo"@en .
        <http://example.org/zoo#Animal> a owl:Class ; rdfs:label "Animal"@en .
        <http://example.org/other/Keeper> a owl:Class ; rdfs:isDefinedBy <http://example.org/zoo> .
        <http://example.org/unrelated> rdfs:label "not a term of it"@en .""",
        format="turtle",
    )
    page = vocabulary.ontology_model(dataset, BASE, "en")
    assert page.iri == "http://example.org/zoo" and page.labels == {"en": "Zoo"}
    assert [t.iri for t in page.classes] == [
        "http://example.org/other/Keeper",
        "http://example.org/zoo#Animal",
    ]
    assert [t.anchor for t in page.classes] == ["example.org-other-Keeper", "Animal"]


def test_serve_logs_what_the_metadata_lacks_and_stats_say_it(server):
    assert "metadata recommended: dcat:Dataset dcat:contactPoint is missing" in server.output
    stats = json.loads(get(server.url + "/stats", "application/json"))
    assert stats["validated"] is True
    assert any("dcat:contactPoint is missing" in gap for gap in stats["metadata_missing"])


def test_validate_with_the_projects_shapes_finds_a_violation(project, tmp_path):
    runner = CliRunner()
    result = runner.invoke(cli, ["validate", str(project)])
    assert result.exit_code == 0, result.output
    assert "dcat:contactPoint is missing" in result.stderr
    broken = shutil.copytree(project, tmp_path / "broken")
    (broken / "data" / "nameless.ttl").write_text(
        f"<{BASE}/id/nameless> a <{BASE}/ontology#Museum> .\n", encoding="utf-8"
    )
    result = runner.invoke(cli, ["validate", "--project", str(broken), "--format", "json"])
    assert result.exit_code == 1, result.output
    messages = [r["message"] for r in json.loads(result.stdout)["results"]]
    assert messages == ["A museum needs a name"]
    with pytest.raises(NotConforming, match="A museum needs a name"):
        Aigraph.open(Settings.from_env({}, project=str(broken)))


def test_the_closed_world_check_uses_the_projects_vocabulary(project, tmp_path):
    typo = shutil.copytree(project, tmp_path / "typo")
    (typo / "data" / "typo.ttl").write_text(
        f'<{BASE}/id/stadsmuseet> <http://schema.org/nmae> "Typo"@sv .\n', encoding="utf-8"
    )
    result = CliRunner().invoke(cli, ["validate", str(typo), "--format", "json"])
    assert result.exit_code == 1, result.output
    [found] = json.loads(result.stdout)["results"]
    assert found["message"].startswith("Undefined property") and "nmae" in found["message"]
    settings = typo / "aigraph.toml"
    settings.write_text(settings.read_text().replace("closed_world = true", "closed_world = false"))
    assert CliRunner().invoke(cli, ["validate", str(typo)]).exit_code == 0


def test_a_project_without_shapes_is_served_unvalidated_and_says_so(project, tmp_path):
    bare = shutil.copytree(project, tmp_path / "bare")
    shutil.rmtree(bare / "shapes")
    (bare / "data" / "nameless.ttl").write_text(
        f"<{BASE}/id/nameless> a <{BASE}/ontology#Museum> .\n", encoding="utf-8"
    )
    result = CliRunner().invoke(cli, ["validate", str(bare)])
    assert result.exit_code == 0, result.output
    assert "not validated" in result.stderr and "no shapes/" in result.stderr
    core = Aigraph.open(Settings.from_env({}, project=str(bare), executors=1))
    try:
        assert not core.validated and core.project.validation_shapes() == ()
        page = create_app(core=core).test_client().get("/?lang=en").get_data(as_text=True)
        assert "This data is not validated" in page
    finally:
        core.close()


def test_missing_metadata_is_listed_and_can_fail_validate(project, tmp_path):
    plain = shutil.copytree(project, tmp_path / "plain")
    (plain / "dataset.ttl").unlink()
    result = CliRunner().invoke(cli, ["validate", str(plain)])
    assert result.exit_code == 0, result.output  # the data conforms; metadata is not data
    core = Aigraph.open(Settings.from_env({}, project=str(plain), executors=1))
    try:
        page = create_app(core=core).test_client().get("/?lang=en").get_data(as_text=True)
        assert "<h1>A dataset without a title</h1>" in page and "there is no dataset.ttl" in page
    finally:
        core.close()
    assert "there is no " in result.stderr and "dataset.ttl" in result.stderr
    strict = CliRunner().invoke(cli, ["validate", str(plain), "--require-metadata"])
    assert strict.exit_code == 1
    only_english = FILES["dataset.ttl"].replace('"Kommunens datakatalog"@sv ,', "")
    (plain / "dataset.ttl").write_text(only_english, encoding="utf-8")
    strict = CliRunner().invoke(cli, ["validate", str(plain), "--require-metadata"])
    assert strict.exit_code == 0, strict.output  # mandatory parts all there (a title in English)


def test_the_projects_settings_apply_and_others_are_refused(project, tmp_path):
    settings = Settings.from_env({}, project=str(project))
    assert settings.base == BASE and settings.max_rows == 500
    assert Settings.from_env({"AIGRAPH_MAX_ROWS": "7"}, project=str(project)).max_rows == 7
    bad = shutil.copytree(project, tmp_path / "bad")
    (bad / "aigraph.toml").write_text('base = "x"\nmax_rowz = 3\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["info", "--project", str(bad)])
    assert result.exit_code == 2 and "unknown setting(s) max_rowz" in result.output
    (bad / "aigraph.toml").write_text("port = 80\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["info", "--project", str(bad)])
    assert result.exit_code == 2 and "port cannot be set by a project" in result.output


def test_a_folder_that_is_no_project_is_a_clear_error(tmp_path):
    result = CliRunner().invoke(cli, ["serve", str(tmp_path / "nowhere")])
    assert result.exit_code == 2 and "is not a folder" in result.output
    result = CliRunner().invoke(cli, ["query", "museums", "--project", str(tmp_path)])
    assert result.exit_code == 2 and "has no data/ folder" in result.output


def test_query_info_and_export_read_the_project(project):
    runner = CliRunner()
    result = runner.invoke(cli, ["query", "museums", "--project", str(project), "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert "Konsthallen" in result.output and "Stadsmuseet" in result.output
    info = runner.invoke(cli, ["info", "--project", str(project)])
    assert info.exit_code == 0 and "files:        2" in info.output  # ontology/ and data/
    export = runner.invoke(cli, ["export", "--format", "nt", "--project", str(project)])
    assert f"<{BASE}/id/konsthallen>" in export.output


def test_the_bundled_project_is_the_default():
    assert Project.of(Settings()).is_bundled
    bundled = Project.bundled()
    assert bundled.closed_world and [p.name for p in bundled.shapes_files()] == ["shapes.ttl"]
    assert {p.name for p in bundled.declarations()} == {"aigraph.ttl", "vocabularies.ttl"}


def test_load_reads_the_projects_files_into_a_store_that_serves_them(project, tmp_path):
    store = tmp_path / "store"
    result = CliRunner().invoke(cli, ["load", "--store", str(store), "--project", str(project)])
    assert result.exit_code == 0, result.output
    settings = Settings.from_env({}, project=str(project), store=str(store), executors=1)
    core = Aigraph.open(settings)
    try:
        names = {str(row["name"]) for row in core.run_named("museums").rows}
        assert names == {"Stadsmuseet", "The City Museum", "Konsthallen"}
        assert core.metadata.title["en"] == "The municipality's museums"
    finally:
        core.close()
