"""The file format as pydantic models: the one source of truth (JSON Schema comes from here)."""

from kb.models.card import Card, Step
from kb.models.oncall import Oncall
from kb.models.postmortem import Postmortem

__all__ = ["Card", "Oncall", "Postmortem", "Step"]
