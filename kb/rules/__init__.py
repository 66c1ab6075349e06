"""The rule registry: every module in this package defines one rule, found by import."""

from __future__ import annotations

import importlib
import pkgutil

from kb.rules.base import LoadRule, NoOptions, Rule

_REGISTRY: dict[str, type[Rule]] = {}


def register(rule: type[Rule]) -> type[Rule]:
    if rule.code in _REGISTRY:
        raise RuntimeError(f"rule code {rule.code} is registered twice")
    _REGISTRY[rule.code] = rule
    return rule


def all_rules() -> dict[str, type[Rule]]:
    """Every rule by code, in code order."""
    if not _REGISTRY:
        for module in pkgutil.iter_modules(__path__):
            if module.name != "base":
                importlib.import_module(f"{__name__}.{module.name}")
    return dict(sorted(_REGISTRY.items()))


def find_rule(key: str) -> type[Rule] | None:
    """A rule by code (KB201) or name (card/step-without-done)."""
    rules = all_rules()
    if key.upper() in rules:
        return rules[key.upper()]
    for rule in rules.values():
        if rule.name == key:
            return rule
    return None


__all__ = ["LoadRule", "NoOptions", "Rule", "all_rules", "find_rule", "register"]
