"""A deterministic synthetic knowledge base at the size of a large organisation.

    python tooling/synth_kb.py OUT_DIR --cards 10000

N cards (about 2.5 KB each), N/3 postmortems, an oncall.yaml with dozens of rotations and
hundreds of people, a router with two levels of sub-routers (every page within the
router budget), reference pages linked by section, and hand-written alert rule files.
The same arguments give the same bytes. The KB passes `kb check` with no errors, so every
rule runs its full course in a benchmark.
"""

from __future__ import annotations

import argparse
import random
import shutil
from pathlib import Path

FANOUT = 30  # lines per router page: under the default budget of 40
VERBS = ["Restart", "Drain", "Pause", "Resume", "Roll back", "Pin", "Halt", "Scale", "Re-run", "Rotate"]
OBJECTS = [
    "the consumers",
    "the prompt version",
    "the tool schema",
    "the worker pool",
    "the agent",
    "the cache generation",
    "the model route",
    "the batch",
    "the index",
    "the connector",
]
SYMPTOMS = [
    "answers cite pages that do not exist",
    "queue depth rises in a straight line",
    "spend per hour doubles",
    "runs stall with no heartbeat",
    "a tool returns empty results",
    "customers receive duplicate emails",
    "latency p95 above 30 seconds",
    "refunds issued twice",
]


def _card(
    rng: random.Random, n: int, service: str, rotation: str, perms: list[str], refs: list[tuple[str, str]]
) -> str:
    alert = f"Svc{service.title().replace('-', '')}Alert{n}"
    steps = []
    for k in range(5):
        verb, obj = rng.choice(VERBS), rng.choice(OBJECTS)
        requires = ", ".join(rng.sample(perms, 2))
        steps.append(
            f"  - id: step-{k + 1}\n"
            f"    do: {verb} {obj} for {service} (step {k + 1} of card {n})\n"
            f'    run: "svcctl {verb.lower().replace(" ", "-")} {service} --card c{n} --step {k + 1} --since 1h"\n'
            f"    requires: [{requires}]\n"
            f'    done_when: "svcctl status {service} shows the change applied and the error rate below 1% for 10 minutes"\n'
        )
    ref_path, section = refs[n % len(refs)]
    return (
        f"# yaml-language-server: $schema=../schemas/card.schema.json\n"
        f"id: card-{n:05d}\n"
        f'title: "{service} incident pattern {n}: {rng.choice(SYMPTOMS)}"\n'
        f"summary: >\n"
        f"  Synthetic card {n} for {service}. The paged engineer stabilises the service first and\n"
        f"  diagnoses after; every step names its command, permission and done criterion.\n"
        f"owner: team-{service}\n"
        f"rotation: {rotation}\n"
        f"priority: P{1 + n % 3}\n"
        f"services: [{service}]\n"
        f"triggers:\n"
        f"  alerts: [{alert}]\n"
        f'  symptoms: ["{rng.choice(SYMPTOMS)}", "{rng.choice(SYMPTOMS)}"]\n'
        f"steps:\n" + "".join(steps) + f"rollback:\n"
        f"  - id: undo\n"
        f"    do: Undo the last change to {service}\n"
        f'    run: "svcctl undo {service} --card c{n}"\n'
        f"    requires: [{perms[0]}]\n"
        f'    done_when: "svcctl status {service} shows the previous state"\n'
        f"references:\n"
        f"  - path: {ref_path}\n"
        f"    section: {section}\n"
        f"last_verified: 2026-11-{1 + n % 20:02d}\n"
        f"last_drilled: 2026-10-{1 + n % 28:02d}\n"
    ), alert


def _postmortem(rng: random.Random, n: int, card_ids: list[str], alerts: dict[str, str], service: str) -> str:
    involved = n % 2 == 0
    card = rng.choice(card_ids)
    day = 1 + n % 27
    row = (
        "model_inference:\n  involved: true\n  failure_mode: plan_error\n  confidence: known\n"
        "  model: {provider: anthropic, requested: claude-x, served: claude-x-2026-09-01}\n"
        f'  trace_id: {n:032x}\n  inferred: "Chose the wrong recovery"\n  expected: "Restart consumers"\n'
        if involved
        else "model_inference:\n  involved: false\n  why_not: No agent acted in this incident.\n"
    )
    return (
        f"# yaml-language-server: $schema=../schemas/postmortem.schema.json\n"
        f"id: PM-2026-{n:04d}\n"
        f"title: Synthetic incident {n} in {service}\n"
        f"status: review\n"
        f"kind: incident\n"
        f"priority: P{1 + n % 3}\n"
        f"services: [{service}]\n"
        f"cards: [{card}]\n"
        f"started_at: 2026-10-{day:02d}T01:00:00+00:00\n"
        f"detected_at: 2026-10-{day:02d}T01:10:00+00:00\n"
        f"mitigated_at: 2026-10-{day:02d}T01:40:00+00:00\n"
        f"resolved_at: 2026-10-{day:02d}T03:00:00+00:00\n"
        f"detection: {{method: alert, alert: {alerts[card]}}}\n"
        f"summary: Synthetic incident {n}; the service degraded and the card restored it.\n"
        f"timeline:\n"
        f"  - {{at: 2026-10-{day:02d}T01:10:00+00:00, actor: system, event: Alert fired}}\n"
        f"  - {{at: 2026-10-{day:02d}T01:40:00+00:00, actor: human, event: Mitigated with {card}}}\n"
        f"trigger: A change to {service}\n"
        f"root_causes:\n  - {{category: config, description: A config change without a canary}}\n"
        + row
        + f"five_questions:\n  trigger: A config change\n  guardrail_missed: No canary\n"
        f"  observability_gap: None\n  rollback_speed: Fast\n  prevention: A canary gate\n"
        f"recovery: {{switchback_minutes: 4, core_recovery_minutes: 12, first_update_minutes: 10}}\n"
        f"reinforcements:\n"
        f"  - id: R1\n    kind: gate\n    owner: team-{service}\n    due: 2027-01-15\n    status: open\n"
        f"    gate: {{name: canary-{n}, applies_to: [{service}], check: Config changes go through a canary, blocking: true}}\n"
        f"  - id: R2\n    kind: eval\n    owner: ai-platform\n    due: 2027-01-15\n    status: open\n"
        f'    eval: {{input: "Incident {n} symptoms", expected: "Stabilise first", forbidden: "Restart everything"}}\n'
    )


def generate(out: Path, cards: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    if out.exists():
        shutil.rmtree(out)
    for folder in ("cards", "postmortems", "references", "routes", "rules", "docs"):
        (out / folder).mkdir(parents=True)
    (out / "docs" / ".gitkeep").write_text("")
    services = [f"svc-{i:03d}" for i in range(max(10, cards // 100))]
    teams = 40
    rotations = [f"rot-{i:02d}" for i in range(teams)]
    # permissions: one system per team, three actions each
    perms_by_rotation = {
        r: [f"sys{i:02d}:{a}:prod" for a in ("read", "write", "restart")] for i, r in enumerate(rotations)
    }
    oncall = ["# yaml-language-server: $schema=schemas/oncall.schema.json", "permissions:"]
    for perms in perms_by_rotation.values():
        for p in perms:
            oncall.append(f'  {p}: {{system: {p.split(":")[0]}, request: "#access-requests"}}')
    oncall.append("groups:")
    for i, r in enumerate(rotations):
        oncall.append(f'  team-{i:02d}: {{grants: ["sys{i:02d}:*"]}}')
    oncall.append("  commanders: {grants: [], approves: [incident-commander, second-person]}")
    oncall.append("people:")
    members: dict[str, list[str]] = {r: [] for r in rotations}
    zones = ["Europe/Berlin", "America/New_York", "Asia/Tokyo", "UTC", "America/Los_Angeles"]
    for p in range(teams * 8):
        team = p % teams
        name = f"person-{p:03d}"
        groups = [f"team-{team:02d}"] + (["commanders"] if p % 8 == 0 else [])
        oncall.append(f"  {name}: {{groups: [{', '.join(groups)}], timezone: {zones[p % len(zones)]}}}")
        if len(members[rotations[team]]) < 4:
            members[rotations[team]].append(name)
    oncall.append("rotations:")
    for r in rotations:
        oncall.append(f"  {r}: {{members: [{', '.join(members[r])}], coverage: 24x7}}")
    (out / "oncall.yaml").write_text("\n".join(oncall) + "\n")

    refs = []
    for i in range(max(5, cards // 200)):
        sections = [f"Procedure {k}" for k in range(10)]
        body = [f"# Reference {i}", ""]
        for s in sections:
            body += [f"## {s}", "", f"Background for {s.lower()} of reference {i}.", ""]
        (out / "references" / f"ref-{i:03d}.md").write_text("\n".join(body))
        refs += [(f"references/ref-{i:03d}.md", s.lower().replace(" ", "-")) for s in sections]

    card_ids, alerts, lines = [], {}, []
    for n in range(cards):
        service = services[n % len(services)]
        rotation = rotations[n % teams]
        text, alert = _card(rng, n, service, rotation, perms_by_rotation[rotation], refs)
        card_id = f"card-{n:05d}"
        (out / "cards" / f"{card_id}.yaml").write_text(text)
        card_ids.append(card_id)
        alerts[card_id] = alert
        lines.append((f"`{alert}`: {service} pattern {n}", card_id))

    # router: leaves of FANOUT cards, grouped upward until one page fits
    level, pages = 0, []
    entries = [(text, f"cards/{cid}.yaml") for text, cid in lines]
    while len(entries) > FANOUT:
        level += 1
        grouped = []
        for start in range(0, len(entries), FANOUT):
            chunk = entries[start : start + FANOUT]
            name = f"routes/l{level}-{start // FANOUT:04d}.md"
            body = [f"# Routes {level}.{start // FANOUT}", ""]
            for text, target in chunk:
                rel = target if target.startswith("routes/") else target
                link = f"../{rel}" if not rel.startswith("routes/") else rel.split("/", 1)[1]
                label = Path(target).stem
                body.append(f"- {text} → [{label}]({link})")
            (out / name).write_text("\n".join(body) + "\n")
            pages.append(name)
            grouped.append((f"Group {level}.{start // FANOUT}", name))
        entries = grouped
    router = ["# Router", "", "Find your situation, open that one card.", ""]
    for text, target in entries:
        router.append(f"- {text} → [{Path(target).stem}]({target})")
    (out / "router.md").write_text("\n".join(router) + "\n")

    services_pm = max(1, cards // 3)
    for n in range(services_pm):
        service = services[n % len(services)]
        (out / "postmortems" / f"PM-2026-{n:04d}-synthetic.yaml").write_text(
            _postmortem(rng, n, card_ids, alerts, service)
        )

    for f in range(0, cards, 1000):  # one hand-written rule file per 1,000 alerts
        rule_lines = ["groups:"]
        for g in range(f, min(f + 1000, cards), 500):
            rule_lines.append(f"  - name: hand-written-{g // 500}")
            rule_lines.append("    rules:")
            for n in range(g, min(g + 500, cards)):
                rule_lines += [
                    f"      - alert: {alerts[card_ids[n]]}",
                    f'        expr: svc_errors_total{{card="c{n}"}} > 5',
                    "        for: 5m",
                    f'        annotations: {{runbook_url: "https://kb.example.org/cards/{card_ids[n]}/"}}',
                ]
        (out / "rules" / f"hand-written-{f // 1000:02d}.rules.yml").write_text("\n".join(rule_lines) + "\n")
    (out / "mkdocs.yml").write_text(
        "site_name: Synthetic KB\nsite_url: https://kb.example.org/\ndocs_dir: docs\ntheme:\n  name: material\n"
        "  font: false\nplugins:\n  - search\n  - kb:\n      today: 2026-11-22\n"
        "markdown_extensions:\n  - toc:\n      permalink: true\n"
    )
    # what kb emit writes from the postmortems, so the KB passes kb check like a real one
    from kb.emit.build import build, write
    from kb.load.loader import load_kb
    from kb.rules import secret_allowlist

    kb = load_kb(out)
    write(kb, build(kb), secret_allowlist())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--cards", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    generate(args.out, args.cards, args.seed)


if __name__ == "__main__":
    main()
