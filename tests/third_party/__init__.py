"""Projects built at test time from third-party RDF that ships in installed packages.

Nothing here is copied into the repository: each builder reads the files of a package installed
by the test extras (``pyproject.toml``) and writes a project folder (``data/``, ``shapes/``,
``dataset.ttl``, ``aigraph.toml``) into a temporary directory. The dataset descriptions state
only what the files themselves state (title, version, dates, licence, publisher, creators) or
what is plainly true of the copy (which package and file it comes from).

- Brick: ``Brick.ttl`` of the Brick ontology (``brickschema`` on PyPI, BSD-3-Clause). The file
  holds the ontology and Brick's SHACL shapes (its classes are node shapes), so the project's
  ``shapes/`` is the same file.
- SHACL: the W3C SHACL vocabulary (``shacl.ttl``) and the W3C "SHACL for SHACL" shapes
  (``shacl-shacl.ttl``), as shipped in ``pyshacl`` (W3C Software and Document License).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import shutil
from dataclasses import dataclass
from pathlib import Path

from rdflib import Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS

SDO = "http://schema.org/"
#: A base under a name reserved for tests (RFC 2606): these copies are published nowhere.
BRICK_BASE = "https://brick.aigraph.test"
SHACL_BASE = "https://shacl.aigraph.test"
#: The hash IRI the page tests open.
BRICK_EQUIPMENT = "https://brickschema.org/schema/Brick#Equipment"


def package_dir(name: str) -> Path:
    """Return the folder of an installed package (without importing it)."""
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.origin, f"{name} is not installed: pip install -e '.[test]'"
    return Path(spec.origin).parent


def brick_file(version: str = "1.4") -> Path:
    return package_dir("brickschema") / "ontologies" / version / "Brick.ttl"


@dataclass(frozen=True)
class Built:
    """A project folder and what its tests need to know about it."""

    root: Path
    data: Path
    shapes: Path
    base: str
    title: str


def _literal(text: str) -> str:
    return Literal(text).n3()


def brick_project(folder: Path, version: str = "1.4") -> Built:
    """Write the Brick project (``Brick.ttl`` of ``version``) into ``folder``."""
    source = brick_file(version)
    ontology = Graph().parse(source)
    iri = next(ontology.subjects(RDF.type, OWL.Ontology))
    label = str(ontology.value(iri, RDFS.label))
    release = str(ontology.value(iri, OWL.versionInfo))
    publisher = ontology.value(iri, DCTERMS.publisher)
    publisher_name = str(ontology.value(publisher, URIRef(SDO + "legalName")))
    publisher_page = ontology.value(publisher, URIRef(SDO + "sameAs"))
    creators = list(Collection(ontology, ontology.value(iri, DCTERMS.creator)))
    contact = creators[0]
    contact_name = str(ontology.value(contact, URIRef(SDO + "name")))
    contact_email = str(ontology.value(contact, URIRef(SDO + "email")))
    package = importlib.metadata.version("brickschema")
    # The licence of the package that ships the file, as its metadata names it (BSD-3-Clause).
    licence = str(importlib.metadata.metadata("brickschema")["License-Expression"])
    title = f"{label} {release}"
    description = (
        f"The {label} ontology, release {release}, with its SHACL shapes: the file "
        f"ontologies/{version}/Brick.ttl of the brickschema {package} package."
    )
    dataset = f"""@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix foaf: <http://xmlns.com/foaf/0.1/> .
@prefix vcard: <http://www.w3.org/2006/vcard/ns#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix lang: <http://publications.europa.eu/resource/authority/language/> .

<dataset> a dcat:Dataset ;
    dcterms:title {_literal(title)}@en ;
    dcterms:description {_literal(description)}@en ;
    dcat:keyword "Brick"@en , "ontology"@en , "SHACL"@en ;
    dcterms:language lang:ENG ;
    dcterms:issued "{ontology.value(iri, DCTERMS.issued)}"^^xsd:date ;
    dcterms:license <{ontology.value(iri, DCTERMS.license)}> ;
    dcterms:publisher <catalog#publisher> ;
    dcat:contactPoint <catalog#contact> ;
    dcat:landingPage <{ontology.value(iri, RDFS.seeAlso)}> .

<catalog> a dcat:Catalog ;
    dcterms:title {_literal(f"{label} on aigraph")}@en ;
    dcterms:description {_literal(f"A catalogue of one dataset: {title}.")}@en ;
    dcterms:language lang:ENG .

<service/sparql> a dcat:DataService ;
    dcterms:title {_literal(f"SPARQL endpoint of {title}")}@en .

<catalog#publisher> a foaf:Organization ;
    foaf:name {_literal(publisher_name)}@en ;
    foaf:homepage <{publisher_page}> .

<catalog#contact> a vcard:Individual ;
    vcard:fn {_literal(contact_name)} ;
    vcard:hasEmail <mailto:{contact_email}> .

<{ontology.value(iri, DCTERMS.license)}> a dcterms:LicenseDocument ;
    dcterms:title {_literal(licence)}@en .
"""
    return _write(folder, {"Brick.ttl": source}, {"Brick.ttl": source}, dataset,
                  BRICK_BASE, title)  # fmt: skip


def shacl_project(folder: Path) -> Built:
    """Write the W3C SHACL vocabulary, with the W3C shapes for shapes, into ``folder``."""
    assets = package_dir("pyshacl") / "assets"
    vocabulary = Graph().parse(assets / "shacl.ttl")
    iri = URIRef("http://www.w3.org/ns/shacl#")
    title = str(vocabulary.value(iri, RDFS.label))
    comment = str(vocabulary.value(iri, RDFS.comment))
    package = importlib.metadata.version("pyshacl")
    description = f"{comment} The file shacl.ttl as shipped in pyshacl {package}."
    dataset = f"""@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix foaf: <http://xmlns.com/foaf/0.1/> .
@prefix vcard: <http://www.w3.org/2006/vcard/ns#> .
@prefix lang: <http://publications.europa.eu/resource/authority/language/> .

<dataset> a dcat:Dataset ;
    dcterms:title {_literal(title)}@en ;
    dcterms:description {_literal(description)}@en ;
    dcat:keyword "SHACL"@en , "vocabulary"@en ;
    dcterms:language lang:ENG ;
    dcterms:license <http://www.w3.org/Consortium/Legal/2015/copyright-software-and-document> ;
    dcterms:publisher <catalog#publisher> ;
    dcat:contactPoint <catalog#contact> ;
    dcat:landingPage <https://www.w3.org/TR/shacl/> .

<catalog> a dcat:Catalog ;
    dcterms:title "The W3C SHACL vocabulary on aigraph"@en ;
    dcterms:description {_literal(f"A catalogue of one dataset: {title}.")}@en ;
    dcterms:language lang:ENG .

<service/sparql> a dcat:DataService ;
    dcterms:title "SPARQL endpoint of the W3C SHACL vocabulary"@en .

<catalog#publisher> a foaf:Organization ;
    foaf:name "World Wide Web Consortium (W3C)"@en ;
    foaf:homepage <https://www.w3.org/> .

<catalog#contact> a vcard:Organization ;
    vcard:fn "World Wide Web Consortium (W3C)" ;
    vcard:hasURL <https://www.w3.org/TR/shacl/> .

<http://www.w3.org/Consortium/Legal/2015/copyright-software-and-document>
    a dcterms:LicenseDocument ;
    dcterms:title "W3C Software and Document Notice and License"@en .
"""
    return _write(folder, {"shacl.ttl": assets / "shacl.ttl"},
                  {"shacl-shacl.ttl": assets / "shacl-shacl.ttl"}, dataset, SHACL_BASE, title)  # fmt: skip


def _write(
    folder: Path,
    data: dict[str, Path],
    shapes: dict[str, Path],
    dataset: str,
    base: str,
    title: str,
) -> Built:
    for part, files in (("data", data), ("shapes", shapes)):
        (folder / part).mkdir(parents=True, exist_ok=True)
        for name, source in files.items():
            shutil.copyfile(source, folder / part / name)
    (folder / "dataset.ttl").write_text(dataset, encoding="utf-8")
    (folder / "aigraph.toml").write_text(f'base = "{base}"\n', encoding="utf-8")
    return Built(
        folder,
        folder / "data" / next(iter(data)),
        folder / "shapes" / next(iter(shapes)),
        base,
        title,
    )
