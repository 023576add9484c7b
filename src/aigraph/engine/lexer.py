"""The SPARQL terminals that can hide code, as Oxigraph's parser reads them, in linear time.

Only a few terminals can make a parser read text as something other than code: comments,
string literals, IRIs, variables, language tags and the escapes of prefixed names (``ex:a\\'``
is one name, not a name and a quote). ``SCAN`` matches exactly those, following the terminal
rules of Oxigraph's grammar (``spargebra``'s ``parser.rs``): the order in which they are tried,
which characters each allows, and its quirks (a local name has at most one run of dots; a
language tag may have a ``--`` direction; the name characters stop at U+FFFD). Every
quantifier is possessive, so a match never backtracks and the scan is linear in the text.

Everything ``SCAN`` does not match is code: letters, digits, colons, brackets, punctuation and
white space. ``skeleton`` replaces each match by one space, leaving the code, in one pass in C.
"""

from __future__ import annotations

import re

_BASE = (
    "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02ff\u0370-\u037d\u037f-\u1fff\u200c-\u200d"
    "\u2070-\u218f\u2c00-\u2fef\u3001-\ud7ff\uf900-\ufdcf\ufdf0-\ufffd"
)
_U = "_" + _BASE
#: The characters of names, words and numbers (PN_CHARS), and of variable names.
NAME_CHARS = _U + "\\-0-9\u00b7\u0300-\u036f\u203f-\u2040"
_VAR_CHARS = _U + "0-9\u00b7\u0300-\u036f\u203f-\u2040"

_HEX = "[0-9A-Fa-f]"
_UCHAR = rf"\\u{_HEX}{{4}}|\\U{_HEX}{{8}}"
_ECHAR = r"""\\[tbnrf"'\\]"""
#: PN_LOCAL_ESC: a backslash escape inside a prefixed name's local part.
LOCAL_ESCAPE = r"\\[_~.\-!$&'()*+,;=/?#@%]"

COMMENT = r"\#[^\r\n]*+"
#: Oxigraph tries the long forms first; a long string ends at the first three quotes of a run.
STRING_LONG1 = rf"'''(?:(?:''|')?+(?:[^'\\]|{_ECHAR}|{_UCHAR}))*+'''"
STRING_LONG2 = rf'"""(?:(?:""|")?+(?:[^"\\]|{_ECHAR}|{_UCHAR}))*+"""'
STRING1 = rf"'(?:[^'\\\n\r]|{_ECHAR}|{_UCHAR})*+'"
STRING2 = rf'"(?:[^"\\\n\r]|{_ECHAR}|{_UCHAR})*+"'
#: An IRI as the SPARQL grammar allows it (Oxigraph also needs it to be a valid IRI).
IRI = rf"<(?:[^<>\"{{}}|^`\\\x00-\x20]|{_UCHAR})*+>"
VAR = rf"[?$][{_VAR_CHARS}]++"
LANGTAG = r"@[a-zA-Z]++(?:--?[a-zA-Z0-9]++)*+"

SCAN = re.compile(
    rf"(?P<comment>{COMMENT})"
    rf"|(?P<string>{STRING_LONG1}|{STRING_LONG2}|{STRING1}|{STRING2})"
    rf"|(?P<iri>{IRI})"
    rf"|(?P<var>{VAR})"
    rf"|(?P<escape>{LOCAL_ESCAPE})"
    rf"|(?P<langtag>{LANGTAG})"
)
#: The same alternatives in the same order without groups: the same matches, found faster
#: (the regular expression engine can then skip to the characters that start a match).
_SCAN_FLAT = re.compile(
    "|".join(
        (COMMENT, STRING_LONG1, STRING_LONG2, STRING1, STRING2, IRI, VAR, LOCAL_ESCAPE, LANGTAG)
    )
)
#: One code token of the skeleton: a word, number, keyword or prefixed name.
RUN_CHARS = NAME_CHARS + ".:%"


def skeleton(text: str) -> str:
    """Return ``text`` with every comment, string, IRI, variable and name escape as a space."""
    return _SCAN_FLAT.sub(" ", text)
