"""Prometheus rule files under rules/, hand-written or emitted: their alerts and where they sit."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from kb import yamlio


@dataclass
class AlertRule:
    name: str
    group: int
    index: int
    runbook_url: str | None

    @property
    def loc(self) -> tuple:
        return ("groups", self.group, "rules", self.index, "alert")


@dataclass
class RuleFile:
    path: str
    owned: bool
    alerts: list[AlertRule] = field(default_factory=list)


def read_rule_file(root: Path, path: Path, owned: bool, max_bytes: int) -> RuleFile | None:
    """A Prometheus rule file (top-level `groups:`), or None for other YAML (tests, gates).
    Raises yamlio.YamlProblem for a file that is not readable YAML."""
    data = yamlio.load_mapping(path.read_bytes(), max_bytes, lenient_tags=True)
    groups = data.get("groups")
    if not isinstance(groups, list):
        return None
    result = RuleFile(path.relative_to(root).as_posix(), owned)
    for gi, group in enumerate(groups):
        rules = group.get("rules") if isinstance(group, dict) else None
        for ri, rule in enumerate(rules if isinstance(rules, list) else []):
            if isinstance(rule, dict) and isinstance(rule.get("alert"), str):
                annotations = rule.get("annotations") if isinstance(rule.get("annotations"), dict) else {}
                url = annotations.get("runbook_url")
                result.alerts.append(AlertRule(rule["alert"], gi, ri, url if isinstance(url, str) else None))
    return result
