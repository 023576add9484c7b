"""The OpenAPI 3.1 description of aigraph's HTTP API (a test keeps it in step with the routes)."""

from __future__ import annotations

from typing import Any

from aigraph import __version__
from aigraph.formats import GRAPH, HTML, JSON, RESULTS
from aigraph.web.publishing import OPENAPI_PATHS as PUBLISHING_PATHS

_ERROR = {"$ref": "#/components/responses/Error"}
_RESULTS = {
    "description": "Query results, in the negotiated format",
    "content": {offer.media_type: {} for offer in (*RESULTS, *GRAPH)},
    "headers": {
        "X-Aigraph-Truncated": {
            "description": "Present (`true`) when the row limit cut the result",
            "schema": {"type": "string"},
        }
    },
}


def _param(name: str, where: str, description: str, *, repeat: bool = False) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    if repeat:
        schema = {"type": "array", "items": {"type": "string"}}
    return {"name": name, "in": where, "description": description, "schema": schema}


_QUERY_PARAMS = [
    _param("query", "query", "A SPARQL 1.1 query. Without it, the service description."),
    _param("default-graph-uri", "query", "A graph of the default graph", repeat=True),
    _param("named-graph-uri", "query", "A graph available by name", repeat=True),
    _param(
        "format",
        "query",
        "Result format; overrides Accept "
        f"({', '.join(offer.name for offer in (*RESULTS, *GRAPH))})",
    ),
]

_STATUSES = {
    s: _ERROR for s in ("400", "403", "405", "406", "413", "415", "429", "431", "502", "503")
}


def _any_iri(summary: str) -> dict[str, Any]:
    """Describe ``/resource``: a linked-data route whose resource is the ``iri`` parameter."""
    route = _linked_data(summary)
    iri = _param("iri", "query", "The absolute IRI of the resource, percent-encoded")
    route["get"]["parameters"].insert(0, {**iri, "required": True})
    return route


def _linked_data(summary: str) -> dict[str, Any]:
    """Describe a linked-data route: negotiated (or suffixed) RDF or HTML, conditional GET."""
    return {
        "get": {
            "summary": summary,
            "parameters": [
                _param(
                    "format",
                    "query",
                    f"Overrides Accept ({', '.join(offer.name for offer in (*GRAPH, HTML))})",
                ),
                _param("lang", "query", "Language of the HTML page: sv or en (default en)"),
            ],
            "responses": {
                "200": {
                    "description": "The description; Vary: Accept, Content-Location, ETag, "
                    "Last-Modified",
                    "content": {o.media_type: {} for o in (HTML, *GRAPH)},
                },
                "304": {"description": "Not modified (If-None-Match / If-Modified-Since)"},
                "400": _ERROR,
                "404": _ERROR,
                "406": _ERROR,
            },
        }
    }


def openapi(server_url: str) -> dict[str, Any]:
    """Return the OpenAPI document for a server at ``server_url``."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "aigraph",
            "version": __version__,
            "description": "A read-only SPARQL 1.1 endpoint and linked-data site.",
        },
        "servers": [{"url": server_url}],
        "paths": {
            "/sparql": {
                "get": {
                    "summary": "Run a query (SPARQL 1.1 Protocol) or get the service description",
                    "parameters": _QUERY_PARAMS,
                    "responses": {"200": _RESULTS, **_STATUSES},
                },
                "post": {
                    "summary": "Run a query sent as a form or as application/sparql-query",
                    "parameters": _QUERY_PARAMS[1:],
                    "requestBody": {
                        "content": {
                            "application/x-www-form-urlencoded": {
                                "schema": {
                                    "type": "object",
                                    "properties": {"query": {"type": "string"}},
                                    "required": ["query"],
                                }
                            },
                            "application/sparql-query": {"schema": {"type": "string"}},
                        }
                    },
                    "responses": {"200": _RESULTS, **_STATUSES},
                },
                "options": {
                    "summary": "CORS preflight",
                    "responses": {"204": {"description": "CORS headers"}},
                },
            },
            "/queries": {
                "get": {
                    "summary": "List the named queries",
                    "responses": {"200": {"description": "The named queries (JSON or HTML)"}},
                }
            },
            "/queries/{name}": {
                "get": {
                    "summary": "Run a named query; its declared parameters come from the URL",
                    "parameters": [
                        {
                            "name": "name",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        },
                        _param("format", "query", "Result format; overrides Accept"),
                    ],
                    "responses": {
                        "200": _RESULTS,
                        "400": _ERROR,
                        "404": _ERROR,
                        "406": _ERROR,
                        "429": _ERROR,
                        "502": _ERROR,
                        "503": _ERROR,
                    },
                }
            },
            "/healthz": {
                "get": {"summary": "Liveness", "responses": {"200": {"description": "ok"}}}
            },
            "/stats": {
                "get": {"summary": "Server counters", "responses": {"200": {"description": "JSON"}}}
            },
            "/metrics": {
                "get": {
                    "summary": "Metrics in the Prometheus text format",
                    "responses": {"200": {"description": "text/plain; version=0.0.4"}},
                }
            },
            "/openapi.json": {
                "get": {"summary": "This document", "responses": {"200": {"description": "JSON"}}}
            },
            # Linked data (web/linked_data.py): content negotiation at the IRI, suffixed documents.
            "/id/{rest}": _linked_data("Describe a resource minted under <base>/id/"),
            "/graph/{rest}": _linked_data("Describe a named graph: its statements and provenance"),
            "/resource": _any_iri("Describe any IRI of the data (other namespaces, hash IRIs)"),
            "/resource.{ext}": _any_iri("The description of ?iri= as one document"),
            "/ontology": _linked_data("The ontology: HTML documentation or RDF"),
            "/ontology.{ext}": _linked_data(
                "The ontology as one document (ttl, jsonld, nt, rdf, trig, nq, html)"
            ),
            "/ontology/{rest}": _linked_data("The ontology at its version IRI"),
            "/shapes": _linked_data("The SHACL shapes: a data contract (HTML) or RDF"),
            "/shapes.{ext}": _linked_data("The SHACL shapes as one document"),
            **PUBLISHING_PATHS,
        },
        "components": {
            "responses": {
                "Error": {
                    "description": "An error, in the one error shape of aigraph (an HTML page "
                    "with the same fields for browsers)",
                    "content": {
                        HTML.media_type: {},
                        JSON.media_type: {
                            "schema": {
                                "type": "object",
                                "required": ["error", "status", "message", "request_id"],
                                "properties": {
                                    "error": {"type": "string"},
                                    "status": {"type": "integer"},
                                    "message": {"type": "string"},
                                    "request_id": {"type": "string"},
                                    "details": {"type": "object"},
                                },
                            }
                        },
                    },
                }
            }
        },
    }
