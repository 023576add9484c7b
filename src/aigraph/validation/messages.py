"""Make pySHACL's result messages stable: language tags restored, listed values sorted."""

from __future__ import annotations

import ast
import re
from functools import lru_cache

from rdflib import SH, Graph, Literal


def tag_messages(results: Graph, shapes: Graph) -> None:
    """Give back the language tags pySHACL drops when it fills in a message's ``{?var}``.

    Each untagged ``sh:resultMessage`` is matched against the tagged ``sh:message`` templates of
    its constraint and shape; a message only one language's templates match gets that tag.
    The lists in pySHACL's own messages (``sh:in``, ``sh:hasValue``) are sorted: pySHACL
    writes them in the order of a set, which changes from run to run.
    """
    for result in set(results.subjects(SH.resultMessage, None)):
        untagged = [
            m
            for m in results.objects(result, SH.resultMessage)
            if isinstance(m, Literal) and not m.language
        ]
        if not untagged:
            continue
        sources = [results.value(result, p) for p in (SH.sourceConstraint, SH.sourceShape)]
        templates = {
            (str(t), t.language)
            for source in sources
            if source is not None
            for graph in (results, shapes)
            for t in graph.objects(source, SH.message)
            if isinstance(t, Literal) and t.language
        }
        for message in untagged:
            langs = {lang for text, lang in templates if _template(text).fullmatch(message)}
            steady = Literal(
                _sorted_list(str(message)), lang=langs.pop() if len(langs) == 1 else None
            )
            if steady != message:
                results.remove((result, SH.resultMessage, message))
                results.add((result, SH.resultMessage, steady))


_SET_IN_MESSAGE = re.compile(r"(not in list |in the set: |set of values: )(\[.*\])$", re.DOTALL)


def _sorted_list(message: str) -> str:
    """Return ``message`` with the Python list it ends with (pySHACL's sets) sorted."""
    found = _SET_IN_MESSAGE.search(message)
    if not found:
        return message
    try:
        items = ast.literal_eval(found.group(2))
    except (ValueError, SyntaxError):
        return message
    if not isinstance(items, list):
        return message
    return message[: found.start(2)] + repr(sorted(str(item) for item in items))


_VARIABLE = re.compile(r"\{[?$]\w+\}")


@lru_cache(maxsize=256)
def _template(text: str) -> re.Pattern[str]:
    parts = _VARIABLE.split(text)
    return re.compile("(?:.*?)".join(re.escape(part) for part in parts), re.DOTALL)
