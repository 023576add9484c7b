"""A project: the folder of one dataset, and what each part of aigraph reads from it.

::

    data/          the RDF served (Turtle, TriG, N-Triples, N-Quads, JSON-LD, RDF/XML), any depth
    ontology/      optional: the project's own ontology, served (graph ``{base}/graph/ontology``),
                   documented at /ontology and declared to validation
    shapes/        optional: SHACL shapes; with none, nothing is validated (and pages say so)
    queries/       optional: named queries, ``*.rq`` (``aigraph.queries``)
    dataset.ttl    the dataset description in DCAT and DCTERMS (``aigraph.describe``)
    aigraph.toml   optional: settings by name (``base``, ``validate``...), and a ``[validation]``
                   table: ``closed_world`` (bool) and ``vocabulary`` (files or folders)

The settings name the project (``Settings.project``, empty: the bundled one) and
``Settings.from_env`` adds the settings its ``aigraph.toml`` states; ``Project.of(settings)`` or
``Project.at(folder)`` reads the rest of the project.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aigraph import content
from aigraph.errors import UsageError
from aigraph.formats import READ_SUFFIXES
from aigraph.settings import Settings

#: The generic closed-world shape (``closed_world``): every class and property used is declared.
CLOSED_WORLD_SHAPES = Path(__file__).resolve().parent / "validation" / "closed_world.ttl"


@dataclass(frozen=True)
class Project:
    """One project folder and the project settings that shape how it is read."""

    root: Path
    closed_world: bool = False
    vocabulary: tuple[str, ...] = ()

    @classmethod
    def of(cls, settings: Settings) -> Project:
        """Return the project ``settings`` name (the bundled one when it names none)."""
        return cls.at(settings.project)

    @classmethod
    def at(cls, folder: str | Path) -> Project:
        """Return the project in ``folder`` (empty: the bundled one), as its files describe it."""
        root = content.project_root(folder)
        table = content.read_settings_file(root).get("validation", {})
        where = root / content.SETTINGS_FILE
        if not isinstance(table, dict) or set(table) - {"closed_world", "vocabulary"}:
            raise UsageError(
                f"{where}: [validation] takes closed_world = true|false and vocabulary = "
                '["file or folder", ...]'
            )
        closed, vocabulary = table.get("closed_world", False), table.get("vocabulary", [])
        if not isinstance(closed, bool):
            raise UsageError(f"{where}: validation.closed_world must be true or false")
        if not isinstance(vocabulary, list) or not all(isinstance(v, str) for v in vocabulary):
            raise UsageError(f"{where}: validation.vocabulary must be a list of paths")
        return cls(root, closed, tuple(vocabulary))

    @classmethod
    def bundled(cls) -> Project:
        """Return the bundled project (the announcement)."""
        return cls.at("")

    @property
    def is_bundled(self) -> bool:
        return self.root == content.content_root()

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def ontology_dir(self) -> Path:
        return self.root / "ontology"

    @property
    def shapes_dir(self) -> Path:
        return self.root / "shapes"

    @property
    def queries_dir(self) -> Path:
        return self.root / "queries"

    @property
    def dataset_file(self) -> Path:
        """The dataset description (DCAT, DCTERMS); it may be missing (the check says so)."""
        return self.root / "dataset.ttl"

    def ontology_files(self) -> tuple[Path, ...]:
        return rdf_files(self.ontology_dir)

    def data_files(self) -> tuple[Path, ...]:
        """Return the files served: the ontology, then the data, each folder in name order."""
        return self.ontology_files() + rdf_files(self.data_dir)

    def vocabulary_files(self) -> tuple[Path, ...]:
        """Return the files ``vocabulary`` names (folders expanded); a missing one is an error."""
        found: list[Path] = []
        for name in self.vocabulary:
            path = self.root / name
            if not path.exists():
                raise UsageError(
                    f"{self.root / content.SETTINGS_FILE}: validation.vocabulary names "
                    f"{name!r}, which is not in the project; name files or folders relative to it"
                )
            found += rdf_files(path) if path.is_dir() else [path]
        return tuple(dict.fromkeys(found))

    def shapes_files(self) -> tuple[Path, ...]:
        """Return the project's shapes: the RDF files of ``shapes/`` not named as vocabulary."""
        vocabulary = {p.resolve() for p in self.vocabulary_files()}
        return tuple(p for p in rdf_files(self.shapes_dir) if p.resolve() not in vocabulary)

    def validation_shapes(self) -> tuple[Path, ...]:
        """Return the shapes validation uses: the project's, and the closed-world shape if on.

        Empty when the project has no shapes: nothing is validated, whatever ``closed_world``.
        """
        shapes = self.shapes_files()
        if shapes and self.closed_world:
            return (*shapes, CLOSED_WORLD_SHAPES)
        return shapes

    def declarations(self) -> tuple[Path, ...]:
        """Return what validation reads as the ontology: the project's ontology and vocabulary."""
        return tuple(dict.fromkeys((*self.ontology_files(), *self.vocabulary_files())))


def rdf_files(path: Path) -> tuple[Path, ...]:
    """Return the RDF files in the folder ``path`` and below, in name order (none: empty)."""
    if not path.is_dir():
        return ()
    return tuple(sorted(p for p in path.rglob("*") if p.suffix.lower() in READ_SUFFIXES))


def project(settings: Settings | None = None) -> Project:
    """Return the project of ``settings`` (default: the settings of the environment)."""
    return Project.of(settings or Settings.from_env())
