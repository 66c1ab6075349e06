"""The repository's own contracts: schemas from the models, README's commands, the plugin entry."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, SNAPSHOT_KB, copy_kb

from kb.commands import schema

sys.path.insert(0, str(REPO / "tooling"))
from readme_commands import quick_start_commands


def test_schemas_are_generated_from_the_models(call) -> None:
    result = call(schema.run, check_only=True, root=REPO)
    assert result.returncode == 0, result.stdout


def test_kb_schema_writes_then_reports_up_to_date(tmp_path: Path, call) -> None:
    root = copy_kb(SNAPSHOT_KB, tmp_path / "kb")
    call(schema.run, root=root)  # the snapshot's schemas are frozen; the models move on
    (root / "schemas" / "card.schema.json").write_text("{}")
    stale = call(schema.run, check_only=True, root=root)
    assert stale.returncode == 1 and "schemas/card.schema.json is out of date" in stale.stdout
    assert "1 schema file(s) written" in call(schema.run, root=root).stdout
    assert call(schema.run, check_only=True, root=root).returncode == 0
    assert "schemas are up to date" in call(schema.run, root=root).stdout


@pytest.mark.parametrize(
    "path",
    sorted(
        p.relative_to(REPO).as_posix()
        for p in [*REPO.glob("cards/*.yaml"), *REPO.glob("postmortems/*.yaml"), REPO / "oncall.yaml"]
    ),
)
def test_every_yaml_file_names_its_schema(path: str) -> None:
    first = (REPO / path).read_text(encoding="utf-8").splitlines()[0]
    kind = "oncall" if path == "oncall.yaml" else "card" if path.startswith("cards/") else "postmortem"
    prefix = "" if path == "oncall.yaml" else "../"
    assert first == f"# yaml-language-server: $schema={prefix}schemas/{kind}.schema.json"


def test_readme_has_two_quick_start_commands_and_ci_runs_the_second() -> None:
    commands = quick_start_commands((REPO / "README.md").read_text(encoding="utf-8"))
    assert len(commands) == 2
    assert commands[0].endswith("kb check")
    assert "pytest" in commands[1]
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert "tooling/readme_commands.py test" in ci


def test_knowledge_base_has_the_promised_content() -> None:
    assert len(list(REPO.glob("cards/*.yaml"))) >= 10
    postmortems = [p.read_text() for p in REPO.glob("postmortems/*.yaml")]
    assert len(postmortems) >= 3
    assert any("involved: true" in text for text in postmortems)
    assert any("involved: false" in text for text in postmortems)


def test_mkdocs_build_accepts_the_kb_plugin_entry(tmp_path: Path) -> None:
    root = copy_kb(SNAPSHOT_KB, tmp_path / "kb")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--site-dir", str(tmp_path / "site")],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    broken = root / "mkdocs.yml"
    broken.write_text(broken.read_text().replace("router_budget: 40", "router_budget: many"))
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--site-dir", str(tmp_path / "site2")],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode != 0
    assert "router_budget" in result.stderr


def test_every_package_file_is_tracked_by_git() -> None:
    """A file git ignores by accident (a `site/` pattern once hid kb/site/) works on the
    author's machine and is missing from every clone."""
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    tracked = set(
        subprocess.run(
            ["git", "ls-files", "kb", "templates", "tooling", "schemas"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()
    )
    on_disk = {
        p.relative_to(REPO).as_posix()
        for folder in ("kb", "templates", "tooling", "schemas")
        for p in (REPO / folder).rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert on_disk - tracked == set(), "files git does not track (check .gitignore)"


def test_the_wheel_carries_every_package_file(tmp_path: Path) -> None:
    """`pip install .` (README's first command) installs a wheel: a template missing from it
    works from a checkout and breaks `kb new` and the site for everyone who installs kb."""
    import shutil
    import zipfile

    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    # from the tracked files only, as a fresh clone has them: an egg-info left by an editable
    # install lists every file and would hide a missing package-data entry
    source = tmp_path / "src"
    for rel in subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split(
        "\n"
    ):
        if rel and (REPO / rel).is_file():
            (source / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / rel, source / rel)
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    wheel = next(tmp_path.glob("kb_runbooks-*.whl"))  # the distribution is kb-runbooks
    in_wheel = {name for name in zipfile.ZipFile(wheel).namelist() if name.startswith("kb/")}
    package = {
        p.relative_to(REPO).as_posix() for p in (REPO / "kb").rglob("*") if p.is_file() and "__pycache__" not in p.parts
    }
    assert package - in_wheel == set()
