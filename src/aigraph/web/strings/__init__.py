"""The words of the HTML pages: one JSON file of UI strings per language, read once.

``en.json`` is the reference and holds every key; another language's file holds the same keys
(a test checks it), and a key it lacks reads in English. That is the one fallback rule. A key
missing from ``en.json`` is a mistake in a template and raises ``KeyError``.

Templates call ``ui('key')`` (a Jinja global bound to the page language); ``{name}`` in a string
is filled from keyword arguments, e.g. ``ui('onto_uses', n=3)``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from importlib import resources

from jinja2 import pass_context
from jinja2.runtime import Context

#: The languages the pages are written in; the first is the reference and the fallback.
LANGUAGES = ("en", "sv")
FALLBACK = LANGUAGES[0]


@functools.cache
def catalogue(lang: str) -> dict[str, str]:
    """Return the strings of ``lang`` exactly as its file has them (no fallback)."""
    text = resources.files(__package__).joinpath(f"{lang}.json").read_text(encoding="utf-8")
    found = json.loads(text)
    if not isinstance(found, dict) or not all(isinstance(v, str) for v in found.values()):
        raise ValueError(f"{lang}.json must be one JSON object of strings")
    return found


@functools.cache
def _table(lang: str) -> dict[str, str]:
    if lang == FALLBACK:
        return catalogue(FALLBACK)
    return {**catalogue(FALLBACK), **catalogue(lang)}


def language(lang: str | None) -> str:
    """Return ``lang`` when the pages are written in it, else the fallback language."""
    return lang if lang in LANGUAGES else FALLBACK


def lookup(lang: str | None, key: str, default: str | None = None, **values: object) -> str:
    """Return the string ``key`` in ``lang`` with its ``{name}`` fields filled from ``values``.

    ``default`` is returned for a key that no language has; without it such a key raises.
    """
    table = _table(language(lang))
    if key not in table and default is not None:
        return default
    text = table[key]
    for name, value in values.items():
        text = text.replace("{" + name + "}", str(value))
    return text


def subset(lang: str | None, keys: Iterable[str]) -> dict[str, str]:
    """Return ``{key: string}`` for ``keys`` in ``lang`` (for a page's script)."""
    return {key: lookup(lang, key) for key in keys}


def _page_lang(context: Context) -> str:
    return language(context.get("ui_lang") or context.get("lang"))


@pass_context
def ui(context: Context, key: str, default: str | None = None, **values: object) -> str:
    """Jinja global: the string ``key`` in the language of the page being rendered."""
    return lookup(_page_lang(context), key, default, **values)


@pass_context
def ui_strings(context: Context, *keys: str) -> dict[str, str]:
    """Jinja global: ``{key: string}`` in the page language, for a page's script."""
    return subset(_page_lang(context), keys)


def register(globals_: dict[str, object]) -> None:
    """Add ``ui`` and ``ui_strings`` to a Jinja environment's globals."""
    globals_["ui"] = ui
    globals_["ui_strings"] = ui_strings
