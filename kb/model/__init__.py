"""The file format as pydantic models: the one source of truth (JSON Schema comes from here)."""

from kb.model.card import Card, Step
from kb.model.oncall import Oncall
from kb.model.postmortem import Postmortem

__all__ = ["Card", "Oncall", "Postmortem", "Step"]
