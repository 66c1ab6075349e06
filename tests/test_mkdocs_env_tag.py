"""Finding 6 (outside review): mkdocs.yml's `!ENV` tag resolves as MkDocs resolves it (its
pyyaml_env_tag: the first variable of the list that is set, else the last item as the
default; a lone variable that is unset is null), never as the text of a list; and emitted
runbook URLs that would be relative (no absolute site_url) are a finding."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.check.engine import run_check
from kb.commands import emit as emit_verb
from kb.config.mkdocs import read_paths, read_raw
from kb.load.loader import load_kb
from kb.rules.context import RuleContext

PM = """\
id: PM-2026-001
title: Queue stalled
status: draft
priority: P2
started_at: 2026-11-03T01:52:00+00:00
model_inference: {involved: false, why_not: No agent took part.}
reinforcements:
  - id: R1
    kind: alert
    alert:
      name: QueueConsumersPaused
      expr: sum(queue_consumers_running) == 0
      for: 5m
      priority: P2
      card: queue-stuck
      summary: Consumers paused
"""


def site_url(kb: Path, value: str) -> None:
    path = kb / "mkdocs.yml"
    lines = [line for line in path.read_text().splitlines() if not line.startswith("site_url:")]
    path.write_text("\n".join([lines[0], f"site_url: {value}", *lines[1:]]) + "\n")


@pytest.mark.parametrize(
    ("value", "env", "expected"),
    [
        ('!ENV [SITE_URL, "https://kb.example.org/"]', {}, "https://kb.example.org/"),
        (
            '!ENV [SITE_URL, "https://kb.example.org/"]',
            {"SITE_URL": "https://ci.example.org/kb/"},
            "https://ci.example.org/kb/",
        ),
        ('!ENV [KB_A, KB_B, "https://d.example.org/"]', {"KB_B": "https://b.example.org/"}, "https://b.example.org/"),
        ("!ENV SITE_URL", {"SITE_URL": "https://one.example.org"}, "https://one.example.org/"),
        ("!ENV SITE_URL", {}, ""),
    ],
)
def test_env_tag_resolves_as_mkdocs_does(base_kb: Path, monkeypatch, value: str, env: dict, expected: str) -> None:
    for name in ("SITE_URL", "KB_A", "KB_B"):
        monkeypatch.delenv(name, raising=False)
    for name, setting in env.items():
        monkeypatch.setenv(name, setting)
    site_url(base_kb, value)
    assert read_paths(base_kb).site_url == expected
    assert load_kb(base_kb).config.site_url == expected


def test_env_tag_resolves_as_the_real_mkdocs_does(base_kb: Path, monkeypatch) -> None:
    """MkDocs' own loader on the same file gives the same value."""
    import yaml
    from mkdocs.utils.yaml import get_yaml_loader

    monkeypatch.delenv("SITE_URL", raising=False)
    monkeypatch.setenv("KB_B", "https://b.example.org/")
    site_url(base_kb, '!ENV [SITE_URL, KB_B, "https://d.example.org/"]')
    text = (base_kb / "mkdocs.yml").read_text()
    assert read_raw(base_kb)["site_url"] == yaml.load(text, Loader=get_yaml_loader())["site_url"]


def test_emitted_runbook_urls_without_an_absolute_site_url_are_a_finding(base_kb: Path, monkeypatch, call) -> None:
    monkeypatch.delenv("SITE_URL", raising=False)
    (base_kb / "postmortems" / "PM-2026-001-queue.yaml").write_text(PM)
    site_url(base_kb, "!ENV SITE_URL")
    assert call(emit_verb.run, root=base_kb).returncode == 0
    result = run_check(RuleContext(load_kb(base_kb)), select=["KB630"])
    (finding,) = result.diagnostics
    assert finding.path == "mkdocs.yml" and "relative" in finding.message
    site_url(base_kb, "https://kb.test/")
    assert run_check(RuleContext(load_kb(base_kb)), select=["KB630"]).diagnostics == []


def test_the_check_cache_follows_the_environment(base_kb: Path, monkeypatch, call) -> None:
    """The same mkdocs.yml with another SITE_URL is another configuration: no stale cached result."""
    from kb.commands import check as check_verb

    monkeypatch.delenv("KB_NO_CACHE", raising=False)
    (base_kb / "postmortems" / "PM-2026-001-queue.yaml").write_text(PM)
    site_url(base_kb, "!ENV SITE_URL")
    monkeypatch.setenv("SITE_URL", "https://kb.test/")
    assert call(emit_verb.run, root=base_kb).returncode == 0
    assert call(check_verb.run, root=base_kb, select=["KB630"]).returncode == 0
    monkeypatch.delenv("SITE_URL")
    assert call(check_verb.run, root=base_kb, select=["KB630"]).returncode == 1
