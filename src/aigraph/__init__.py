"""aigraph: a linked-data knowledge graph of a Swedish AI announcement, validated and served."""

__version__ = "0.1.0"
