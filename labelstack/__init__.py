"""LabelStack: an open medical-image annotation platform."""

__version__ = "0.1.0"
