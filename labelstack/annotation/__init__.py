"""Masks and the tools that edit them: pure numpy, no database, no web framework."""
