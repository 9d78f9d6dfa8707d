"""Notebook panels: ipywidgets VBox subclasses over the recipes; importing has no side effects."""

from widgets.alias_panel import AliasPanel
from widgets.quiz import QuizPanel
from widgets.traffic_panel import TrafficPanel

__all__ = ["AliasPanel", "QuizPanel", "TrafficPanel"]
