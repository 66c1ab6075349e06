"""Prometheus rule files under rules/, hand-written or emitted: their alerts and where they sit."""

from __future__ import annotations

from dataclasses import dataclass, field
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


def read_rule_file(rel: str, raw: bytes, owned: bool, max_bytes: int) -> RuleFile | None:
    """A Prometheus rule file (top-level `groups:`), or None for other YAML (tests, gates).
    Raises yamlio.YamlProblem for a file that is not readable YAML."""
    if owned and b"groups:" not in raw:
        return None  # kb's own test and gate files: 0.7 MB of YAML at 10,000 cards, no alerts in them
    data = yamlio.load_mapping(raw, max_bytes, lenient_tags=True)
    groups = data.get("groups")
    if not isinstance(groups, list):
        return None
    result = RuleFile(rel, owned)
    for gi, group in enumerate(groups):
        rules = group.get("rules") if isinstance(group, dict) else None
        for ri, rule in enumerate(rules if isinstance(rules, list) else []):
            if isinstance(rule, dict) and isinstance(rule.get("alert"), str):
                annotations = rule.get("annotations") if isinstance(rule.get("annotations"), dict) else {}
                url = annotations.get("runbook_url")
                result.alerts.append(AlertRule(rule["alert"], gi, ri, url if isinstance(url, str) else None))
    return result
