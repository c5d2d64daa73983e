"""mapdown: Mutual Action Plans as Markdown in git."""

__version__ = "0.1.0"
