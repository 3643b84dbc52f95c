"""Ethical personas: the schema, model-driven generation and the curated health library."""

from ethos.personas.schema import SLOTS, Persona

__all__ = ["SLOTS", "Persona"]
