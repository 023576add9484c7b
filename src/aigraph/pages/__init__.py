"""The page models of the linked-data pages: a resource, the ontology and the shapes (no web framework)."""
