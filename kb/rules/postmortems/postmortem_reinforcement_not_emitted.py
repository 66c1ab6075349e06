import json

import yaml

from kb.core.diagnostics import Finding, Level
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
    from kb.emit.build import EmitProblem, rules_dir
    from kb.load.rulefiles import ALERTS_FOLDER, GATES_FOLDER

    found: set[str] = set()
    emitted = None
    try:
        rules_dir(ctx.kb)  # a rules folder that leads out of the KB: nothing counts as present
        disk = ctx.emitted_on_disk()  # read once for this check, and KB601 reads the same
        # rules/kb/{alerts,gates,evals}/<id>.*, and an older kb's kb.rules.yml, gates.yml, evals.jsonl (and parts)
        for name in disk.owned():
            if name.startswith(f"{ALERTS_FOLDER}/") or (name.startswith("kb.rules.") and ".test." not in name):
                read = _alert_ids
            elif name.startswith(f"{GATES_FOLDER}/") or name.startswith("gates."):
                read = _gate_ids
            elif name.endswith(".jsonl"):
                read = _eval_ids
            else:
                continue  # promtool tests
            text = disk.read_text(name)
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
    # rules/kb/evals/PM-2026-004.jsonl has no PM-2026-004/R2
    ```

    Good:

    ```yaml
    status: complete
    reinforcements:
      - {id: R2, kind: eval, owner: ai-platform, due: 2026-11-20, status: done,
         eval: {input: Consumers paused, expected: Restart consumers}}
    # after kb emit: rules/kb/evals/PM-2026-004.jsonl has {"id": "PM-2026-004/R2", ...}
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
