"""The rules `kb check` runs, by family (a folder per code range, a module per rule named
for the rule), listed explicitly in kb.rules.registry."""

from __future__ import annotations

from functools import lru_cache

from kb.core.diagnostics import LoadProblem
from kb.load.secrets import Allowlist
from kb.rules.base import DocumentRule, LoadRule, NoOptions, Rule
from kb.rules.registry import ALIASES, RULES


@lru_cache(maxsize=1)
def _by_code() -> dict[str, type[Rule]]:
    rules: dict[str, type[Rule]] = {}
    for rule in RULES:
        if rule.code in rules:
            raise RuntimeError(f"rule code {rule.code} is listed twice")
        rules[rule.code] = rule
    return dict(sorted(rules.items()))


def all_rules() -> dict[str, type[Rule]]:
    """Every rule by code, in code order."""
    return dict(_by_code())


def find_rule(key: str) -> type[Rule] | None:
    """A rule by code (KB201), name (card/step-without-done) or alias."""
    rules = _by_code()
    key = key.strip()
    code = ALIASES.get(key.upper(), ALIASES.get(key, key.upper()))
    if code in rules:
        return rules[code]
    for rule in rules.values():
        if rule.name == key:
            return rule
    return None


def keys_of(rule: type[Rule]) -> frozenset[str]:
    """Every key that names `rule`: its code, its name and its aliases."""
    return frozenset({rule.code, rule.name, *(alias for alias, code in ALIASES.items() if code == rule.code)})


def reporter_of(problem: LoadProblem) -> type[LoadRule]:
    for rule in RULES:
        if issubclass(rule, LoadRule) and getattr(rule, "reports", None) is problem:
            return rule
    raise LookupError(f"no rule reports {problem}")


def secret_allowlist() -> Allowlist:
    """How a line allowlists a credential: `kb: ignore[...]` naming the secret rule."""
    rule = reporter_of(LoadProblem.SECRET)
    return Allowlist(rule.code, keys_of(rule))


__all__ = [
    "DocumentRule",
    "LoadRule",
    "NoOptions",
    "Rule",
    "all_rules",
    "find_rule",
    "keys_of",
    "reporter_of",
    "secret_allowlist",
]
