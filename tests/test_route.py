"""`kb route`, `kb show`, `kb check --changed-since`, and the CI integration files."""

from __future__ import annotations

import json
from pathlib import Path

import git
import pytest
import yaml
from conftest import REPO, SNAPSHOT_KB, copy_kb

from kb.commands import check, route, show

SNAPSHOT_ALERTS = sorted(
    (alert, path.stem)
    for path in (SNAPSHOT_KB / "cards").glob("*.yaml")
    for alert in (yaml.safe_load(path.read_text()).get("triggers") or {}).get("alerts", [])
)


@pytest.mark.parametrize(("alert", "card"), SNAPSHOT_ALERTS, ids=[a for a, _ in SNAPSHOT_ALERTS])
def test_route_finds_the_card_for_every_alert(alert: str, card: str, call) -> None:
    result = call(route.run, alert, root=SNAPSHOT_KB)
    assert result.returncode == 0, result.stderr
    assert f"card: cards/{card}.yaml" in result.stdout
    assert f"url:  https://kb.example.org/cards/{card}/" in result.stdout
    assert alert in result.stdout.splitlines()[0]  # the router line that names it


@pytest.mark.parametrize(
    ("words", "card"),
    [
        ("answers wrong after a deploy", "prompt-regression"),
        ("spend running away", "token-spend-runaway"),
        ("customers report refunds they did not ask for", "agent-irreversible-actions"),
        ("jobs pending for more than 15 minutes", "queue-stuck"),
        ("agentspendratehigh", "token-spend-runaway"),
    ],
)
def test_route_by_words(words: str, card: str, call) -> None:
    result = call(route.run, words, root=SNAPSHOT_KB)
    assert f"card: cards/{card}.yaml" in result.stdout, result.stdout


def test_route_no_match_lists_the_closest_lines(call) -> None:
    result = call(route.run, "xylophone", root=SNAPSHOT_KB)
    assert result.returncode == 1
    assert "no card matches 'xylophone'. Closest router lines:" in result.stderr
    assert result.stderr.count("\n  - ") == 3


def test_route_json_and_show(call) -> None:
    data = json.loads(call(route.run, "PublishConsumersPaused", output_format="json", root=SNAPSHOT_KB).stdout)
    assert data["matches"][0]["card_id"] == "queue-stuck" and data["matches"][0]["exact_alert"] is True
    shown = call(route.run, "AgentRefundAnomaly", show_card=True, root=SNAPSHOT_KB).stdout
    assert (
        "3. Run the registered compensation for each wrong action  IRREVERSIBLE, approval: incident-commander" in shown
    )
    assert "     $ auditctl compensate $ACTION_ID" in shown


def test_route_format_is_text_or_json(call) -> None:
    result = call(route.run, "QueueStalled", output_format="xml", root=SNAPSHOT_KB)
    assert result.returncode == 2 and "--format is text or json" in result.stderr


def test_show_prints_a_card_for_the_terminal(call) -> None:
    out = call(show.run, "token-spend-runaway", root=SNAPSHOT_KB).stdout
    assert out.startswith(
        "Token spend is running away  [token-spend-runaway]\nP1: Roll back at once, notify on-call, freeze releases."
    )
    assert "2. Halt the agent at the gateway" in out
    assert "     $ gatewayctl halt --agent $AGENT" in out
    assert "     needs: budget:halt:llm-gateway" in out
    assert "     for each item of: gatewayctl spend" in out
    assert "ROLLBACK\n1. Lift the halt" in out
    assert call(show.run, "nope", root=SNAPSHOT_KB).returncode == 1
    assert call(show.run, "../oncall", root=SNAPSHOT_KB).returncode == 1


def test_route_index_cache_is_never_trusted_blindly(snapshot_kb: Path, tmp_path: Path, call, monkeypatch) -> None:
    monkeypatch.setenv("KB_CACHE_DIR", str(tmp_path / "cache"))
    first = call(route.run, "budget cap ticket", root=snapshot_kb).stdout
    assert "budget-cap-review" in first
    damaged = list((tmp_path / "cache").rglob("card-index-*.sqlite"))
    assert damaged, "the first route wrote its index: the damage below must hit it"
    for cached in damaged:
        cached.write_bytes(b"{not a database" * 100)
    assert call(route.run, "budget cap ticket", root=snapshot_kb).stdout == first
    card = snapshot_kb / "cards" / "rollback-drill.yaml"
    card.write_text(card.read_text().replace("title: Monthly prompt rollback drill", "title: Monthly marimba drill"))
    assert "card: cards/rollback-drill.yaml" in call(route.run, "marimba", root=snapshot_kb).stdout


GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@x"}


@pytest.fixture
def git_kb(tmp_path: Path) -> Path:
    root = copy_kb(SNAPSHOT_KB, tmp_path / "kb")
    repo = git.Repo.init(root, initial_branch="main")
    repo.git.add("-A")
    repo.git.commit("-m", "init", env=GIT_ENV)
    repo.git.checkout("-b", "change")
    return root


@pytest.fixture
def changed(call):
    """`kb check --changed-since main` in `root`: (exit code, stdout)."""

    def run(root: Path, output_format: str = "json", since: str = "main"):
        result = call(check.run, output_format=output_format, changed_since=since, root=root)
        return result.returncode, result.stdout, result.stderr

    return run


def test_changed_since_rechecks_only_the_edited_card(git_kb: Path, changed) -> None:
    # a defect in a card nobody touched is not this change's business
    other = git_kb / "cards" / "tool-schema-drift.yaml"
    other.write_text(other.read_text().replace("rotation: sre-primary", "rotation: nobody"))
    git.Repo(git_kb).git.commit("-am", "old defect", env=GIT_ENV)
    git.Repo(git_kb).git.branch("-f", "main", "HEAD")
    edited = git_kb / "cards" / "queue-stuck.yaml"
    edited.write_text(edited.read_text().replace("rotation: sre-primary", "rotation: sre-primery"))
    code, out, _ = changed(git_kb)
    assert code == 1
    reported = json.loads(out)
    assert {d["path"] for d in reported if d["level"] == "error"} == {"cards/queue-stuck.yaml"}
    # dependents are reported on too: the postmortem that lists the card (its infos show)
    assert {d["path"] for d in reported} == {
        "cards/queue-stuck.yaml",
        "postmortems/PM-2026-004-wrong-recovery-script.yaml",
    }
    text = changed(git_kb, "text")[1]
    assert "(3 files checked)" in text  # the card, the postmortem that lists it, and the router


def test_changed_since_oncall_rechecks_every_card(git_kb: Path, changed) -> None:
    oncall = git_kb / "oncall.yaml"
    oncall.write_text(oncall.read_text().replace("      - deploy:rollback:*\n", ""))
    code, out, _ = changed(git_kb)
    assert code == 1
    paths = {d["path"] for d in json.loads(out)}
    assert {
        "cards/prompt-regression.yaml",
        "cards/agent-acting-during-freeze.yaml",
        "cards/rollback-drill.yaml",
    } <= paths
    text = changed(git_kb, "text")[1]
    cards = len(list((git_kb / "cards").glob("*.yaml")))
    assert f"({cards + 2} files checked)" in text  # every card, oncall.yaml and the router


def test_changed_since_reference_rechecks_the_cards_linking_it(git_kb: Path, changed) -> None:
    ref = git_kb / "references" / "dispatch-queue.md"
    ref.write_text(ref.read_text().replace("## The parking lot", "## The parking area"))
    code, out, _ = changed(git_kb)
    assert code == 1
    assert {d["path"] for d in json.loads(out) if d["level"] == "error"} == {"cards/queue-stuck.yaml"}


def test_changed_since_nothing_changed_and_bad_ref(git_kb: Path, tmp_path: Path, changed) -> None:
    assert changed(git_kb, "text")[1].startswith("All good: 0 files checked")
    code, _, err = changed(git_kb, "text", "no-such-ref")
    assert code == 2 and "cannot find a common ancestor of 'no-such-ref'" in err
    plain = copy_kb(SNAPSHOT_KB, tmp_path / "plain")
    code, _, err = changed(plain, "text")
    assert code == 2 and "needs a git repository" in err


def test_integration_files_are_valid() -> None:
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    assert hooks[0]["id"] == "kb-check" and hooks[0]["entry"] == "kb check"
    workflow = yaml.safe_load((REPO / "tooling" / "ci" / "github-actions-kb.yml").read_text())
    steps = workflow["jobs"]["check"]["steps"]
    runs = " ".join(step.get("run", "") for step in steps)
    assert "kb check --changed-since" in runs and "--format sarif" in runs
    assert any(step.get("uses", "").startswith("github/codeql-action/upload-sarif") for step in steps)
