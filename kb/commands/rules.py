"""`kb rules [CODE]`: the rules, or one rule's documentation page."""

from __future__ import annotations

from kb.commands.common import CommandError, echo, verb
from kb.rules import all_rules, find_rule


@verb
def run(code: str | None = None) -> int:
    if code:
        rule = find_rule(code)
        if rule is None:
            raise CommandError(f"no rule '{code}'; `kb rules` lists them")
        echo(f"{rule.code} {rule.name} (default level: {rule.level.value})\n")
        echo(rule.doc())
        defaults = rule.option_defaults()
        if defaults:
            echo("\nOptions (set under plugins: - kb: rules: in mkdocs.yml):")
            for key, value in defaults.items():
                echo(f"  {key}: {value!r}")
        return 0
    for rule in all_rules().values():
        echo(f"{rule.code}  {rule.name:<38} {rule.level.value:<8} {rule.summary()}")
    return 0
