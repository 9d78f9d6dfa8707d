"""Notebook panels: ipywidgets VBox subclasses over the recipes; importing has no side effects."""

from widgets.alias_panel import AliasPanel

__all__ = ["AliasPanel"]
