import json

import yaml

from kb.core.diagnostics import Finding, Level
from kb.core.safefile import read_text
from kb.rules.base import Rule

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: the emitted files are megabytes


def _alert_ids(text: str) -> set[str]:
    found = set()
    for group in (yaml.load(text, Loader=_Loader) or {}).get("groups", []):
        for rule in group.get("rules", []):
            labels = rule.get("labels", {})
            found.add(f"{labels.get('postmortem')}/{labels.get('reinforcement')}")
    return found


def _gate_ids(text: str) -> set[str]:
    data = yaml.load(text, Loader=_Loader) or {}
    return {item.get("source") for key in ("gates", "tests") for item in data.get(key) or []}


def _eval_ids(text: str) -> set[str]:
    return {json.loads(line).get("id") for line in text.splitlines() if line.strip()}


def emitted_sources(ctx) -> set[str]:
    """`PM/R` of every reinforcement present in the files kb emit wrote (on disk). A file
    that is exactly what kb emit would write now is not parsed again: its reinforcements are
    the ones kb emit put there."""
    from kb.emit.build import PART, EmitProblem, is_owned, rules_dir

    found: set[str] = set()
    emitted = None
    try:
        folder = rules_dir(ctx.kb)
        # kb.rules.yml, gates.yml, evals.jsonl and their further parts (kb.rules.2.yml...)
        names = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
        for name in names:
            path = folder / name
            if not (name in ("kb.rules.yml", "gates.yml", "evals.jsonl") or PART.match(name)) or not is_owned(path):
                continue
            if name.startswith("kb.rules.test"):
                continue
            read = _alert_ids if name.startswith("kb.rules.") else _gate_ids if name.startswith("gates") else _eval_ids
            text = read_text(path)
            if emitted is None:
                emitted = ctx.emitted()
            if name in emitted.ids and emitted.files.get(name) == text:
                found.update(emitted.ids[name])
            else:
                found |= read(text)
    except (OSError, ValueError, yaml.YAMLError, AttributeError, TypeError, EmitProblem):
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
                if item.kind in ("card", "task") or item.status == "wont_do":
                    continue
                if f"{pm.id}/{item.id}" not in present:
                    yield Finding(
                        doc.path,
                        f"reinforcement {item.id} ({item.kind}) is not in the files kb emit wrote "
                        f"under {ctx.settings.rules_dir}/: run kb emit",
                        loc=("reinforcements", index, "id"),
                    )
