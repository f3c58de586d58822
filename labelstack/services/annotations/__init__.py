"""Annotations: reads under one rule, versions, revisions (saved masks), reviews, comments and history."""
