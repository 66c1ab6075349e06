"""A deterministic synthetic knowledge base at the size of a large organisation.

    python tooling/synth_kb.py OUT_DIR --cards 10000 [--findings 0.05]

Shaped like a real one, not like the benchmark's wishes:

- N cards (about 3 KB each: five steps with commands, permissions and done criteria, some
  irreversible with an approval and a worklist, a rollback, references by section, the
  postmortems that changed them);
- N/3 postmortems (about 6 KB each) with a timeline, decision points, the model-inference
  row and telemetry, and every reinforcement kind: an alert with its incident replay, a
  gate, a test, an eval and a card change; most are `complete`, so every reinforcement is
  in what `kb emit` wrote, which is run on the result (megabytes of emitted rules and tests);
- hand-written Prometheus rule files of about 1.5 MB each (multi-line expressions,
  recording rules, labels, templated annotations) defining every card's alert;
- an oncall.yaml with 40 rotations and 320 people, escalation to incident commanders;
- reference pages of prose and code blocks, linked by section;
- a router with two levels of sub-routers, every page within the router budget;
- text that looks like a credential to a naive scanner and is not one: trace and span ids,
  commit shas, image digests, UUIDs, ULIDs, words like "secret store" and "password reset".

The same arguments give the same bytes. The KB passes `kb check` with no errors (every rule
runs its full course); `--findings 0.05` then changes 5% of the cards and postmortems so that
each carries a finding (typos, missing done criteria, unknown references, out-of-order
timelines, open reinforcements on complete postmortems, stale cards, a pasted token).
`max_file_bytes` is raised in mkdocs.yml: kb's own emitted files outgrow the 1 MB default.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import re
import shutil
from pathlib import Path

FANOUT = 30  # lines per router page: under the default budget of 40
TEAMS = 40
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
    "password reset emails go out twice",
    "the secret store answers 503 to the agent runtime",
]
FAILURE_MODES = ["plan_error", "invalid_tool", "tool_args_wrong_value", "false_completion", "context_misread"]
CATEGORIES = ["code", "config", "dependency", "capacity", "data", "process", "access"]
ULID = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_AWS_KEY_ID = re.compile(r"(?:A3T[A-Z0-9]|ABIA|ACCA|AKIA|ASIA)[0-9A-Z]{16}")  # detect-secrets' AWS pattern


def _hex(*parts: object, length: int = 32) -> str:
    """A stable hex string (trace id, commit sha, digest) from its parts."""
    return hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()[:length]


def _uuid(*parts: object) -> str:
    h = _hex(*parts, "uuid")
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"


def _ulid(*parts: object) -> str:
    """A ULID-shaped request id. A real one can spell an AWS key id (ACCA..., A3T...), which
    detect-secrets reports: the clean corpus draws again, as a team would allowlist it."""
    salt = 0
    while True:
        digest = hashlib.sha256("/".join(map(str, (*parts, salt))).encode()).digest()
        ulid = "01" + "".join(ULID[b % 32] for b in digest[:24])
        if not _AWS_KEY_ID.search(ulid):
            return ulid
        salt += 1


def _alert(service: str, n: int) -> str:
    return f"Svc{service.title().replace('-', '')}Alert{n}"


def _card(
    rng: random.Random,
    n: int,
    service: str,
    rotation: str,
    perms: list[str],
    refs: list[tuple[str, str]],
    postmortems: list[str],
) -> str:
    steps = []
    for k in range(5):
        verb, obj = rng.choice(VERBS), rng.choice(OBJECTS)
        requires = ", ".join(rng.sample(perms, 2))
        if k == 1:  # the evidence step quotes ids an engineer pastes: they look random, they are not secrets
            steps.append(
                f"  - id: step-{k + 1}\n"
                f"    do: Find the failing traces for {service} and the deploy that preceded them\n"
                f'    run: "tracectl search --service {service} --trace {_hex(n, "trace")} --since 1h"\n'
                f"    requires: [{requires}]\n"
                f"    done_when: >\n"
                f"      The trace list names deploy {_hex(n, 'sha', length=40)} (image\n"
                f"      sha256:{_hex(n, 'image', length=64)}) and request {_ulid(n, 'req')}\n"
            )
            continue
        irreversible = k == 4 and n % 4 == 0
        steps.append(
            f"  - id: step-{k + 1}\n"
            f"    do: {verb} {obj} for {service} (step {k + 1} of card {n})\n"
            f'    run: "svcctl {verb.lower().replace(" ", "-")} {service} --card c{n} --step {k + 1} --since 1h"\n'
            f"    requires: [{requires}]\n"
            + (
                "    irreversible: true\n    approval: incident-commander\n"
                f'    worklist: "svcctl tenants --affected --service {service} --run {_uuid(n, k)}"\n'
                if irreversible
                else ""
            )
            + f'    done_when: "svcctl status {service} shows the change applied and the error rate below 1% for 10 minutes"\n'
        )
    linked = [refs[n % len(refs)], refs[(n * 7 + 3) % len(refs)]]
    references = "".join(f"  - path: {path}\n    section: {section}\n" for path, section in dict(linked).items())
    return (
        f"# yaml-language-server: $schema=../schemas/card.schema.json\n"
        f"id: card-{n:05d}\n"
        f'title: "{service} incident pattern {n}: {rng.choice(SYMPTOMS)}"\n'
        f"summary: >\n"
        f"  Synthetic card {n} for {service}. The paged engineer stabilises the service first and\n"
        f"  diagnoses after; every step names its command, permission and done criterion. The\n"
        f"  agent's credentials live in the secret store, never in this card.\n"
        f"owner: team-{service}\n"
        f"rotation: {rotation}\n"
        f"priority: P{1 + n % 3}\n"
        f"services: [{service}]\n"
        f"triggers:\n"
        f"  alerts: [{_alert(service, n)}]\n"
        f'  symptoms: ["{rng.choice(SYMPTOMS)}", "{rng.choice(SYMPTOMS)}"]\n'
        f"steps:\n" + "".join(steps) + f"rollback:\n"
        f"  - id: undo\n"
        f"    do: Undo the last change to {service}\n"
        f'    run: "svcctl undo {service} --card c{n}"\n'
        f"    requires: [{perms[0]}]\n"
        f'    done_when: "svcctl status {service} shows the previous state"\n'
        f"references:\n{references}"
        + (f"postmortems: [{', '.join(postmortems)}]\n" if postmortems else "")
        + f"last_verified: 2026-11-{1 + n % 20:02d}\n"
        + (f"last_drilled: {drill_day(n)}\n" if drilled(n) else "")
    )


def drilled(n: int) -> bool:
    """One card in 20 was drilled (kb run --drill wrote its log under runs/)."""
    return n % 20 == 0


def drill_day(n: int) -> str:
    return f"2026-10-{1 + n % 28:02d}"


def pm_id(n: int) -> str:
    return f"PM-{2020 + n // 10000}-{n % 10000:04d}"


def _postmortem(rng: random.Random, n: int, card: str, card_alert: str, service: str) -> str:
    card_priority = f"P{1 + int(card.rsplit('-', 1)[1]) % 3}"  # an alert as urgent as its card (KB606)
    involved = n % 2 == 0
    status = (
        ("complete", "complete", "complete", "complete", "complete", "complete", "review", "review", "review")[n % 9]
        if n % 10
        else "draft"
    )
    done = status == "complete"
    day = 1 + n % 27
    at = f"2026-10-{day:02d}T"
    trace, span = _hex(n, "pm-trace"), _hex(n, "pm-span", length=16)
    row = (
        "model_inference:\n  involved: true\n"
        f"  failure_mode: {FAILURE_MODES[n % len(FAILURE_MODES)]}\n  confidence: known\n"
        f'  agent: {{name: triage-agent, version: "{n % 50}"}}\n'
        "  model: {provider: anthropic, requested: claude-x, served: claude-x-2026-09-01}\n"
        f'  prompt: {{name: triage-system, version: "{n % 50}"}}\n'
        "  sampling: {temperature: 0.2, seed: null}\n"
        f'  trace_id: "{trace}"\n  span_id: "{span}"\n'  # quoted: an id of digits only is a number to YAML
        f'  inferred: "Symptoms matched the wrong scenario for {service}; ran the recovery script"\n'
        f'  expected: "Pause {service} consumers and restart them; no recovery script"\n'
        "  ground_truth_source: consumer-state panel, config push log\n"
        '  context_available: "Queue depth and the runbook text; not the consumer state"\n'
        '  adversarial_input: "no"\n  autonomy: acts_with_approval\n  reproducible: flaky\n'
        "  reruns: {count: 10, failed: 3}\n"
        "telemetry:\n"
        f'  trace_id: "{trace}"\n'
        "  gen_ai.agent.name: triage-agent\n  gen_ai.request.model: claude-x\n"
        "  gen_ai.response.model: claude-x-2026-09-01\n"
        f"  gen_ai.usage.input_tokens: {40000 + n % 9000}\n  gen_ai.usage.output_tokens: {2000 + n % 900}\n"
        "  gen_ai.tool.name: run_script\n  error.type: wrong_recovery_action\n  cost_usd: 3.40\n"
        if involved
        else "model_inference:\n  involved: false\n  why_not: No agent acted in this incident; people ran every step.\n"
    )
    state = "done" if done else "open"
    due = "2026-11-20" if done else "2027-01-15"
    alert = f"Pm{n}{service.title().replace('-', '')}QueueStuck"
    metric = f'svc_queue_depth{{service="{service}",pm="{n}"}}'
    wont_do = done and n % 7 == 3  # a test nobody will write: left out of what kb emit writes
    test_status = "wont_do\n    why: The suite for this service is being replaced this quarter" if wont_do else state
    return (
        f"# yaml-language-server: $schema=../schemas/postmortem.schema.json\n"
        f"id: {pm_id(n)}\n"
        f"title: Synthetic incident {n} in {service}\n"
        f"status: {status}\n"
        f"kind: {'near_miss' if n % 11 == 5 else 'incident'}\n"
        f"priority: P{1 + n % 3}\n"
        f"services: [{service}]\n"
        f"cards: [{card}]\n"
        f"started_at: {at}01:00:00+00:00\n"
        f"detected_at: {at}01:10:00+00:00\n"
        f"mitigated_at: {at}01:40:00+00:00\n"
        f"resolved_at: {at}03:00:00+00:00\n"
        f"detection: {{method: alert, alert: {card_alert}}}\n"
        f"summary: >\n"
        f"  Synthetic incident {n}: a config push paused every {service} consumer. The triage agent\n"
        f"  matched the rising queue to the dead-letter scenario and ran the recovery script, which\n"
        f"  re-enqueued already-delivered jobs. Deploy {_hex(n, 'pm-sha', length=40)} had shipped the push.\n"
        f"impact: {{users_affected: {100 + n % 5000}, duration_minutes: 40, cost_usd: {n % 900}}}\n"
        f"timeline:\n"
        f"  - {{at: {at}01:00:00+00:00, actor: system, event: Config push {_hex(n, 'push', length=12)} pauses the consumers}}\n"
        f"  - {{at: {at}01:10:00+00:00, actor: system, event: {card_alert} fired}}\n"
        f'  - {{at: {at}01:10:19+00:00, actor: agent, event: Triage agent posted "Acknowledged", decision: true}}\n'
        f"  - {{at: {at}01:16:00+00:00, actor: agent, event: Triage agent ran the recovery script (trace {trace}), decision: true}}\n"
        f"  - {{at: {at}01:31:00+00:00, actor: human, event: On-call paged by customer reports; opens {card}}}\n"
        f"  - {{at: {at}01:40:00+00:00, actor: human, event: Mitigated with {card}; duplicates stop}}\n"
        f"  - {{at: {at}03:00:00+00:00, actor: human, event: Duplicate jobs marked in the ledger (request {_ulid(n, 'pm')})}}\n"
        f"decision_points:\n"
        f"  - at: {at}01:16:00+00:00\n"
        f"    decision: Agent chose the dead-letter recovery script\n"
        f"    information_available: Queue depth and the runbook text; not the consumer state\n"
        f"trigger: A config push to {service} paused every consumer\n"
        f"root_causes:\n"
        f"  - {{category: {CATEGORIES[n % len(CATEGORIES)]}, description: A config change without a canary}}\n"
        f"  - {{category: process, description: An auto-approve rule let the agent act with nobody awake}}\n"
        + row
        + "five_questions:\n"
        f"  trigger: A config push set paused_by=config on every {service} consumer at once.\n"
        "  guardrail_missed: The recovery script had no precondition that consumers were running.\n"
        "  observability_gap: No alert on all consumers paused with work queued.\n"
        "  rollback_speed: Slow; nobody human looked until customers reported duplicates.\n"
        "  prevention: Alert on paused consumers, a gate on recovery scripts, an eval for this scenario.\n"
        f"recovery: {{switchback_minutes: {n % 5}, core_recovery_minutes: {5 + n % 10}, first_update_minutes: 10}}\n"
        "reinforcements:\n"
        f"  - id: R1\n    kind: alert\n    owner: team-{service}\n    due: {due}\n    status: {state}\n"
        "    alert:\n"
        f"      name: {alert}\n"
        f"      expr: sum({metric}) > 100\n"
        "      for: 5m\n"
        f"      priority: {card_priority}\n"
        f"      card: {card}\n"
        f"      summary: Work queued for {service} with no consumer taking it\n"
        "      replay:\n"
        "        interval: 1m\n"
        "        series:\n"
        f"          - {{series: '{metric}', values: '0x10 500x50'}}\n"
        "        fires_at: 16m\n"
        f"  - id: R2\n    kind: gate\n    owner: ai-platform\n    due: {due}\n    status: {state}\n"
        f"    gate: {{name: recovery-evidence-{n}, applies_to: [triage-agent], "
        "check: The agent's plan cites the consumer-state panel before any recovery script runs, blocking: true}\n"
        f"  - id: R3\n    kind: test\n    owner: team-{service}\n    due: {due}\n    status: {test_status}\n"
        f"    test: {{name: test_pause_blocks_recovery_{n}, path: tests/{service}/test_recovery.py, "
        "asserts: The recovery script refuses to run while consumers are paused}\n"
        f"  - id: R4\n    kind: eval\n    owner: ai-platform\n    due: {due}\n    status: {state}\n"
        f'    eval: {{input: "Queue depth rising on {service}, consumers paused by config push", '
        'expected: "Chooses the consumer-restart scenario", forbidden: "Runs the dead-letter recovery script"}\n'
        f"  - id: R5\n    kind: card\n    owner: team-{service}\n    due: {due}\n    status: {state}\n"
        f"    card: {{id: {card}, change: The first step reads the consumer state before anything else, "
        "narrows_authority: true}\n"
    )


def _oncall(rotations: list[str], perms_by_rotation: dict[str, list[str]]) -> str:
    lines = ["# yaml-language-server: $schema=schemas/oncall.schema.json", "permissions:"]
    for perms in perms_by_rotation.values():
        for p in perms:
            lines.append(f'  {p}: {{system: {p.split(":")[0]}, request: "#access-requests"}}')
    lines.append("groups:")
    for i in range(len(rotations)):
        lines.append(f'  team-{i:02d}: {{grants: ["sys{i:02d}:*"]}}')
    lines.append("  commanders: {grants: [], approves: [incident-commander, second-person]}")
    lines.append("people:")
    members: dict[str, list[str]] = {r: [] for r in rotations}
    zones = ["Europe/Berlin", "America/New_York", "Asia/Tokyo", "UTC", "America/Los_Angeles"]
    for p in range(len(rotations) * 8):
        team = p % len(rotations)
        name = f"person-{p:03d}"
        groups = [f"team-{team:02d}"] + (["commanders"] if p % 8 == 0 else [])
        lines.append(f"  {name}: {{groups: [{', '.join(groups)}], timezone: {zones[p % len(zones)]}}}")
        if len(members[rotations[team]]) < 4:
            members[rotations[team]].append(name)
    lines.append("rotations:")
    for i, r in enumerate(rotations):
        # teams 0, 8, 16 ... have a commander among their members: the others escalate to one
        escalation = "" if i % 8 == 0 else f", escalates_to: {rotations[i - i % 8]}"
        lines.append(f"  {r}: {{members: [{', '.join(members[r])}], coverage: 24x7{escalation}}}")
    return "\n".join(lines) + "\n"


def _reference(i: int) -> tuple[str, list[str]]:
    sections = [f"Procedure {k}" for k in range(10)]
    body = [f"# Reference {i}", "", f"How service group {i} is built and operated; the cards link the sections."]
    for k, s in enumerate(sections):
        body += [
            "",
            f"## {s}",
            "",
            f"Background for {s.lower()} of reference {i}. The dispatcher keeps one lease per consumer;",
            "a consumer that loses its lease stops within one poll interval and never takes new work.",
            f"The write-ahead log of group {i} is compacted nightly; commit {_hex(i, k, 'ref', length=40)}",
            "introduced the current layout. Credentials for the runtime come from the secret store",
            "(never from this page); a password reset of the service account takes a new deploy.",
            "",
            "```console",
            f"$ tracectl show {_hex(i, k, 'ref-trace')} --span {_hex(i, k, 'ref-span', length=16)}",
            f"run {_uuid(i, k)} step 4 status=crashed image=sha256:{_hex(i, k, 'img', length=64)}",
            "```",
        ]
    return "\n".join(body) + "\n", [s.lower().replace(" ", "-") for s in sections]


def _hand_written_rules(alerts: list[tuple[str, str, str]], first: int) -> str:
    """A hand-written Prometheus rule file: a recording rule and multi-line alerts per group."""
    out = [
        "# Hand-written alerting rules, one group per service family. kb reads this file and",
        "# never writes it; the runbook_url of each alert is the card it pages to.",
        "groups:",
    ]
    for g in range(0, len(alerts), 250):
        chunk = alerts[g : g + 250]
        out += [
            f"  - name: hand-written-{(first + g) // 250}",
            "    interval: 1m",
            "    rules:",
            f"      - record: job:svc_errors:rate5m_{(first + g) // 250}",
            "        expr: sum by (job, service) (rate(svc_errors_total[5m]))",
        ]
        for name, card, service in chunk:
            out += [
                f"      - alert: {name}",
                "        expr: |",
                f'          sum by (service, agent) (rate(svc_errors_total{{service="{service}",card="{card}"}}[5m]))',
                f'            / sum by (service, agent) (rate(svc_requests_total{{service="{service}"}}[5m])) > 0.05',
                "        for: 10m",
                "        labels:",
                f"          priority: P{1 + int(card.rsplit('-', 1)[1]) % 3}",  # the card's own priority (KB606)
                "          severity: warning",
                f"          team: team-{service}",
                "        annotations:",
                f'          summary: "Error ratio above 5% on {service} for {{{{ $labels.agent }}}}"',
                "          description: >-",
                f"            {{{{ $value | humanizePercentage }}}} of {service} requests failed over 10 minutes;",
                "            follow the card, then look at the traces of the failing agent.",
                f"          runbook_url: https://kb.example.org/cards/{card}/",
                f"          dashboard: https://grafana.example.org/d/{_hex(card, 'dash', length=9)}/{service}",
            ]
    return "\n".join(out) + "\n"


def _router(out: Path, lines: list[tuple[str, str]]) -> None:
    """Leaves of FANOUT cards, grouped upward until one page fits."""
    level = 0
    entries = [(text, f"cards/{cid}.yaml") for text, cid in lines]
    while len(entries) > FANOUT:
        level += 1
        grouped = []
        for start in range(0, len(entries), FANOUT):
            chunk = entries[start : start + FANOUT]
            name = f"routes/l{level}-{start // FANOUT:04d}.md"
            body = [f"# Routes {level}.{start // FANOUT}", ""]
            for text, target in chunk:
                link = target.split("/", 1)[1] if target.startswith("routes/") else f"../{target}"
                body.append(f"- {text} → [{Path(target).stem}]({link})")
            (out / name).write_text("\n".join(body) + "\n")
            grouped.append((f"Group {level}.{start // FANOUT}", name))
        entries = grouped
    router = ["# Router", "", "Find your situation, open that one card.", ""]
    for text, target in entries:
        router.append(f"- {text} → [{Path(target).stem}]({target})")
    (out / "router.md").write_text("\n".join(router) + "\n")


def generate(out: Path, cards: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    if out.exists():
        shutil.rmtree(out)
    for folder in ("cards", "postmortems", "references", "routes", "rules", "docs"):
        (out / folder).mkdir(parents=True)
    (out / "docs" / ".gitkeep").write_text("")
    services = [f"svc-{i:03d}" for i in range(max(10, cards // 100))]
    rotations = [f"rot-{i:02d}" for i in range(TEAMS)]
    # permissions: one system per team, three actions each
    perms_by_rotation = {
        r: [f"sys{i:02d}:{a}:prod" for a in ("read", "write", "restart")] for i, r in enumerate(rotations)
    }
    (out / "oncall.yaml").write_text(_oncall(rotations, perms_by_rotation))

    refs = []
    for i in range(max(5, cards // 200)):
        text, sections = _reference(i)
        (out / "references" / f"ref-{i:03d}.md").write_text(text)
        refs += [(f"references/ref-{i:03d}.md", s) for s in sections]

    postmortems = max(1, cards // 3)
    pm_card = {n: (n * 3 + 1) % cards for n in range(postmortems)}  # the card each incident used
    pms_of_card: dict[int, list[str]] = {}
    for n, c in pm_card.items():
        pms_of_card.setdefault(c, []).append(pm_id(n))

    card_ids, lines, alerts = [], [], []
    for n in range(cards):
        service = services[n % len(services)]
        rotation = rotations[n % TEAMS]
        text = _card(rng, n, service, rotation, perms_by_rotation[rotation], refs, pms_of_card.get(n, []))
        card_id = f"card-{n:05d}"
        (out / "cards" / f"{card_id}.yaml").write_text(text)
        card_ids.append(card_id)
        alerts.append((_alert(service, n), card_id, service))
        lines.append((f"`{_alert(service, n)}`: {service} pattern {n}", card_id))
    _router(out, lines)

    for n in range(postmortems):
        c = pm_card[n]
        service = services[c % len(services)]
        (out / "postmortems" / f"{pm_id(n)}-synthetic-incident.yaml").write_text(
            _postmortem(rng, n, card_ids[c], alerts[c][0], service)
        )

    per_file = 2000  # about 1.5 MB of hand-written rules per file
    for f in range(0, cards, per_file):
        (out / "rules" / f"hand-written-{f // per_file:02d}.rules.yml").write_text(
            _hand_written_rules(alerts[f : f + per_file], f)
        )
    (out / "mkdocs.yml").write_text(
        "site_name: Synthetic KB\nsite_url: https://kb.example.org/\ndocs_dir: docs\ntheme:\n  name: material\n"
        "  font: false\nplugins:\n  - search\n  - kb:\n      today: 2026-11-22\n"
        "      max_file_bytes: 50000000  # kb emit's own files pass 1 MB at a few thousand postmortems\n"
        "markdown_extensions:\n  - toc:\n      permalink: true\n"
    )
    # what kb emit writes from the postmortems, so the KB passes kb check like a real one
    from kb.emit.build import build, write
    from kb.load.loader import load_kb
    from kb.rules import secret_allowlist

    kb = load_kb(out)
    write(kb, build(kb), secret_allowlist())
    _drill_logs(out, [n for n in range(cards) if drilled(n)])


def _drill_logs(out: Path, drilled_cards: list[int]) -> None:
    """The drill logs behind each last_drilled, written by kb's own run log (as `kb run CARD
    --drill` writes them): started, every step done (the irreversible one approved, its
    worklist item checked), the rollback walked, a status update posted, ended mitigated on the
    day the card says."""
    import datetime as dt

    from kb.edit import run_log

    for n in drilled_cards:
        started = dt.datetime.fromisoformat(f"{drill_day(n)}T14:00:00+00:00")
        team = n % TEAMS
        actor = f"person-{team:03d}"  # on the card's rotation
        commander = f"person-{team - team % 8 + TEAMS:03d}"  # reachable by escalation (see _oncall)
        path = run_log.start(out, "runs", f"card-{n:05d}", actor, True, started)
        events: list[dict] = [
            {"event": "done", "step": "step-1", "evidence": f"drill {n}: step 1 verified on staging"},
            {"event": "done", "step": "step-2", "evidence": f"trace {_hex(n, 'drill')} found"},
            {"event": "note", "text": "Drill under way; no user impact", "update": True},
            {"event": "done", "step": "step-3", "evidence": "applied"},
            {"event": "done", "step": "step-4", "evidence": "applied"},
        ]
        if n % 4 == 0:  # the irreversible step: approved, its worklist walked
            events += [
                {"event": "approved", "step": "step-5", "approver": commander},
                {"event": "item", "step": "step-5", "item": "tenant-a", "verdict": "ok"},
            ]
        events.append({"event": "done", "step": "step-5", "evidence": "applied"})
        # a drill walks the rollback too: a step with no outcome is not drilled (kb.analysis.runs.drill_complete)
        events.append({"event": "done", "step": "undo", "evidence": "previous state restored on staging"})
        for minute, event in enumerate(events, start=1):
            run_log.append(path, {**event, "actor": actor}, started + dt.timedelta(minutes=minute))
        ended = {"event": "end", "actor": actor, "outcome": "mitigated"}
        run_log.append(path, ended, started + dt.timedelta(minutes=20))


FAKE_TOKEN = "ghp_" + "".join(ULID[(i * 7) % 32] for i in range(36))  # GitHub's token shape; not a real token


def inject_findings(out: Path, fraction: float, seed: int = 11) -> int:
    """Change `fraction` of the cards and postmortems so that each carries a finding, the way
    people get files wrong; returns how many were changed."""
    rng = random.Random(seed)
    cards = sorted((out / "cards").glob("*.yaml"))
    pms = sorted((out / "postmortems").glob("*.yaml"))
    card_edits = [
        ("    done_when: ", "    done_wen: "),  # a typo: unknown field, and no done criterion
        ("rotation: rot-", "rotation: rota-"),  # unknown rotation
        ("last_verified: 2026-", "last_verified: 2025-"),  # stale
        ('--since 1h"\n', f'--since 1h --token {FAKE_TOKEN}"\n'),  # a pasted credential
        (":prod, ", ":staging, "),  # a permission the catalogue does not list
    ]
    pm_edits = [
        ("T01:16:00+00:00, actor: agent", "T00:16:00+00:00, actor: agent"),  # timeline out of order
        ("    status: done\n", "    status: open\n"),  # complete with an open reinforcement (and due)
        ("cards: [card-", "cards: [missing-card-"),  # unknown card
        ("status: review\n", "status: reveiw\n"),  # not a status
        ("  involved: true\n", "  involved: true\n  confidnce: known\n"),  # a typo
    ]
    changed = 0
    for files, edits in ((cards, card_edits), (pms, pm_edits)):
        for i, path in enumerate(rng.sample(files, round(len(files) * fraction))):
            text = path.read_text()
            for k in range(len(edits)):
                old, new = edits[(i + k) % len(edits)]
                if old in text:
                    path.write_text(text.replace(old, new, 1))
                    changed += 1
                    break
    return changed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--cards", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--findings", type=float, default=0.0, help="fraction of cards and postmortems given a finding")
    args = parser.parse_args()
    generate(args.out, args.cards, args.seed)
    if args.findings:
        inject_findings(args.out, args.findings)


if __name__ == "__main__":
    main()
