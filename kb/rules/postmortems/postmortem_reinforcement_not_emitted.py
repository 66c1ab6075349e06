import json

import yaml

from kb.core.diagnostics import Finding, Level
from kb.rules.base import Rule


def emitted_sources(ctx) -> set[str]:
    """`PM/R` of every reinforcement present in the files kb emit wrote (on disk)."""
    from kb.emit.build import PART, is_owned, rules_dir

    found: set[str] = set()
    folder = rules_dir(ctx.kb)
    try:
        # kb.rules.yml, gates.yml, evals.jsonl and their further parts (kb.rules.2.yml...)
        names = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
        for name in names:
            path = folder / name
            if not (name in ("kb.rules.yml", "gates.yml", "evals.jsonl") or PART.match(name)) or not is_owned(path):
                continue
            if name.startswith("kb.rules.") and not name.startswith("kb.rules.test"):
                for group in (yaml.safe_load(path.read_text()) or {}).get("groups", []):
                    for rule in group.get("rules", []):
                        labels = rule.get("labels", {})
                        found.add(f"{labels.get('postmortem')}/{labels.get('reinforcement')}")
            elif name.startswith("gates"):
                data = yaml.safe_load(path.read_text()) or {}
                found |= {item.get("source") for key in ("gates", "tests") for item in data.get(key) or []}
            elif name.startswith("evals"):
                for line in path.read_text().splitlines():
                    if line.strip():
                        found.add(json.loads(line).get("id"))
    except (OSError, ValueError, yaml.YAMLError, AttributeError, TypeError):
        pass  # a damaged emitted file: KB601 says to run kb emit; nothing counts as present
    return found


class ReinforcementNotEmitted(Rule):
    """A `complete` postmortem's reinforcement is not in the files `kb emit` wrote.

    Why: complete means the conclusions are encoded: the alert is in the deployed rule
    file, the gate and test in the release gate list, the eval in the eval set. A
    reinforcement marked done that is not in rules/ is an action item that went stale in
    the postmortem instead of changing the system.

    Bad:

    ```yaml
    status: complete
    reinforcements:
      - {id: R2, kind: eval, owner: ai-platform, due: 2026-11-20, status: done,
         eval: {input: Consumers paused, expected: Restart consumers}}
    # rules/evals.jsonl has no PM-2026-004/R2
    ```

    Good:

    ```yaml
    status: complete
    reinforcements:
      - {id: R2, kind: eval, owner: ai-platform, due: 2026-11-20, status: done,
         eval: {input: Consumers paused, expected: Restart consumers}}
    # after kb emit: rules/evals.jsonl has {"id": "PM-2026-004/R2", ...}
    ```
    """

    code = "KB409"
    name = "postmortem/reinforcement-not-emitted"
    level = Level.ERROR

    def check(self, ctx, options):
        present = None
        for doc in ctx.postmortems:
            pm = doc.model
            if pm is None or pm.status != "complete":
                continue
            if present is None:
                present = emitted_sources(ctx)
            for index, item in enumerate(pm.reinforcements):
                if item.kind == "card" or item.status == "wont_do":
                    continue
                if f"{pm.id}/{item.id}" not in present:
                    yield Finding(
                        doc.path,
                        f"reinforcement {item.id} ({item.kind}) is not in the files kb emit wrote "
                        f"under {ctx.settings.rules_dir}/: run kb emit",
                        loc=("reinforcements", index, "id"),
                    )
