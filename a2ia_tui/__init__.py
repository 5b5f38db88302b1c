"""a2ia-tui: a terminal workbench for local LLMs."""

__version__ = "0.1.0"
