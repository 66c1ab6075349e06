"""`kb route`, `kb show`, `kb check --changed-since`, and the CI integration files."""

from __future__ import annotations

import json
from pathlib import Path

import git
import pytest
import yaml
from conftest import REPO, copy_kb, run_kb

REPO_ALERTS = sorted(
    (alert, path.stem)
    for path in (REPO / "cards").glob("*.yaml")
    for alert in (yaml.safe_load(path.read_text()).get("triggers") or {}).get("alerts", [])
)


@pytest.mark.parametrize(("alert", "card"), REPO_ALERTS, ids=[a for a, _ in REPO_ALERTS])
def test_route_finds_the_card_for_every_alert_in_this_repo(alert: str, card: str, tmp_path: Path) -> None:
    result = run_kb("route", alert, cwd=REPO, env={"KB_CACHE_DIR": str(tmp_path)})
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
def test_route_by_words(words: str, card: str, tmp_path: Path) -> None:
    result = run_kb("route", *words.split(), cwd=REPO, env={"KB_CACHE_DIR": str(tmp_path)})
    assert f"card: cards/{card}.yaml" in result.stdout, result.stdout


def test_route_no_match_lists_the_closest_lines(tmp_path: Path) -> None:
    result = run_kb("route", "xylophone", cwd=REPO, env={"KB_CACHE_DIR": str(tmp_path)})
    assert result.returncode == 1
    assert "no card matches 'xylophone'. Closest router lines:" in result.stderr
    assert result.stderr.count("\n  - ") == 3


def test_route_json_and_show(tmp_path: Path) -> None:
    env = {"KB_CACHE_DIR": str(tmp_path)}
    data = json.loads(run_kb("route", "PublishConsumersPaused", "--format", "json", cwd=REPO, env=env).stdout)
    assert data["matches"][0]["card_id"] == "queue-stuck" and data["matches"][0]["exact_alert"] is True
    shown = run_kb("route", "--show", "AgentRefundAnomaly", cwd=REPO, env=env).stdout
    assert (
        "3. Run the registered compensation for each wrong action  IRREVERSIBLE, approval: incident-commander" in shown
    )
    assert "     $ auditctl compensate $ACTION_ID" in shown


def test_show_prints_a_card_for_the_terminal() -> None:
    out = run_kb("show", "token-spend-runaway", cwd=REPO).stdout
    assert out.startswith(
        "Token spend is running away  [token-spend-runaway]\nP1: Roll back at once, notify on-call, freeze releases."
    )
    assert "2. Halt the agent at the gateway" in out
    assert "     $ gatewayctl halt --agent $AGENT" in out
    assert "     needs: budget:halt:llm-gateway" in out
    assert "     for each item of: gatewayctl spend" in out
    assert "ROLLBACK\n1. Lift the halt" in out
    assert run_kb("show", "nope", cwd=REPO).returncode == 1
    assert run_kb("show", "../oncall", cwd=REPO).returncode == 1


def test_route_index_cache_is_never_trusted_blindly(repo_kb: Path, tmp_path: Path) -> None:
    env = {"KB_CACHE_DIR": str(tmp_path / "cache")}
    first = run_kb("route", "budget", "cap", "ticket", cwd=repo_kb, env=env).stdout
    assert "budget-cap-review" in first
    for cached in (tmp_path / "cache").rglob("route-index.json"):
        cached.write_text("{not json")
    assert run_kb("route", "budget", "cap", "ticket", cwd=repo_kb, env=env).stdout == first
    card = repo_kb / "cards" / "rollback-drill.yaml"
    card.write_text(card.read_text().replace("title: Monthly prompt rollback drill", "title: Monthly marimba drill"))
    assert "card: cards/rollback-drill.yaml" in run_kb("route", "marimba", cwd=repo_kb, env=env).stdout


GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@x"}


@pytest.fixture
def git_kb(tmp_path: Path) -> Path:
    root = copy_kb(REPO, tmp_path / "kb")
    repo = git.Repo.init(root, initial_branch="main")
    repo.git.add("-A")
    repo.git.commit("-m", "init", env=GIT_ENV)
    repo.git.checkout("-b", "change")
    return root


def checked_paths(root: Path, *args: str) -> tuple[int, str]:
    result = run_kb("check", "--changed-since", "main", "--format", "json", *args, cwd=root)
    return result.returncode, result.stdout


def test_changed_since_rechecks_only_the_edited_card(git_kb: Path) -> None:
    # a defect in a card nobody touched is not this change's business
    other = git_kb / "cards" / "tool-schema-drift.yaml"
    other.write_text(other.read_text().replace("rotation: sre-primary", "rotation: nobody"))
    git.Repo(git_kb).git.commit("-am", "old defect", env=GIT_ENV)
    git.Repo(git_kb).git.branch("-f", "main", "HEAD")
    edited = git_kb / "cards" / "queue-stuck.yaml"
    edited.write_text(edited.read_text().replace("rotation: sre-primary", "rotation: sre-primery"))
    code, out = checked_paths(git_kb)
    assert code == 1
    reported = json.loads(out)
    assert {d["path"] for d in reported if d["level"] == "error"} == {"cards/queue-stuck.yaml"}
    # dependents are reported on too: the postmortem that lists the card (its infos show)
    assert {d["path"] for d in reported} == {
        "cards/queue-stuck.yaml",
        "postmortems/PM-2026-004-wrong-recovery-script.yaml",
    }
    text = run_kb("check", "--changed-since", "main", cwd=git_kb).stdout
    assert "(3 files checked)" in text  # the card, the postmortem that lists it, and the router


def test_changed_since_oncall_rechecks_every_card(git_kb: Path) -> None:
    oncall = git_kb / "oncall.yaml"
    oncall.write_text(oncall.read_text().replace("      - deploy:rollback:*\n", ""))
    code, out = checked_paths(git_kb)
    assert code == 1
    paths = {d["path"] for d in json.loads(out)}
    assert {
        "cards/prompt-regression.yaml",
        "cards/agent-acting-during-freeze.yaml",
        "cards/rollback-drill.yaml",
    } <= paths
    text = run_kb("check", "--changed-since", "main", cwd=git_kb).stdout
    cards = len(list((git_kb / "cards").glob("*.yaml")))
    assert f"({cards + 2} files checked)" in text  # every card, oncall.yaml and the router


def test_changed_since_reference_rechecks_the_cards_linking_it(git_kb: Path) -> None:
    ref = git_kb / "references" / "dispatch-queue.md"
    ref.write_text(ref.read_text().replace("## The parking lot", "## The parking area"))
    code, out = checked_paths(git_kb)
    assert code == 1
    assert {d["path"] for d in json.loads(out) if d["level"] == "error"} == {"cards/queue-stuck.yaml"}


def test_changed_since_nothing_changed_and_bad_ref(git_kb: Path, tmp_path: Path) -> None:
    assert run_kb("check", "--changed-since", "main", cwd=git_kb).stdout.startswith("All good: 0 files checked")
    bad = run_kb("check", "--changed-since", "no-such-ref", cwd=git_kb)
    assert bad.returncode == 2 and "cannot find a common ancestor of 'no-such-ref'" in bad.stderr
    plain = copy_kb(REPO, tmp_path / "plain")
    result = run_kb("check", "--changed-since", "main", cwd=plain)
    assert result.returncode == 2 and "needs a git repository" in result.stderr


def test_integration_files_are_valid() -> None:
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    assert hooks[0]["id"] == "kb-check" and hooks[0]["entry"] == "kb check"
    workflow = yaml.safe_load((REPO / "tooling" / "ci" / "github-actions-kb.yml").read_text())
    steps = workflow["jobs"]["check"]["steps"]
    runs = " ".join(step.get("run", "") for step in steps)
    assert "kb check --changed-since" in runs and "--format sarif" in runs
    assert any(step.get("uses", "").startswith("github/codeql-action/upload-sarif") for step in steps)
