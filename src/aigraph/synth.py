"""Write synthetic announcements like the bundled one, as TriG that conforms to the shapes.

Each announcement is an article, an initiative with its host, partner counts, grants from
agencies over periods (``schema:MonetaryAmount`` with a currency), regional nodes in places,
feasibility studies, posts held by people, their quotations and translations, and a
complementarity statement. Every group of statements is its own named graph under
``<base>/graph/`` and is described in ``<base>/graph/provenance`` with its source sentence.

Output is streamed block by block (one named graph plus its provenance at a time), so memory
stays constant; only the small pools of shared agencies, places, roles and currencies remember
whether they were described yet. The same seed gives byte-identical output. Blocks only refer
to resources described by earlier blocks, so stopping after any block still conforms.
"""

from __future__ import annotations

import random
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import TextIO

from aigraph.settings import CANONICAL_BASE
from aigraph.synth_words import (
    AGENCIES,
    APPROXIMATIONS,
    CURRENCIES,
    FIRST,
    FORMS,
    HOSTS,
    KINDS,
    LAST,
    PLACES,
    PREFIXES,
    REGIONS,
    ROLES,
    THEMES,
)


@dataclass(frozen=True)
class SynthStats:
    """What ``write`` produced."""

    triples: int
    graphs: int
    announcements: int


def lit(text: str, lang: str | None = None) -> str:
    """Return a Turtle string literal, with an optional language tag."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"@{lang}' if lang else f'"{escaped}"'


def labels(sv: str, en: str) -> list[str]:
    return [lit(sv, "sv"), lit(en, "en")]


class Block:
    """One named graph: statements grouped by subject, and the number of triples in them."""

    def __init__(self, slug: str) -> None:
        self.slug = slug
        self.subjects: dict[str, list[tuple[str, list[str]]]] = {}
        self.triples = 0

    def add(self, subject: str, predicate: str, *objects: str, nested: int = 0) -> None:
        """Add ``subject predicate objects``; ``nested`` counts triples inside a ``[ ]`` object."""
        self.subjects.setdefault(subject, []).append((predicate, list(objects)))
        self.triples += len(objects) + nested

    def described(self, subject: str, types: str, sv: str, en: str) -> None:
        self.add(subject, "a", *types.split(", "))
        self.add(subject, "rdfs:label", *labels(sv, en))

    def render(self, graph: str) -> str:
        parts = [f"{graph} {{\n"]
        for subject, statements in self.subjects.items():
            body = " ;\n        ".join(f"{p} {', '.join(objs)}" for p, objs in statements)
            parts.append(f"    {subject}\n        {body} .\n")
        parts.append("}\n\n")
        return "".join(parts)


class Synthesizer:
    """Make the blocks of announcements; shared resources are described where first used."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - reproducible synthetic data, no secret
        self.seed = seed
        self.seen: set[str] = set()
        self.previous: tuple[str, str] | None = None
        self.article = ""

    def first_use(self, iri: str) -> bool:
        if iri in self.seen:
            return False
        self.seen.add(iri)
        return True

    def realm(self, block: Block) -> str:
        slug, sv, en = REGIONS[0]
        iri = f"place:{slug}"
        if self.first_use(iri):
            block.described(iri, "schema:Country", sv, en)
        return iri

    def place(self, block: Block, entry: tuple[str, str, str]) -> str:
        slug, sv, en = entry
        iri = f"place:{slug}"
        if self.first_use(iri):
            block.described(iri, "schema:City", sv, en)
            block.add(iri, "schema:containedInPlace", self.realm(block))
        return iri

    def agency(self, block: Block) -> tuple[str, str, str]:
        slug, sv, en, kind = self.rng.choice(AGENCIES)
        iri = f"orgn:{slug}"
        if self.first_use(iri):
            block.described(iri, f"org:FormalOrganization, {kind}", sv, en)
            block.add(iri, "schema:name", lit(sv))
            block.add(iri, "schema:areaServed", self.realm(block))
        return iri, sv, en

    def host(self, block: Block) -> tuple[str, str]:
        slug, name = self.rng.choice(HOSTS)
        iri = f"orgn:{slug}"
        if self.first_use(iri):
            block.described(iri, "org:FormalOrganization", name, name)
            block.add(iri, "schema:name", lit(name))
        return iri, name

    def currency(self, block: Block) -> tuple[str, str]:
        slug, code, sv, en = CURRENCIES[0] if self.rng.random() < 0.85 else CURRENCIES[1]
        iri = f"currency:{slug}"
        if self.first_use(iri):
            block.described(iri, "skos:Concept", sv, en)
            block.add(iri, "skos:prefLabel", *labels(sv, en))
            block.add(iri, "skos:notation", lit(code))
        return iri, code

    def role(self, block: Block) -> tuple[str, str, str]:
        slug, sv, en = self.rng.choice(ROLES)
        iri = f"role:{slug}"
        if self.first_use(iri):
            block.described(iri, "org:Role", sv, en)
            block.add(iri, "skos:prefLabel", *labels(sv, en))
        return iri, sv, en

    def announcement(self, number: int) -> Iterator[tuple[Block, str, str]]:
        """Yield ``(block, source sentence, attributed to)`` for one announcement, in order."""
        rng = self.rng
        tag = f"s{self.seed}-{number}"
        (theme, theme_label), (form, form_label) = rng.choice(THEMES), rng.choice(FORMS)
        home = rng.choice(PLACES)
        a = Announcement(
            tag=tag,
            slug=f"{theme}-{form}-{home[0]}-{tag}",
            theme=theme_label,
            name=f"{theme_label} {form_label} {home[1]}",
            home=home,
            founded=rng.randint(2012, 2023),
            article=f"article:{theme}-{form}-{home[0]}-{tag}",
        )
        self.article = a.article
        yield self.article_block(a)
        yield self.initiative_block(a)
        yield self.partners_block(a)
        funders = yield from self.grant_blocks(a)
        yield from self.node_blocks(a)
        if self.previous:
            yield self.complementarity_block(a, funders[0][0])
        self.previous = (a.iri, a.name)
        yield from self.people_blocks(a, funders)

    def article_block(self, a: Announcement) -> tuple[Block, str, str]:
        b = Block(f"{a.tag}-article")
        sv = f"{a.name} växer och får nya medel"
        b.described(
            a.article, "schema:NewsArticle, prov:Entity", sv, f"{a.name} grows and gets new funds"
        )
        b.add(a.article, "schema:headline", lit(sv, "sv"))
        b.add(a.article, "schema:inLanguage", lit("sv"))
        month, day = self.rng.randint(1, 12), self.rng.randint(1, 28)
        b.add(
            a.article, "schema:datePublished", f'"{a.founded + 1}-{month:02d}-{day:02d}"^^xsd:date'
        )
        return b, sv, a.article

    def initiative_block(self, a: Announcement) -> tuple[Block, str, str]:
        b = Block(f"{a.tag}-initiative")
        b.described(
            a.iri, "aig:NationalInitiative, aig:Initiative, org:Organization", a.name, a.name
        )
        b.add(a.iri, "schema:name", lit(a.name))
        b.add(
            a.iri,
            "schema:description",
            lit(f"En satsning på {a.theme} med bas i {a.home[1]}.", "sv"),
            lit(f"An initiative on {a.theme} based in {a.home[2]}.", "en"),
        )
        b.add(a.iri, "schema:areaServed", self.realm(b))
        b.add(a.iri, "schema:foundingDate", f'"{a.founded}"^^xsd:gYear')
        host, host_name = self.host(b)
        b.add(a.iri, "aig:hostedBy", host)
        sentence = f"{a.name} startade {a.founded}. Formell värd för satsningen är {host_name}."
        return b, sentence, a.article

    def partners_block(self, a: Announcement) -> tuple[Block, str, str]:
        b = Block(f"{a.tag}-partners")
        group = f"orgn:{a.slug}-partners"
        start, later = self.rng.randint(5, 60), self.rng.randint(61, 150)
        b.add(a.iri, "aig:hasPartners", group)
        b.described(group, "aig:PartnerGroup", f"{a.name}s partner", f"partners of {a.name}")
        counts = (("start", start, "schema:minValue", 0), ("later", later, "schema:maxValue", 1))
        b.add(group, "aig:partnerCount", *(f"count:{a.slug}-{key}" for key, *_ in counts))
        for key, value, bound, years in counts:
            iri = f"count:{a.slug}-{key}"
            qualifier, word = APPROXIMATIONS[years + self.rng.randint(0, 1)]
            b.described(
                iri,
                "aig:PartnerCount",
                f"antal partner i {a.name} efter {years} år",
                f"number of partners of {a.name} after {years} years",
            )
            b.add(iri, "schema:value", str(value))
            b.add(iri, bound, str(value))
            b.add(iri, "aig:approximation", qualifier)
            b.add(iri, "aig:originalWording", lit(f"{word} {value} partners", "sv"))
            b.add(iri, "aig:yearsAfterStart", str(years))
        b.add(f"count:{a.slug}-start", "dcterms:date", f'"{a.founded}"^^xsd:gYear')
        return b, f"{a.name} startade {a.founded} med dryga {start} partners.", a.article

    def grant_blocks(
        self, a: Announcement
    ) -> Generator[tuple[Block, str, str], None, list[tuple[str, str]]]:
        funders: list[tuple[str, str]] = []
        for k in range(self.rng.randint(1, 3)):
            b = Block(f"{a.tag}-grant-{k}")
            funder, funder_sv, funder_en = self.agency(b)
            unit, code = self.currency(b)
            start = self.rng.randint(a.founded, a.founded + 3)
            end = start + self.rng.randint(0, 4)
            millions = self.rng.randint(1, 120)
            grant = f"grant:{a.slug}-{k}"
            b.described(
                grant,
                "schema:MonetaryGrant",
                f"{funder_sv}s finansiering av {a.name} {start}–{end}",
                f"{funder_en}'s funding of {a.name} {start}–{end}",
            )
            b.add(grant, "schema:funder", funder)
            b.add(grant, "schema:fundedItem", a.iri)
            amount = (
                f'[ a schema:MonetaryAmount ; schema:value "{millions}000000"^^xsd:decimal ; '
                f'schema:currency "{code}" ; aig:currencyUnit {unit} ]'
            )
            b.add(grant, "schema:amount", amount, nested=4)
            b.add(grant, "schema:startDate", f'"{start}"^^xsd:gYear')
            b.add(grant, "schema:endDate", f'"{end}"^^xsd:gYear')
            if (funder, funder_sv) not in funders:
                b.add(a.iri, "schema:funder", funder)
                funders.append((funder, funder_sv))
            sentence = (
                f"{funder_sv} finansierar {a.name} med {millions} miljoner {code} "
                f"under perioden {start}-{end}."
            )
            yield b, sentence, a.article
        return funders

    def node_blocks(self, a: Announcement) -> Iterator[tuple[Block, str, str]]:
        chosen = self.rng.sample(PLACES, self.rng.randint(2, 6))
        nodes, studies = chosen[: max(1, len(chosen) - 2)], chosen[max(1, len(chosen) - 2) :]
        b = Block(f"{a.tag}-nodes")
        iris = [f"node:{a.slug}-{slug}" for slug, _, _ in nodes]
        b.add(a.iri, "org:hasUnit", *iris)
        for iri, entry in zip(iris, nodes, strict=True):
            b.described(
                iri,
                "aig:RegionalNode",
                f"{a.name}s nod i {entry[1]}",
                f"{a.name} node in {entry[2]}",
            )
            b.add(iri, "org:unitOf", a.iri)
            b.add(iri, "schema:location", self.place(b, entry))
        names = ", ".join(entry[1] for entry in nodes)
        yield b, f"{a.name} har etablerat regionala noder i {names}.", a.article
        if studies:
            b = Block(f"{a.tag}-studies")
            for entry in studies:
                iri = f"study:{a.slug}-{entry[0]}"
                b.described(
                    iri,
                    "aig:FeasibilityStudy",
                    f"förstudie om en nod i {entry[1]}",
                    f"feasibility study for a node in {entry[2]}",
                )
                b.add(iri, "aig:forInitiative", a.iri)
                b.add(iri, "aig:studiedLocation", self.place(b, entry))
                b.add(iri, "adms:status", "aig:ongoing")
            names = " samt ".join(entry[1] for entry in studies)
            yield b, f"Förstudier till ytterligare noder pågår i {names}.", a.article

    def complementarity_block(self, a: Announcement, funder: str) -> tuple[Block, str, str]:
        if self.previous is None:
            raise RuntimeError("a complementarity block follows an earlier announcement")
        b = Block(f"{a.tag}-complementarity")
        b.add(a.iri, "aig:complementaryTo", self.previous[0])
        return b, f"Satsningen är komplementär till {self.previous[1]}.", funder

    def people_blocks(
        self, a: Announcement, funders: list[tuple[str, str]]
    ) -> Iterator[tuple[Block, str, str]]:
        quotes: list[tuple[str, str]] = []
        for k in range(self.rng.randint(1, 2)):
            name = f"{self.rng.choice(FIRST)} {self.rng.choice(LAST)}"
            person = f"person:{slugify(name)}-{a.tag}-{k}"
            b = Block(f"{a.tag}-post-{k}")
            role, role_sv, role_en = self.role(b)
            where, where_name = (a.iri, a.name) if k == 0 else funders[0]
            post = f"post:{a.slug}-{k}"
            b.described(person, "schema:Person, foaf:Person", name, name)
            b.add(person, "schema:name", lit(name))
            b.add(person, "foaf:name", lit(name))
            b.add(person, "org:holds", post)
            b.described(
                post, "org:Post", f"{role_sv} för {where_name}", f"{role_en} of {where_name}"
            )
            b.add(post, "org:postIn", where)
            b.add(post, "org:heldBy", person)
            b.add(post, "org:role", role)
            yield b, f"säger {name}, {role_sv} för {where_name}", a.article
            quote = f"quote:{slugify(name)}-{a.tag}-{k}"
            text = f"Med {a.name} kan vi ta nästa steg för {a.theme} i {a.home[1]}"
            b = Block(f"{a.tag}-quote-{k}")
            b.described(quote, "schema:Quotation", f"Citat av {name}", f"Quotation of {name}")
            b.add(quote, "schema:text", lit(text, "sv"))
            b.add(quote, "schema:inLanguage", lit("sv"))
            b.add(quote, "schema:spokenByCharacter", person)
            b.add(quote, "dcterms:source", a.article)
            yield b, f"{text}, säger {name}.", person
            quotes.append(
                (quote, f"With {a.name} we can take the next step for {a.theme} in {a.home[2]}")
            )
        b = Block(f"{a.tag}-translations")
        for quote, text in quotes:
            b.add(quote, "aig:translation", lit(text, "en"))
        yield b, "Översättningar av citaten.", a.article


@dataclass(frozen=True)
class Announcement:
    """The names one announcement's blocks share."""

    tag: str
    slug: str
    theme: str
    name: str
    home: tuple[str, str, str]
    founded: int
    article: str

    @property
    def iri(self) -> str:
        return f"initiative:{self.slug}"


def slugify(text: str) -> str:
    table = str.maketrans({"å": "a", "ä": "a", "ö": "o", "Å": "a", "Ä": "a", "Ö": "o", " ": "-"})
    return text.lower().translate(table)


def provenance(block: Block, sentence: str, agent: str, article: str) -> str:
    """Describe the graph of ``block`` in the provenance graph (6 triples)."""
    graph = f"graph:{block.slug}"
    return (
        f"graph:provenance {{\n    {graph} a prov:Entity ;\n"
        f"        rdfs:label {lit(f'Uttalanden {block.slug}', 'sv')}, {lit(f'Statements {block.slug}', 'en')} ;\n"
        f"        prov:wasDerivedFrom {article} ;\n        prov:wasAttributedTo {agent} ;\n"
        f"        aig:sourceSentence {lit(sentence, 'sv')} .\n}}\n\n"
    )


PROVENANCE_TRIPLES = 6


def write(out: TextIO, triples: int, seed: int = 0, base: str = CANONICAL_BASE) -> SynthStats:
    """Write about ``triples`` triples of synthetic announcements to ``out`` as TriG."""
    out.write(header(base))
    generator = Synthesizer(seed)
    count = graphs = number = 0
    while count < triples:
        number += 1
        for block, sentence, agent in generator.announcement(number):
            size = block.triples + PROVENANCE_TRIPLES
            if count and count + size / 2 > triples:
                return SynthStats(count, graphs, number)
            out.write(block.render(f"graph:{block.slug}"))
            out.write(provenance(block, sentence, agent, generator.article))
            count += size
            graphs += 1
    return SynthStats(count, graphs, number)


def header(base: str) -> str:
    lines = ["# Synthetic announcements written by `aigraph synth`.\n"]
    lines += [f"@prefix {p}: <{ns}> .\n" for p, ns in PREFIXES.items()]
    lines.append(f"@prefix graph: <{base}/graph/> .\n")
    lines += [f"@prefix {p}: <{base}/id/{kind}/> .\n" for p, kind in KINDS.items()]
    return "".join(lines) + "\n"
