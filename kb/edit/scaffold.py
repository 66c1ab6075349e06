"""`kb init DIR`: a new knowledge base that passes `kb check` at once."""

from __future__ import annotations

import datetime as dt
import errno
import os
import secrets
import shutil
from pathlib import Path

from kb.core.atomic import write_atomic
from kb.core.templating import default_templates_dir
from kb.model.schema import SCHEMA_DIR, schema_files

MKDOCS = """\
site_name: {name}
# site_url: https://kb.example.org/   # alert rules link cards at <site_url>cards/<id>/
docs_dir: docs
theme:
  name: material
  font: false        # system fonts: the site loads nothing from another host
  features: [content.code.copy, search.highlight]
plugins:
  - search
  - kb:
      router_budget: 40
markdown_extensions:
  - toc:
      permalink: true
  - admonition
  - attr_list
"""

ROUTER = """\
# Router

Find your situation, open that one card, follow it.

- `ExampleQueueStalled`: jobs pending for more than 15 minutes → [example-queue-stuck](cards/example-queue-stuck.yaml)
"""

ONCALL = """\
# yaml-language-server: $schema=schemas/oncall.schema.json
permissions:
  queue:read:example:
    system: Example queue console
    request: "Ask your team lead"
  queue:resume:example:
    system: Example queue consumer control
    request: "Ask your team lead"
groups:
  operators:
    grants: [queue:*]
  incident-commanders:
    grants: [queue:*]
    approves: [incident-commander, second-person]
people:
  first-person: {groups: [operators], timezone: UTC}
  second-person: {groups: [operators, incident-commanders], timezone: UTC}
rotations:
  primary:
    members: [first-person, second-person]
    coverage: 24x7
"""

CARD = """\
# yaml-language-server: $schema=../schemas/card.schema.json
id: example-queue-stuck
title: Example - jobs pending for more than 15 minutes
summary: >
  An example card: replace it with your own. Jobs queue up and nothing completes;
  resume the consumers first.
owner: operators
rotation: primary
priority: P2
triggers:
  alerts: [ExampleQueueStalled]
  symptoms: ["queue depth rises in a straight line"]
steps:
  - id: consumers
    do: Read the consumers' state
    run: "queuectl consumers example"
    requires: [queue:read:example]
    done_when: "You know whether the consumers are paused, failing or absent"
  - id: resume
    do: Resume the paused consumers
    run: "queuectl resume-consumers example"
    requires: [queue:resume:example]
    done_when: "Queue depth falls for five minutes in a row"
references:
  - path: references/example-queue.md
    section: pausing-and-resuming
last_verified: {today}
"""

REFERENCE = """\
# Example queue

Deep reference for the example card. Cards link a section by its anchor.

## Pausing and resuming

`queuectl pause-consumers example` and `queuectl resume-consumers example`.
"""

INDEX = "# Knowledge base\n\nStart at the router.\n"

RULES = """\
# Hand-written alerting rules: kb check cross-checks them with the cards; kb emit never
# writes this file (it owns only the files it generates, which carry its header).
groups:
  - name: example
    rules:
      - alert: ExampleQueueStalled
        expr: max(example_queue_oldest_job_age_seconds) > 900
        for: 5m
        labels: {priority: P2, severity: warning}
        annotations:
          summary: Example jobs pending for more than 15 minutes
          runbook_url: cards/example-queue-stuck/
"""


class InitProblem(Exception):
    pass


def init_kb(target: Path, name: str | None = None, today: dt.date | None = None) -> list[Path]:
    """Write a new knowledge base into `target`; refuses to touch any existing file."""
    today = today or dt.date.today()
    files = {
        "mkdocs.yml": MKDOCS.format(name=name or target.resolve().name or "Knowledge base"),
        "router.md": ROUTER,
        "oncall.yaml": ONCALL,
        "cards/example-queue-stuck.yaml": CARD.format(today=today.isoformat()),
        "references/example-queue.md": REFERENCE,
        "docs/index.md": INDEX,
        "postmortems/.gitkeep": "",
        "rules/example.rules.yml": RULES,
    }
    files.update({f"{SCHEMA_DIR}/{n}": text for n, text in schema_files().items()})
    for template in sorted(default_templates_dir().iterdir()):
        if template.is_file():
            files[f"templates/{template.name}"] = template.read_text(encoding="utf-8")
    existing = sorted(rel for rel in files if (target / rel).exists())
    if existing:
        raise InitProblem(
            f"{target} already has {', '.join(existing[:5])}{' ...' if len(existing) > 5 else ''}; "
            "kb init never overwrites: pick an empty folder"
        )
    if not target.exists() or (target.is_dir() and not any(target.iterdir())):
        return _init_whole(target, files)
    written = []  # a folder that already holds other files: each file is still written whole
    for rel, text in files.items():
        path = target / rel
        write_atomic(path, text, exclusive=True)
        written.append(path)
    return written


STAGING = ".kb-init."


def _init_whole(target: Path, files: dict[str, str]) -> list[Path]:
    """Build the KB in a hidden folder beside `target`, then rename it into place: a kill or
    a failure at any instant leaves no `target`, or a complete one (rename(2) is atomic and
    replaces an empty folder). Staging folders of dead kb processes are removed first."""
    parent = target.absolute().parent
    if not parent.is_dir():
        raise FileNotFoundError(errno.ENOENT, "the folder to create it in does not exist", str(parent))
    _sweep_staging(parent)
    staging = parent / f"{STAGING}{os.getpid()}.{secrets.token_hex(4)}"
    try:
        os.mkdir(staging, 0o755)
        for rel, text in files.items():
            path = staging / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "x", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
        os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return [target / rel for rel in files]


def _sweep_staging(parent: Path) -> None:
    try:
        names = [n for n in os.listdir(parent) if n.startswith(STAGING)]
    except OSError:
        return
    for name in names:
        pid = name[len(STAGING) :].split(".")[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(parent / name, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
