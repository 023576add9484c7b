"""The ontology and the shapes as documentation page models (no web framework).

The ontology page lists every class and property with its labels and definitions in both
languages, its super-terms in the standard vocabularies and where the data uses it; the shapes
page is a data contract for editors: per kind of resource, what is required, in what form, and
the messages in both languages.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import BNode, Dataset, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SH, SKOS
from rdflib.term import Node

from aigraph.describe.common import slug
from aigraph.formats import READ_SUFFIXES
from aigraph.pages.resource import Term, View, graph_id, graph_iri, ontology_document, sorted_terms

# -- the ontology -------------------------------------------------------------------------------


@dataclass(frozen=True)
class OntologyTerm:
    """One term of the ontology as documented: labels, definitions, relations, use in the data."""

    anchor: str
    iri: str
    curie: str
    kind: str  # class | property | concept
    types: tuple[Term, ...]
    labels: dict[str, str]
    definitions: dict[str, str]
    relations: tuple[tuple[str, tuple[Term, ...]], ...]
    uses: int
    examples: tuple[Term, ...]


@dataclass(frozen=True)
class OntologyPage:
    iri: str
    labels: dict[str, str]
    descriptions: dict[str, str]
    version: str | None
    version_iri: Term | None
    license: Term | None
    prefix: str | None
    namespace: str
    classes: tuple[OntologyTerm, ...]
    properties: tuple[OntologyTerm, ...]
    concepts: tuple[OntologyTerm, ...]
    terms: tuple[OntologyTerm, ...] = field(default=())


#: Relations shown for each term, by the key of their caption in the pages' strings table.
_RELATIONS = (
    ("subclass_of", RDFS.subClassOf), ("subproperty_of", RDFS.subPropertyOf),
    ("inverse_of", OWL.inverseOf), ("domain", RDFS.domain), ("range", RDFS.range),
    ("in_scheme", SKOS.inScheme),
)  # fmt: skip


def ontology_model(
    dataset: Dataset, base: str, lang: str, prefixes: Mapping[str, str] | None = None
) -> OntologyPage:
    """Document the ontology: every term with labels, definitions, relations and use.

    ``prefixes`` are the data's own, for the prefixed names of the terms.
    """
    view = View(dataset, base, lang, prefixes)
    document = ontology_document(dataset, base)
    iri = _ontology_iri(document, view.base)
    namespace = _namespace(document, iri)
    usage = _Usage(dataset, graph_iri(base, "ontology"))
    own = {
        s
        for s in document.subjects()
        if isinstance(s, URIRef)
        and s != iri
        and (s.startswith(namespace) or (s, RDFS.isDefinedBy, iri) in document)
    }
    terms = [_ontology_term(view, document, usage, s, namespace) for s in sorted(own, key=str)]

    def texts(prop: URIRef) -> dict[str, str]:
        return _texts(document, iri, prop)

    version_iri = document.value(iri, OWL.versionIRI)
    license_ = document.value(iri, DCTERMS.license)
    prefix = document.value(iri, URIRef("http://purl.org/vocab/vann/preferredNamespacePrefix"))
    return OntologyPage(
        iri=str(iri),
        labels=texts(DCTERMS.title) or texts(RDFS.label),
        descriptions=texts(DCTERMS.description),
        version=str(document.value(iri, OWL.versionInfo) or "") or None,
        version_iri=view.term(version_iri) if version_iri is not None else None,
        license=view.term(license_) if license_ is not None else None,
        prefix=str(prefix) if prefix else None,
        namespace=namespace,
        classes=tuple(t for t in terms if t.kind == "class"),
        properties=tuple(t for t in terms if t.kind == "property"),
        concepts=tuple(t for t in terms if t.kind == "concept"),
        terms=tuple(terms),
    )


def _ontology_iri(document: Graph, base: str) -> URIRef:
    """The ontology the project's ``ontology/`` declares: ``{base}/ontology`` if it declares
    that one (or none), else the one ``owl:Ontology`` it declares (the first, if several)."""
    ours = URIRef(f"{base}/ontology")
    declared = sorted(o for o in document.subjects(RDF.type, OWL.Ontology) if isinstance(o, URIRef))
    return ours if ours in declared or not declared else declared[0]


def _namespace(document: Graph, iri: URIRef) -> str:
    """The namespace of the ontology's terms: its ``vann:preferredNamespaceUri``, else the IRI
    followed by ``#`` (or the IRI itself when it already ends in ``#`` or ``/``)."""
    stated = document.value(iri, URIRef("http://purl.org/vocab/vann/preferredNamespaceUri"))
    if stated is not None:
        return str(stated)
    return str(iri) if str(iri).endswith(("#", "/")) else f"{iri}#"


class _Usage:
    """Count uses of terms in the data outside the ontology graph."""

    def __init__(self, dataset: Dataset, ontology_graph: URIRef) -> None:
        self.quads = [
            (s, p, o) for s, p, o, g in dataset.quads((None, None, None, None))
            if graph_id(g) != ontology_graph
        ]  # fmt: skip

    def of(self, term: URIRef, kind: str) -> tuple[int, list[URIRef]]:
        if kind == "class":
            found = [(s, p, o) for s, p, o in self.quads if p == RDF.type and o == term]
        elif kind == "property":
            found = [(s, p, o) for s, p, o in self.quads if p == term]
        else:
            found = [(s, p, o) for s, p, o in self.quads if o == term]
        subjects = sorted({s for s, _, _ in found if isinstance(s, URIRef)}, key=str)
        return len(found), subjects


def _kind(types: set[Node]) -> str:
    if types & {OWL.Class, RDFS.Class}:
        return "class"
    if types & {OWL.ObjectProperty, OWL.DatatypeProperty, RDF.Property, OWL.AnnotationProperty}:
        return "property"
    return "concept"


def _ontology_term(
    view: View, document: Graph, usage: _Usage, subject: URIRef, namespace: str
) -> OntologyTerm:
    types = set(document.objects(subject, RDF.type))
    kind = _kind(types)
    relations = tuple(
        (key, sorted_terms(view.term(o) for o in document.objects(subject, prop)))
        for key, prop in _RELATIONS
        if (subject, prop, None) in document
    )
    uses, examples = usage.of(subject, kind)
    local = str(subject)[len(namespace) :] if subject.startswith(namespace) else ""
    return OntologyTerm(
        anchor=local or slug(str(subject)),
        iri=str(subject),
        curie=view.curie(str(subject)) or str(subject),
        kind=kind,
        types=sorted_terms(view.term(t) for t in types),
        labels=_texts(document, subject, RDFS.label),
        definitions=_texts(document, subject, SKOS.definition),
        relations=relations,
        uses=uses,
        examples=tuple(view.term(s) for s in examples[:4]),
    )


# -- the shapes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """One property shape or SPARQL constraint: what it checks and what it says when it fails."""

    path: str | None
    constraints: tuple[tuple[str, Term], ...]
    required: bool
    messages: dict[str, str]
    query: str | None = None


@dataclass(frozen=True)
class ShapeDoc:
    anchor: str
    iri: str
    labels: dict[str, str]
    targets: tuple[tuple[str, Term], ...]
    rules: tuple[Rule, ...]


@dataclass(frozen=True)
class ShapesPage:
    labels: dict[str, str]
    shapes: tuple[ShapeDoc, ...]


#: Constraint parameters shown for property shapes, in this order.
_PARAMETERS = (
    SH.minCount, SH.maxCount, SH.datatype, SH["class"], SH.nodeKind, SH.node, SH.pattern,
    SH.flags, SH.minLength, SH.maxLength, SH.minExclusive, SH.minInclusive, SH.maxExclusive,
    SH.maxInclusive, SH.lessThan, SH.lessThanOrEquals, SH.equals, SH.disjoint, SH.hasValue,
    SH["in"], SH.languageIn, SH.uniqueLang,
)  # fmt: skip
_TARGETS = (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf)


def shapes_turtle(paths: Sequence[Path]) -> bytes | None:
    """Return the Turtle shapes files ``paths`` one after the other, with their comments.

    Turtle may declare a prefix again, so the files read as one document; None when that could
    change their meaning (another format, or blank-node labels that two files could share).
    """
    turtle = [READ_SUFFIXES.get(p.suffix.lower()) for p in paths]
    if not paths or any(offer is None or offer.name != "turtle" for offer in turtle):
        return None
    texts = [p.read_bytes() for p in paths]
    if len(texts) > 1 and any(b"_:" in text for text in texts):
        return None
    return b"\n".join(texts)


def load_shapes(paths: Sequence[Path]) -> Graph:
    """Return the shapes of the files ``paths`` (a project's ``validation_shapes``) as one graph."""
    graph = Graph()
    for path in paths:
        graph.parse(path, format=READ_SUFFIXES[path.suffix.lower()].rdflib)
    return graph


def shapes_model(
    shapes: Graph,
    dataset: Dataset,
    base: str,
    lang: str,
    prefixes: Mapping[str, str] | None = None,
) -> ShapesPage:
    """Document the shapes as a data contract: per target, what is required, and the messages.

    ``prefixes`` are the data's own, for prefixed names.
    """
    view = View(dataset, base, lang, prefixes)
    docs = []
    for shape in sorted(set(shapes.subjects(RDF.type, SH.NodeShape)), key=str):
        targets = tuple(
            (view.curie(str(p)) or str(p), view.term(o))
            for p in _TARGETS for o in sorted(shapes.objects(shape, p), key=str)
        )  # fmt: skip
        rules = [_property_rule(view, shapes, p) for p in shapes.objects(shape, SH.property)]
        rules += [_sparql_rule(shapes, c) for c in shapes.objects(shape, SH.sparql)]
        docs.append(ShapeDoc(
            anchor=str(shape).rsplit("#", 1)[-1],
            iri=str(shape),
            labels=_texts(shapes, shape, RDFS.label),
            targets=targets,
            rules=tuple(sorted(rules, key=lambda r: (r.path is None, not r.required, r.path or ""))),
        ))  # fmt: skip
    # Shapes of a kind of resource (sh:targetClass) first: they are the contract for editors.
    docs.sort(key=lambda d: (any(k != "sh:targetClass" for k, _ in d.targets), d.anchor))
    ontology = next(iter(shapes.subjects(RDF.type, OWL.Ontology)), None)
    labels = _texts(shapes, ontology, RDFS.label) if ontology is not None else {}
    return ShapesPage(labels, tuple(docs))


def _texts(graph: Graph, node: Node, prop: URIRef) -> dict[str, str]:
    return {o.language or "": str(o) for o in graph.objects(node, prop) if isinstance(o, Literal)}


def _property_rule(view: View, shapes: Graph, node: Node) -> Rule:
    constraints = []
    for param in _PARAMETERS:
        for value in shapes.objects(node, param):
            if isinstance(value, BNode) and (value, RDF.first, None) in shapes:
                text = ", ".join(view.term(v).text for v in Collection(shapes, value))
                constraints.append((param.fragment, Term(text, "literal")))
            else:
                constraints.append((param.fragment, view.term(value)))
    min_count = shapes.value(node, SH.minCount)
    return Rule(
        path=_path_text(view, shapes, shapes.value(node, SH.path)),
        constraints=tuple(constraints),
        required=isinstance(min_count, Literal) and int(min_count) >= 1,
        messages=_texts(shapes, node, SH.message),
    )


def _sparql_rule(shapes: Graph, node: Node) -> Rule:
    select = shapes.value(node, SH.select)
    return Rule(
        None, (), False, _texts(shapes, node, SH.message), str(select).strip() if select else None
    )


def _path_text(view: View, shapes: Graph, path: Node | None) -> str:
    """Write a SHACL property path in SPARQL property-path syntax."""
    if path is None:
        return ""
    if isinstance(path, URIRef):
        return view.curie(str(path)) or f"<{path}>"
    if (path, RDF.first, None) in shapes:
        return " / ".join(_path_text(view, shapes, p) for p in Collection(shapes, path))
    alternative = shapes.value(path, SH.alternativePath)
    if alternative is not None:
        items = Collection(shapes, alternative)
        return "(" + " | ".join(_path_text(view, shapes, p) for p in items) + ")"
    for prop, suffix in (
        (SH.zeroOrMorePath, "*"),
        (SH.oneOrMorePath, "+"),
        (SH.zeroOrOnePath, "?"),
    ):
        inner = shapes.value(path, prop)
        if inner is not None:
            return f"({_path_text(view, shapes, inner)}){suffix}"
    inverse = shapes.value(path, SH.inversePath)
    return f"^{_path_text(view, shapes, inverse)}" if inverse is not None else "?"
