"""pydantic validation errors as findings a person can act on at the exact YAML node."""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from kb.core.diagnostics import Finding, LoadProblem


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The models an annotation can hold (through Optional, list, dict, Annotated)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        found.extend(_models_in(arg))
    return found


def _field_keys(model: type[BaseModel]) -> dict[str, Any]:
    return {(info.alias or name): info.annotation for name, info in model.model_fields.items()}


def model_at(root: type[BaseModel], loc: tuple[str | int, ...]) -> type[BaseModel] | None:
    """The model class that validates the mapping at a YAML path (for key suggestions)."""
    model: type[BaseModel] | None = root
    annotation: Any = root
    for part in loc:
        if isinstance(part, int):
            continue
        if model is None:
            return None
        keys = _field_keys(model)
        if part in keys:
            annotation = keys[part]
            models = _models_in(annotation)
            model = models[0] if models else None
        else:
            origin = typing.get_origin(annotation)
            if origin is dict or (
                origin in (typing.Union, types.UnionType)
                and any(typing.get_origin(a) is dict for a in typing.get_args(annotation))
            ):
                continue  # a mapping key (a permission, a person): stay on the value model
            return model if part == loc[-1] else None
    return model


def _describe_input(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return "a mapping" if isinstance(value, dict) else "a list"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _hint(kind: str, value: Any) -> str:
    """What to write instead, for the values YAML reads differently from what was meant."""
    if kind == "string_type" and isinstance(value, (int, float)) and not isinstance(value, bool):
        # `version: 1.10` is the number 1.1: text must be quoted to keep what was written
        return "; YAML read a number: quote it to keep it as written ('1.10' unquoted is 1.1)"
    if kind == "bool_type" and isinstance(value, str):
        return "; write true or false"
    if kind in ("int_type", "float_type") and isinstance(value, str):
        return "; write the number without quotes"
    return ""


def findings_from(exc: ValidationError, model: type[BaseModel], path: str) -> list[Finding]:
    findings = []
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        kind = error["type"]
        if kind == "extra_forbidden":
            key = loc[-1]
            parent = model_at(model, loc[:-1])
            hint = ""
            if parent is not None:
                close = difflib.get_close_matches(str(key), list(_field_keys(parent)), n=1, cutoff=0.6)
                if close:
                    hint = f" (did you mean '{close[0]}'?)"
            findings.append(
                Finding(path, f"unknown field '{key}'{hint}", loc=loc, at="key", problem=LoadProblem.UNKNOWN_FIELD)
            )
        elif kind == "missing":
            findings.append(
                Finding(path, f"missing required field '{loc[-1]}'", loc=loc, problem=LoadProblem.MISSING_FIELD)
            )
        elif kind == "timezone_aware":
            findings.append(
                Finding(
                    path,
                    f"timestamp {error['input']} has no UTC offset; write it with one, e.g. 2026-11-03T02:17:00+00:00",
                    loc=loc,
                    problem=LoadProblem.NAIVE_TIMESTAMP,
                )
            )
        else:
            message = error["msg"]
            if kind == "value_error":
                message = message.removeprefix("Value error, ")
            if kind == "string_pattern_mismatch":
                message = f"{_describe_input(error['input'])} does not match the pattern {error['ctx']['pattern']}"
            elif kind not in ("value_error",):
                message = f"{message}, got {_describe_input(error['input'])}{_hint(kind, error['input'])}"
            findings.append(Finding(path, f"{_where(loc)}{message}", loc=loc, problem=LoadProblem.INVALID_VALUE))
    return findings


def _where(loc: tuple[str | int, ...]) -> str:
    names = [str(p) for p in loc if not isinstance(p, int)]
    return f"{names[-1]}: " if names else ""
