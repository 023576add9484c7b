"""aigraph: publish an RDF dataset as linked data: validated, described, queried and served.

The public API::

    from aigraph import Aigraph, Settings, validate, create_app

    graph = Aigraph.open(Settings())          # load, validate, start the query engine
    result = graph.query("SELECT * WHERE { ?s ?p ?o } LIMIT 1")
    report = validate(graph.source.loaded)    # data held in memory: a ValidationReport
    app = create_app(core=graph)              # the Flask app (imports Flask only when asked)

The names are resolved when first used, so importing one module of the package (say
``aigraph.errors``) does not load the engines, pySHACL or Flask.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Public name -> the module that defines it.
_PUBLIC = {
    "Aigraph": "aigraph.core",
    "Settings": "aigraph.settings",
    "AigraphError": "aigraph.errors",
    "QueryResult": "aigraph.model",
    "ValidationReport": "aigraph.validation.validate",
    "validate": "aigraph.validation.validate",
    "create_app": "aigraph.web",
}

__all__ = [
    "Aigraph",
    "AigraphError",
    "QueryResult",
    "Settings",
    "ValidationReport",
    "__version__",
    "create_app",
    "validate",
]

if TYPE_CHECKING:
    from aigraph.core import Aigraph
    from aigraph.errors import AigraphError
    from aigraph.model import QueryResult
    from aigraph.settings import Settings
    from aigraph.validation.validate import ValidationReport, validate
    from aigraph.web import create_app


def __getattr__(name: str) -> Any:
    """Import the module defining a public name on first use (PEP 562)."""
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'aigraph' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
