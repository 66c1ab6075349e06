"""An mkdocs.yml kb cannot read as YAML (a duplicate key) is never replaced by the defaults
where that would be a wrong answer or a wrong write (outside review: `kb route` printed a
relative URL and `kb emit` rewrote live rules with relative runbook URLs, both exit 0)."""

from __future__ import annotations

from pathlib import Path

from conftest import BASE_KB, copy_kb

from kb.commands import emit, route


def _broken(tmp_path: Path) -> Path:
    root = copy_kb(BASE_KB, tmp_path / "kb")
    with (root / "mkdocs.yml").open("a") as config:
        config.write("extra:\n  a: 1\n  a: 2\n")
    return root


def test_route_refuses(tmp_path: Path, call) -> None:
    ran = call(route.run, "QueueConsumersPaused", root=_broken(tmp_path))
    assert ran.returncode == 2 and "duplicate key 'a'" in ran.stderr and "url:" not in ran.stdout


def test_emit_writes_nothing(tmp_path: Path, call) -> None:
    root = _broken(tmp_path)

    def files() -> list[tuple[str, bytes]]:  # the lock folder aside: kb emit takes its lock first
        return sorted(
            (p.as_posix(), p.read_bytes()) for p in root.rglob("*") if p.is_file() and ".kb-locks" not in p.parts
        )

    before = files()
    ran = call(emit.run, root=root)
    assert ran.returncode == 1 and "duplicate key 'a'" in ran.stderr
    assert files() == before


def test_check_reports_the_file_and_guesses_nothing_else(tmp_path: Path, call) -> None:
    from kb.commands import check

    ran = call(check.run, root=_broken(tmp_path))
    assert ran.returncode == 1
    found = [line for line in ran.stdout.splitlines() if line.startswith(("mkdocs.yml", "cards", "rules", "post"))]
    assert len(found) == 1 and "KB101 duplicate key 'a'" in found[0] and "nothing else was checked" in found[0]
