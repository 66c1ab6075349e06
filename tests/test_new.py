"""`kb new` in real git repositories: ids, branches, hostile titles, dirty repos, no overwrite."""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

import git
import pytest
import yaml
from conftest import BASE_KB, REPO, copy_kb

from kb.commands import check, new


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = copy_kb(BASE_KB, tmp_path / "kb")
    r = git.Repo.init(root, initial_branch="main")
    r.git.add("-A")
    r.git.commit(
        "-m",
        "init",
        env={
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@x",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@x",
        },
    )
    return root


@pytest.fixture
def new_pm(call):
    """`kb new postmortem --started-at 2026-11-21T03:00:00+01:00 ...` in `root`."""

    def run(root: Path, **options):
        return call(new.postmortem, **{"started_at": "2026-11-21T03:00:00+01:00", **options, "root": root})

    return run


@pytest.fixture
def kb_check(call):
    return lambda root: call(check.run, root=root)


@pytest.fixture
def new_card(call):
    def run(root: Path, **options):
        return call(new.card, **options, root=root)

    return run


def created_path(root: Path, stdout: str) -> Path:
    return root / re.search(r"created (\S+)", stdout).group(1)


def fill_todos(path: Path) -> None:
    text = path.read_text()
    text = re.sub(r'"TODO[^"]*"', '"Filled in by the incident owner"', text)
    path.write_text(text)


def test_file_a_postmortem_end_to_end(repo: Path, new_pm, kb_check) -> None:
    result = new_pm(repo, title="Queue stalled after a config push", priority="P2", card=["queue-stuck"], branch=True)
    assert result.returncode == 0, result.stderr
    assert "created postmortems/PM-2026-002-queue-stalled-after-a-config-push.yaml (PM-2026-002)" in result.stdout
    r = git.Repo(repo)
    assert r.active_branch.name == "postmortem/PM-2026-002-queue-stalled-after-a-config-push"
    assert r.head.commit.message.startswith("docs(postmortem): PM-2026-002 Queue stalled after a config push")
    assert list(r.head.commit.stats.files) == ["postmortems/PM-2026-002-queue-stalled-after-a-config-push.yaml"]
    assert not r.is_dirty(untracked_files=True)

    check = kb_check(repo)
    assert check.returncode == 0, check.stdout
    assert check.stdout.count("warning KB150") == 10
    assert " error " not in check.stdout

    path = created_path(repo, result.stdout)
    data = yaml.safe_load(path.read_text())
    assert set(data["model_inference"]) >= {
        "involved",
        "why_not",
        "failure_mode",
        "model",
        "trace_id",
        "inferred",
        "expected",
        "autonomy",
        "reproducible",
        "reruns",
    }
    fill_todos(path)
    check = kb_check(repo)
    assert check.returncode == 0 and "warning" not in check.stdout, check.stdout

    second = new_pm(repo, title="Another one", priority="P3")
    assert "(PM-2026-003)" in second.stdout


def test_ids_used_on_other_branches_are_never_reused(repo: Path, new_pm) -> None:
    r = git.Repo(repo)
    r.git.checkout("-b", "someone-elses-draft")
    (repo / "postmortems" / "PM-2026-007-unmerged.yaml").write_text("id: PM-2026-007\n")
    r.git.add("-A")
    r.git.commit(
        "-m",
        "draft",
        env={
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@x",
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@x",
        },
    )
    r.git.checkout("main")
    assert not (repo / "postmortems" / "PM-2026-007-unmerged.yaml").exists()
    result = new_pm(repo, title="Next", priority="P2")
    assert "(PM-2026-008)" in result.stdout, result.stdout + result.stderr


def test_ids_are_per_year_with_gaps_allowed(repo: Path, new_pm) -> None:
    (repo / "postmortems" / "PM-2025-041-old.yaml").write_text("id: PM-2025-041\n")
    result = new_pm(repo, title="Old year", priority="P3", started_at="2025-12-31T23:00:00-05:00")
    assert "(PM-2025-042)" in result.stdout
    assert "(PM-2026-002)" in new_pm(repo, title="This year", priority="P3").stdout


HOSTILE = [
    "Agent ran ../../etc/passwd; rm -rf / && echo 'pwned'",
    "Überlastung der Warteschlange — 東京 のエージェント",
    'Title with "quotes", colons: and {{ 7 * 7 }} {% raw %}jinja{% endraw %}',
    "x" * 300,
    "/absolute/path\\with\\backslashes",
    "\u202eevil\u200b zero width and RTL",
    "---\nid: PM-1999-999\nmulti: line",
    "!!python/object/apply:os.system ['true']",
]


@pytest.mark.parametrize("title", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_titles_make_safe_files(repo: Path, title: str, new_pm, kb_check) -> None:
    result = new_pm(repo, title=title, priority="P2")
    assert result.returncode == 0, result.stderr
    path = created_path(repo, result.stdout)
    assert path.parent == repo / "postmortems"
    assert re.fullmatch(r"PM-2026-002-[a-z0-9-]{1,60}\.yaml", path.name), path.name
    data = yaml.safe_load(path.read_text())
    assert data["title"] == title.strip()
    assert data["id"] == "PM-2026-002"
    assert kb_check(repo).returncode == 0


class Terminal(io.StringIO):
    """Standard input as a person at a terminal types it."""

    def isatty(self) -> bool:
        return True


class Pipe(io.StringIO):
    def isatty(self) -> bool:
        return False


def test_not_on_a_terminal_missing_flags_is_a_clear_error(repo: Path, new_pm, new_card, monkeypatch) -> None:
    monkeypatch.setattr(sys, "stdin", Pipe(""))
    result = new_pm(repo, title="x")
    assert result.returncode == 2
    assert "missing --priority (not on a terminal" in result.stderr
    assert sorted(p.name for p in (repo / "postmortems").iterdir()) == ["PM-2026-001-queue.yaml"]
    result = new_card(repo, title="x", priority="P2")
    assert result.returncode == 2 and "missing --rotation, --owner (not on a terminal" in result.stderr


def test_on_a_terminal_missing_values_are_asked_for(repo: Path, new_pm, new_card, monkeypatch) -> None:
    monkeypatch.setattr(sys, "stdin", Terminal("Asked for on a terminal\np2\n"))
    result = new_pm(repo)
    assert result.returncode == 0, result.stderr
    assert "Title (what happened, in one line):" in result.stdout and "Priority (P1, P2, P3):" in result.stdout
    data = yaml.safe_load(created_path(repo, result.stdout).read_text())
    assert (data["title"], data["priority"]) == ("Asked for on a terminal", "P2")
    monkeypatch.setattr(sys, "stdin", Terminal("sre-primary\nsearch-team\n"))
    result = new_card(repo, title="Asked card", priority="P3")
    assert result.returncode == 0, result.stderr
    assert "Rotation:" in result.stdout and "Owner team:" in result.stdout and "Title:" not in result.stdout
    card = yaml.safe_load((repo / "cards" / "asked-card.yaml").read_text())
    assert (card["rotation"], card["owner"]) == ("sre-primary", "search-team")
    monkeypatch.setattr(sys, "stdin", Terminal("urgent\np1\n"))  # a bad answer is asked again (#15)
    asked_again = new_pm(repo, title="Bad priority")
    assert asked_again.returncode == 0, asked_again.stderr
    assert (
        asked_again.stdout.count("Priority (P1, P2, P3):") == 2 and "urgent" in asked_again.stdout + asked_again.stderr
    )


def test_from_alert_fills_cards_priority_and_detection(repo: Path, new_pm) -> None:
    result = new_pm(repo, from_alert="QueueStalled", title="Stalled again")
    assert result.returncode == 0, result.stderr
    data = yaml.safe_load(created_path(repo, result.stdout).read_text())
    assert data["cards"] == ["queue-stuck"] and data["priority"] == "P2"
    assert data["detection"] == {"method": "alert", "alert": "QueueStalled"}
    assert new_pm(repo, from_alert="NoSuchAlert", title="x").returncode == 1


def test_branch_in_a_dirty_repo_keeps_other_work(repo: Path, new_pm) -> None:
    r = git.Repo(repo)
    card = repo / "cards" / "queue-stuck.yaml"
    card.write_text(card.read_text() + "# unsaved thought\n")  # modified, unstaged
    (repo / "notes.txt").write_text("scratch")  # untracked
    (repo / "references" / "queues.md").write_text("# Queues\n\n## Pausing consumers\n\nStaged edit.\n")
    r.git.add("references/queues.md")  # staged
    result = new_pm(repo, title="Dirty", priority="P2", branch=True)
    assert result.returncode == 0, result.stderr
    assert list(r.head.commit.stats.files) == ["postmortems/PM-2026-002-dirty.yaml"]
    assert card.read_text().endswith("# unsaved thought\n")
    assert (repo / "notes.txt").read_text() == "scratch"
    assert [d.a_path for d in r.index.diff("HEAD")] == ["references/queues.md"]  # still staged, not committed


def test_branch_refused_mid_merge_and_nothing_written(repo: Path, new_pm) -> None:
    r = git.Repo(repo)
    (Path(r.git_dir) / "MERGE_HEAD").write_text(r.head.commit.hexsha + "\n")
    result = new_pm(repo, title="Mid merge", priority="P2", branch=True)
    assert result.returncode == 1
    assert "a merge is in progress" in result.stderr
    assert sorted(p.name for p in (repo / "postmortems").iterdir()) == ["PM-2026-001-queue.yaml"]


def test_branch_in_detached_head_starts_there(repo: Path, new_pm) -> None:
    r = git.Repo(repo)
    r.git.checkout("--detach")
    result = new_pm(repo, title="Detached", priority="P2", branch=True)
    assert result.returncode == 0, result.stderr
    assert r.active_branch.name == "postmortem/PM-2026-002-detached"


def test_branch_needs_git_and_a_first_commit(tmp_path: Path, new_pm) -> None:
    plain = copy_kb(BASE_KB, tmp_path / "plain")
    result = new_pm(plain, title="No git", priority="P2", branch=True)
    assert result.returncode == 1 and "needs a git repository" in result.stderr
    assert new_pm(plain, title="No git", priority="P2").returncode == 0  # without --branch it works
    git.Repo.init(plain)
    result = new_pm(plain, title="Unborn", priority="P2", branch=True)
    assert result.returncode == 1 and "needs a first commit" in result.stderr


def test_new_card_never_overwrites(repo: Path, new_card) -> None:
    before = (repo / "cards" / "queue-stuck.yaml").read_bytes()
    result = new_card(repo, card_id="queue-stuck", title="t", rotation="sre-primary", priority="P2", owner="x")
    assert result.returncode == 1 and "already exists; nothing was overwritten" in result.stderr
    assert (repo / "cards" / "queue-stuck.yaml").read_bytes() == before
    assert not [p for p in (repo / "cards").iterdir() if p.name.startswith(".")]


def test_new_card_passes_the_schema_and_reports_todos(repo: Path, new_card, kb_check) -> None:
    taken = new_card(
        repo, title="Queue again", rotation="sre-primary", priority="P3", owner="o", alert=["QueueStalled"]
    )
    assert taken.returncode == 1 and "alert QueueStalled is already listed by card queue-stuck" in taken.stderr
    assert not (repo / "cards" / "queue-again.yaml").exists()  # an alert pages to one card (KB530)
    (repo / "rules" / "search.rules.yml").write_text(
        "groups:\n  - name: search\n    rules:\n      - alert: EmbeddingsIndexStale\n        expr: up == 0\n"
        "        labels: {priority: P3}\n"
        "        annotations: {runbook_url: https://kb.test/cards/embeddings-index-is-stale/}\n"
    )
    result = new_card(
        repo,
        title="Embeddings index is stale",
        rotation="sre-primary",
        priority="P3",
        owner="search-team",
        alert=["EmbeddingsIndexStale"],
    )
    assert result.returncode == 0, result.stderr
    assert "created cards/embeddings-index-is-stale.yaml" in result.stdout
    router = (repo / "router.md").read_text().splitlines()
    assert (
        router[-1] == "- `EmbeddingsIndexStale`: TODO describe the situation → "
        "[embeddings-index-is-stale](cards/embeddings-index-is-stale.yaml)"
    )
    check = kb_check(repo)
    assert check.returncode == 0, check.stdout
    assert "router.md:4:27: warning KB150" in check.stdout and "KB204" in check.stdout
    undefined = new_card(
        repo,
        title="Vector store lag",
        rotation="sre-primary",
        priority="P3",
        owner="search-team",
        alert=["VectorLagHigh"],
    )
    assert undefined.returncode == 0
    check = kb_check(repo)
    assert check.returncode == 1 and "error KB604 alert VectorLagHigh is not defined" in check.stdout
    bad = new_card(repo, card_id="../escape", title="t", rotation="sre-primary", priority="P2", owner="o")
    assert bad.returncode == 1 and "'../escape' is not a card id: an id, not a path" in bad.stderr


def test_repo_templates_are_the_shipped_defaults() -> None:
    shipped = REPO / "kb" / "defaults" / "templates"
    for template in shipped.iterdir():
        assert (REPO / "templates" / template.name).read_text() == template.read_text()
