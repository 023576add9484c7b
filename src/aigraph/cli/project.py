"""Projects on the command line: ``--project DIR`` / ``PROJECT_DIR``, and ``aigraph init``.

A project is a folder (``aigraph.project``); every command that reads data takes it. ``init``
writes a small project that serves and validates at once, from values given as options: its
metadata states what the options say and nothing else (no placeholders), so the metadata check
lists what is still missing.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from rdflib import RDF, Literal, URIRef

from aigraph.describe.common import read_metadata
from aigraph.describe.required import MANDATORY, Gap, gaps
from aigraph.errors import AigraphError, UsageError
from aigraph.formats import GRAPH, READ_SUFFIXES
from aigraph.logs import escape as one_line
from aigraph.pages import labels as naming
from aigraph.project import Project, rdf_files
from aigraph.queries import ABSOLUTE_IRI
from aigraph.settings import Settings

if TYPE_CHECKING:  # types only: pySHACL is imported when a command validates
    from aigraph.graph import LoadedData
    from aigraph.validation.validate import Inputs

F = TypeVar("F", bound=Callable[..., Any])

_SETTING_HELP = Settings.help()


def setting_help(name: str) -> str:
    """The help of the option that sets ``name``: the setting's help, default and variable."""
    default, text = _SETTING_HELP[name]
    return f"{text} [default: {default!r}; env AIGRAPH_{name.upper()}]"


def project_option(command: F) -> F:
    """Add ``--project DIR`` to a command (passed as ``project_dir``)."""
    return click.option(
        "--project",
        "project_dir",
        type=click.Path(file_okay=False, path_type=Path),
        help=setting_help("project"),
    )(command)


def is_project(path: Path) -> bool:
    """Tell whether ``path`` is a project folder (it has a ``data/`` folder)."""
    return path.is_dir() and (path / "data").is_dir()


def split_paths(
    project_dir: Path | None, paths: Sequence[Path]
) -> tuple[str | None, tuple[Path, ...]]:
    """Return the project and the data paths: one path that is a project folder is the project."""
    if project_dir is None and len(paths) == 1 and is_project(paths[0]):
        return str(paths[0]), ()
    return (str(project_dir) if project_dir else None), tuple(paths)


def validation_files(
    settings: Settings, inputs: Inputs, extra: Path | None
) -> tuple[list[Path], list[Path] | None]:
    """Return the shapes and the declarations to validate with.

    Shapes given (``--shapes``, or shapes files among the paths) win; else the project's, with
    the project's declarations and any ontology files among the paths.
    """
    given = ([extra] if extra else []) + list(inputs.shapes)
    if given:
        return given, inputs.declarations()
    project = Project.of(settings)
    declarations = list(dict.fromkeys((*project.declarations(), *inputs.ontology)))
    return list(project.validation_shapes()), declarations


def validate_settings(
    project_dir: Path | None, paths: Sequence[Path], lang: str | None
) -> tuple[Settings, tuple[Path, ...]]:
    """Return the settings and data paths of ``aigraph validate``; refuse a project with no data.

    ``Checked 0 files`` would pass in CI: a project whose data/ holds no RDF file is an error.
    """
    named, chosen = split_paths(project_dir, paths)
    settings = Settings.from_env(project=named, data=chosen or None, lang=lang)
    if settings.data or not settings.project:
        return settings, chosen
    project = Project.of(settings)
    if not rdf_files(project.data_dir):
        raise UsageError(
            f"project {one_line(str(project.root))} has no RDF files in data/ "
            f"({' '.join(READ_SUFFIXES)}): nothing to validate"
        )
    return settings, chosen


def not_validated(settings: Settings, data: LoadedData) -> str:
    """The line that says the data was not validated, and why."""
    root = Project.of(settings).root
    return (
        f"not validated: the project {one_line(str(root))} has no shapes/ folder of SHACL shapes "
        f"({len(data.files)} data files read); add shapes, or give --shapes FILE\n"
    )


def metadata_gaps(settings: Settings) -> list[Gap]:
    """Return what the project's dataset description lacks (DCAT-AP)."""
    project = Project.of(settings)
    metadata = read_metadata(project.dataset_file)
    return gaps(metadata, project.dataset_file, email=settings.contact_email)


def echo_gaps(found: Sequence[Gap]) -> None:
    for gap in found:
        click.echo(f"metadata {one_line(str(gap))}", err=True)


@contextmanager
def reported_as(fmt: str) -> Iterator[None]:
    """With ``--format github``, also write an error that stops a command as ``::error``.

    The runner then shows a file that cannot be read on its line, like a result of validation;
    the plain ``error:`` line still follows on stderr.
    """
    try:
        yield
    except AigraphError as exc:
        if fmt == "github":
            from aigraph.validation.report import render_github_error

            click.echo(render_github_error(exc), nl=False)
        raise


def fails_on_metadata(found: Sequence[Gap]) -> bool:
    return any(gap.level == MANDATORY for gap in found)


# -- the commands that read a project's data ---------------------------------------------------


@click.command()
@click.option(
    "--data", "data", multiple=True, type=click.Path(path_type=Path), help=setting_help("data")
)
@click.option("--base", help=setting_help("base"))
@project_option
def info(data: tuple[Path, ...], base: str | None, project_dir: Path | None) -> None:
    """Print a summary of the graph: triples, named graphs, resources per class."""
    from aigraph import graph

    project = str(project_dir) if project_dir else None
    settings = Settings.from_env(project=project, data=data or None, base=base)
    loaded = graph.load(settings)
    dataset = loaded.dataset
    graphs = [g for g in dataset.graphs() if len(g)]
    click.echo(f"files:        {len(loaded.files)}")
    click.echo(f"triples:      {len(dataset)}")
    click.echo(f"named graphs: {len(graphs)}")
    classes = Counter(o for _, _, o, _ in dataset.quads((None, RDF.type, None, None)))
    click.echo("resources per class:")
    for cls, count in sorted(classes.items(), key=lambda kv: (-kv[1], str(kv[0]))):
        click.echo(f"  {count:5d}  {dataset.namespace_manager.normalizeUri(str(cls))}")


@click.command()
@click.option("--format", "fmt", required=True, type=click.Choice([offer.name for offer in GRAPH]))
@click.option(
    "-o", "--output", type=click.Path(path_type=Path), help="File to write (default: stdout)."
)
@click.option("--data", multiple=True, type=click.Path(path_type=Path), help=setting_help("data"))
@click.option("--base", help=setting_help("base"))
@project_option
def export(
    fmt: str,
    output: Path | None,
    data: tuple[Path, ...],
    base: str | None,
    project_dir: Path | None,
) -> None:
    """Write the whole graph in one format, deterministically (byte-identical for the same data)."""
    from aigraph import graph
    from aigraph.export import export as run_export

    project = str(project_dir) if project_dir else None
    settings = Settings.from_env(
        project=project, data=tuple(str(p) for p in data) or None, base=base
    )
    body = run_export(graph.load(settings).dataset, fmt)
    if output:
        output.write_bytes(body)
    else:
        sys.stdout.buffer.write(body)
        sys.stdout.buffer.flush()


# -- aigraph init ------------------------------------------------------------------------------


@click.command("init")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--title", required=True, help="Title of the dataset (and of its catalogue).")
@click.option("--description", required=True, help="What the dataset is, in a sentence or two.")
@click.option("--publisher", required=True, help="Name of the organisation that publishes it.")
@click.option(
    "--base",
    required=True,
    help="IRI under which the data names its resources (e.g. https://data.example.se/myset).",
)
@click.option("--lang", default="en", show_default=True, help="Language tag of the texts.")
@click.option(
    "--publisher-type",
    metavar="TYPE",
    help="ADMS publisher type, e.g. NationalAuthority, NonProfitOrganisation, Company.",
)
@click.option("--contact-name", help="Name of the contact point (a person or a function).")
@click.option("--contact-email", help="E-mail of the contact point.")
@click.option("--licence", "licence", metavar="IRI", help="Licence of the data (an IRI).")
@click.option("--keyword", "keywords", multiple=True, help="A keyword (repeatable).")
def init(folder: Path, **given: Any) -> None:
    """Write a small working project to FOLDER: data, shapes, a named query and metadata.

    The metadata states what the options give; `aigraph validate FOLDER` lists what DCAT-AP
    still recommends. Then: `aigraph serve FOLDER`.
    """
    if folder.exists() and any(folder.iterdir()):
        raise UsageError(f"{folder} is not empty: give a new or empty folder")
    values = check_init_values({k: v for k, v in given.items() if v})
    files = scaffold(values)
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    click.echo(f"wrote a project to {folder}: {', '.join(sorted(files))}")
    echo_gaps(gaps(read_metadata(folder / "dataset.ttl"), folder / "dataset.ttl"))
    click.echo(f"next: aigraph validate {folder}   then: aigraph serve {folder}")
    sys.stdout.flush()


#: A language tag (BCP 47: letters, then subtags of letters and digits).
_LANG_TAG = re.compile(r"[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*\Z")
#: An e-mail address that makes a ``mailto:`` IRI as it is (no space, quote or angle bracket).
_EMAIL = re.compile(r"[^\s@<>\"{}|^`\\]+@[^\s@<>\"{}|^`\\]+\Z")
#: An ADMS publisher type: one word of the vocabulary (NationalAuthority, Company...).
_PUBLISHER_TYPE = re.compile(r"[A-Za-z][A-Za-z0-9]*\Z")


def check_init_values(values: dict[str, Any]) -> dict[str, Any]:
    """Return the values of ``aigraph init`` checked (base without its last ``/``).

    IRIs must be http(s) (pages link to them), the e-mail an address that makes a ``mailto:``
    IRI; a bad value is a usage error that names the option and what it takes.
    """
    base = str(values["base"]).rstrip("/")
    for option, value in (("--base", base), ("--licence", values.get("licence"))):
        if value is not None and not (naming.outbound(value) and ABSOLUTE_IRI.match(value)):
            raise UsageError(f"{option} must be an http(s) IRI, got {value!r}")
    checks = (
        ("lang", "--lang", _LANG_TAG, "a language tag such as en, sv or pt-BR"),
        ("contact_email", "--contact-email", _EMAIL, "an e-mail address such as data@example.se"),
        ("publisher_type", "--publisher-type", _PUBLISHER_TYPE, "one word of the ADMS "
         "publisher types, such as NationalAuthority or Company"),
    )  # fmt: skip
    for key, option, pattern, what in checks:
        if key in values and not pattern.match(str(values[key])):
            raise UsageError(f"{option} must be {what}, got {values[key]!r}")
    return {**values, "base": base}


def scaffold(values: dict[str, Any]) -> dict[str, str]:
    """Return the files of a new project (name to text) stating ``values`` and nothing else."""
    lang, base = values["lang"], values["base"]

    def text(value: str) -> str:
        return Literal(value, lang=lang).n3()

    publisher = URIRef(f"{base}/id/publisher").n3()
    data = (
        "@prefix schema: <http://schema.org/> .\n\n"
        "# The data of the project: replace or extend it (any RDF file in data/ is served).\n"
        "# To start with, the one fact the project was made with: who publishes it.\n\n"
        f"{publisher} a schema:Organization ;\n    schema:name {text(values['publisher'])} .\n"
    )
    return {
        "aigraph.toml": _settings_file(base),
        "data/publisher.ttl": data,
        "shapes/shapes.ttl": _SHAPES,
        "queries/organisations.rq": _QUERY,
        "dataset.ttl": _dataset_file(values, text),
    }


def _settings_file(base: str) -> str:
    return (
        "# Settings of this project: any aigraph setting by its README name (the environment\n"
        "# and command-line options override them).\n"
        f"base = {_toml_string(base)}\n\n"
        "[validation]\n"
        "# true: every class and property the data uses must be declared by ontology/ or by\n"
        "# the files named in vocabulary (rdfs:isDefinedBy, or typed as a class or property).\n"
        "closed_world = false\n"
        "vocabulary = []\n"
    )


def _toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _dataset_file(values: dict[str, Any], text: Callable[[str], str]) -> str:
    lines = [
        "@prefix dcat: <http://www.w3.org/ns/dcat#> .",
        "@prefix dcterms: <http://purl.org/dc/terms/> .",
        "@prefix foaf: <http://xmlns.com/foaf/0.1/> .",
        "@prefix vcard: <http://www.w3.org/2006/vcard/ns#> .",
        "",
        "# The description of the dataset (DCAT-AP): aigraph adds what it computes from the data",
        "# (counts, dumps, dates, URLs). Relative IRIs name the parts of the description.",
        "",
        "<dataset> a dcat:Dataset ;",
        f"    dcterms:title {text(values['title'])} ;",
        f"    dcterms:description {text(values['description'])} ;",
    ]
    if values.get("keywords"):
        words = " , ".join(text(k) for k in values["keywords"])
        lines.append(f"    dcat:keyword {words} ;")
    if values.get("licence"):
        lines.append(f"    dcterms:license {URIRef(values['licence']).n3()} ;")
    if values.get("contact_name") or values.get("contact_email"):
        lines.append("    dcat:contactPoint <catalog#contact> ;")
    lines += ["    dcterms:publisher <catalog#publisher> .", ""]
    lines += [
        "<catalog> a dcat:Catalog ;",
        f"    dcterms:title {text(values['title'])} ;",
        f"    dcterms:description {text(values['description'])} .",
        "",
        "<service/sparql> a dcat:DataService ;",
        f"    dcterms:title {text('SPARQL: ' + values['title'])} .",
        "",
        "<catalog#publisher> a foaf:Organization ;",
    ]
    if values.get("publisher_type"):
        kind = URIRef(f"http://purl.org/adms/publishertype/{values['publisher_type']}")
        lines.append(f"    dcterms:type {kind.n3()} ;")
    lines += [f"    foaf:name {text(values['publisher'])} .", ""]
    if values.get("contact_name") or values.get("contact_email"):
        contact = ["<catalog#contact> a vcard:Organization"]
        if values.get("contact_name"):
            contact.append(f"vcard:fn {Literal(values['contact_name']).n3()}")
        if values.get("contact_email"):
            contact.append(f"vcard:hasEmail {URIRef('mailto:' + values['contact_email']).n3()}")
        lines += [" ;\n    ".join(contact) + " .", ""]
    return "\n".join(lines)


_SHAPES = """@prefix schema: <http://schema.org/> .
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix ex: <urn:aigraph:project-shapes#> .

# The SHACL shapes the data must meet: `aigraph validate` and `aigraph serve` check them.

ex:OrganisationShape a sh:NodeShape ;
    sh:targetClass schema:Organization ;
    sh:property [
        sh:path schema:name ;
        sh:minCount 1 ;
        sh:message "An organisation needs a name (schema:name)"@en ,
            "En organisation behöver ett namn (schema:name)"@sv
    ] .
"""

_QUERY = """# title: Organisations
# description: Every organisation in the data, with its name.
PREFIX schema: <http://schema.org/>
SELECT ?organisation ?name WHERE {
  ?organisation a schema:Organization ;
                schema:name ?name .
}
ORDER BY ?name
"""
