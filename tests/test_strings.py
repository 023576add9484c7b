"""The UI strings: one file per language with the same keys, every key used and every use known,
and the pages reading in the language asked for."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from aigraph.pages import vocabulary as docs
from aigraph.web import strings

WEB = Path(strings.__file__).resolve().parent.parent
TEMPLATES = sorted((WEB / "templates").glob("*.html"))
SCRIPT = WEB / "static" / "query.js"
GRANT = "/id/grant/vinnova-ai-innovation-of-sweden-2020-2024"

#: A key written out in a template: ``ui('key'`` (a call with a computed key is checked below).
LITERAL_USE = re.compile(r"""\bui\(\s*'(\w+)'\s*[,)]""")
#: Every call of ``ui(`` in a template, to find the ones whose key is computed.
ANY_USE = re.compile(r"""\bui\(\s*([^,)]*)""")
#: Keys the query page hands to its script: ``ui_strings('a', 'b', ...)``.
SCRIPT_KEYS = re.compile(r"""\bui_strings\(([^)]*)\)""")
#: Keys the script reads: ``text('key'``.
SCRIPT_USE = re.compile(r"""\btext\('(\w+)'""")
#: The computed keys the templates use, each with the keys it can produce: the name of each
#: language, the caption of each relation, the caption of each SHACL parameter.
COMPUTED = {
    "'ld_lang_' ~ code": {f"ld_lang_{code}" for code in strings.LANGUAGES},
    "key": {key for key, _ in docs._RELATIONS},
    "'c_' ~ name": {f"c_{param.fragment}" for param in docs._PARAMETERS},
}
#: Computed keys that may be missing (the page then shows ``sh:<parameter>``).
OPTIONAL = "'c_' ~ name"


def template_text() -> str:
    """Return the templates' text without their comments."""
    text = "".join(path.read_text(encoding="utf-8") for path in TEMPLATES)
    return re.sub(r"\{#.*?#\}", "", text, flags=re.S)


def script_keys() -> list[str]:
    found = SCRIPT_KEYS.findall((WEB / "templates" / "query.html").read_text(encoding="utf-8"))
    assert len(found) == 1, found
    return re.findall(r"'(\w+)'", found[0])


def file_keys(lang: str) -> list[str]:
    return list(strings.catalogue(lang))


# --- the files --------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", strings.LANGUAGES)
def test_each_file_is_an_object_of_non_empty_strings(lang):
    raw = (WEB / "strings" / f"{lang}.json").read_text(encoding="utf-8")
    table = json.loads(raw)
    assert isinstance(table, dict) and table
    empty = [key for key, text in table.items() if not isinstance(text, str) or not text.strip()]
    assert not empty, f"{lang}.json: empty or non-string values for {empty}"


@pytest.mark.parametrize("lang", [code for code in strings.LANGUAGES if code != strings.FALLBACK])
def test_every_language_has_the_keys_of_the_reference(lang):
    reference, other = file_keys(strings.FALLBACK), file_keys(lang)
    assert set(other) - set(reference) == set(), f"{lang}.json has keys en.json lacks"
    assert set(reference) - set(other) == set(), f"{lang}.json lacks keys of en.json"
    assert other == reference, f"{lang}.json lists its keys in another order than en.json"


@pytest.mark.parametrize("lang", [code for code in strings.LANGUAGES if code != strings.FALLBACK])
def test_placeholders_match_the_reference(lang):
    fields = re.compile(r"\{(\w+)\}")
    for key, text in strings.catalogue(strings.FALLBACK).items():
        theirs = strings.catalogue(lang)[key]
        assert sorted(fields.findall(theirs)) == sorted(fields.findall(text)), (key, theirs)


# --- uses ---------------------------------------------------------------------------------------


def test_every_key_a_template_uses_exists():
    known = set(file_keys(strings.FALLBACK))
    used = set(LITERAL_USE.findall(template_text()))
    assert used, "no ui('key') found in the templates"
    assert used - known == set(), f"keys used by templates but missing from en.json: {used - known}"
    for computed, produced in COMPUTED.items():
        if computed == OPTIONAL:
            continue
        assert produced - known == set(), f"{computed} can produce missing keys {produced - known}"


def test_every_computed_key_is_known():
    calls = ANY_USE.findall(template_text())
    computed = {arg.strip() for arg in calls if not re.fullmatch(r"'\w+'", arg.strip())}
    assert computed == set(COMPUTED), "a template computes a key this test does not know"


def test_the_query_script_gets_every_string_it_reads():
    handed = script_keys()
    read = set(SCRIPT_USE.findall(SCRIPT.read_text(encoding="utf-8")))
    assert read, "no text('key') found in query.js"
    assert read - set(handed) == set(), f"query.js is not given {read - set(handed)}"
    assert set(handed) - read == set(), f"query.js never reads {set(handed) - read}"
    assert set(handed) - set(file_keys(strings.FALLBACK)) == set()


def test_every_string_is_used():
    used = set(LITERAL_USE.findall(template_text())) | set(script_keys())
    for produced in COMPUTED.values():
        used |= produced
    unused = [key for key in file_keys(strings.FALLBACK) if key not in used]
    assert not unused, f"strings no page uses: {unused}"


def test_templates_hold_no_swedish_text():
    """Swedish words live in sv.json; the language switch names each language in itself."""
    for path in TEMPLATES:
        text = path.read_text(encoding="utf-8")
        assert not re.search("[åäöÅÄÖ]", text), path.name


# --- the lookup -----------------------------------------------------------------------------


@pytest.fixture()
def fake_files(monkeypatch):
    files = {"en": {"a": "A {n}", "b": "B"}, "sv": {"a": "Å {n}"}}
    monkeypatch.setattr(strings, "catalogue", files.__getitem__)
    strings._table.cache_clear()
    yield files
    strings._table.cache_clear()


def test_a_key_missing_in_a_language_reads_in_english(fake_files):
    assert strings.lookup("sv", "a", n=3) == "Å 3"
    assert strings.lookup("sv", "b") == "B"
    assert strings.lookup("en", "a", n="x") == "A x"


def test_an_unknown_language_reads_in_english(fake_files):
    assert strings.lookup("de", "a", n=1) == "A 1"
    assert strings.lookup(None, "b") == "B"


def test_a_key_missing_in_english_is_an_error(fake_files):
    with pytest.raises(KeyError):
        strings.lookup("sv", "nowhere")
    assert strings.lookup("sv", "nowhere", default="") == ""


# --- the pages --------------------------------------------------------------------------------


class _Text(HTMLParser):
    """Collect the text of a page, without its scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self._skip += tag in ("script", "style")

    def handle_endtag(self, tag):
        self._skip -= tag in ("script", "style")

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def page_text(client, path: str, lang: str, status: int = 200) -> str:
    response = client.get(f"{path}?lang={lang}", headers={"Accept": "text/html"})
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    html = response.get_data(as_text=True)
    assert f'<html lang="{lang}">' in html
    parser = _Text()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


#: Phrases each page shows, per language: written out here so a wrong file fails the test.
PHRASES = {
    "/": {
        "en": [
            "The dataset at a glance",
            "Query the graph with SPARQL",
            "Downloads",
            "Skip to content",
        ],
        "sv": [
            "Datamängden i korthet",
            "Fråga grafen med SPARQL",
            "Nedladdning",
            "Hoppa till innehållet",
        ],
    },
    "/catalog": {
        "en": ["Data catalogue", "Descriptions of the dataset", "Back to the start page"],
        "sv": ["Datakatalog", "Beskrivningar av datamängden", "Tillbaka till startsidan"],
    },
    GRANT: {
        "en": ["Properties", "Sources", "This page as", "Named graph:", "Taken from"],
        "sv": ["Egenskaper", "Källor", "Den här sidan som", "Namngiven graf:", "Hämtat ur"],
    },
    "/sparql": {
        "en": ["SPARQL query", "Run query", "Reset editor", "Press Ctrl+Enter to run the query."],
        "sv": ["SPARQL-fråga", "Kör frågan", "Återställ", "Tryck Ctrl+Enter för att köra frågan."],
    },
    "/queries": {
        "en": ["Named queries", "Open in the query editor", "Show the query"],
        "sv": ["Namngivna frågor", "Öppna i frågeredigeraren", "Visa frågan"],
    },
    "/ontology": {
        "en": ["Classes", "Concepts and schemes", "times in the data", "Subclass of", "Namespace"],
        "sv": [
            "Klasser",
            "Begrepp och begreppsscheman",
            "gånger i data",
            "Underklass till",
            "Namnrymd",
        ],
    },
    "/shapes": {
        "en": ["Data contract", "Applies to", "required", "at least 1", "Show the SPARQL query"],
        "sv": ["Datakontrakt", "Gäller", "obligatorisk", "minst 1", "Visa SPARQL-frågan"],
    },
}


@pytest.mark.parametrize("path", sorted(PHRASES))
@pytest.mark.parametrize("lang", ["en", "sv"])
def test_pages_read_in_the_language_asked_for(client, path, lang):
    text = page_text(client, path, lang)
    missing = [phrase for phrase in PHRASES[path][lang] if phrase not in text]
    assert not missing, f"{path}?lang={lang} lacks {missing}:\n{text[:3000]}"
    other = "sv" if lang == "en" else "en"
    shown = [p for p in PHRASES[path][other] if p in text and p not in PHRASES[path][lang]]
    assert not shown, f"{path}?lang={lang} shows {other} phrases {shown}"


@pytest.mark.parametrize("lang", ["en", "sv"])
def test_error_page_reads_in_the_language_asked_for(client, lang):
    text = page_text(client, "/id/nothing-here", lang, status=404)
    words = {
        "en": ["Error 404", "Request id", "Open the query editor"],
        "sv": ["Fel 404", "Förfrågans id", "Öppna frågeredigeraren"],
    }[lang]
    assert all(word in text for word in words), text


@pytest.mark.parametrize("lang", ["en", "sv"])
def test_query_page_hands_its_script_the_strings_in_its_language(client, lang):
    response = client.get(f"/sparql?lang={lang}", headers={"Accept": "text/html"})
    html = response.get_data(as_text=True)
    config = re.search(r'id="aigraph-config">(.*?)</script>', html, re.S)
    assert config, html[:2000]
    handed = json.loads(config.group(1))["strings"]
    assert handed == {key: strings.lookup(lang, key) for key in script_keys()}
    assert handed["running"] == {"en": "Running…", "sv": "Kör…"}[lang]
