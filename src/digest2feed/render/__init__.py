"""Renderers: each a pure function from a planned document to bytes."""
