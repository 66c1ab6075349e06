"""The tree is the architecture: layers enforced, no import cycle, rules listed by family,
verbs in kb.commands, cli.py wiring only, loading starts no subprocess."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import grimp
import pytest
from conftest import BASE_KB, REPO, copy_kb, require_tool
from importlinter import cli as importlinter_cli

KB = REPO / "kb"


def test_the_layer_contract_holds() -> None:
    """import-linter's layers contract in pyproject.toml, with function-level imports counted."""
    assert importlinter_cli.lint_imports(config_filename=str(REPO / "pyproject.toml"), no_cache=True) == 0


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:  # Tarjan; the module graph is small
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_module_import_cycle_even_inside_functions() -> None:
    graph = grimp.build_graph("kb", cache_dir=None)
    edges = {module: set(graph.find_modules_directly_imported_by(module)) for module in graph.modules}
    # a package's __init__ importing its own submodules is how packages work, not a cycle of jobs
    for module, targets in edges.items():
        edges[module] = {t for t in targets if not t.startswith(module + ".")}
    assert _strongly_connected(edges) == []


def _rule_modules() -> list[tuple[str, Path]]:
    return [(path.parent.name, path) for path in sorted((KB / "rules").glob("*/*.py")) if path.name != "__init__.py"]


def test_every_rule_module_is_registered_in_its_family_and_named_for_its_rule() -> None:
    from kb.rules.registry import FAMILIES, RULES

    listed = {rule.__module__: rule for rule in RULES}
    modules = _rule_modules()
    assert len(modules) == len(RULES) == len(listed)
    for family, path in modules:
        module = f"kb.rules.{family}.{path.stem}"
        assert module in listed, f"{module} defines a rule that registry.RULES does not list"
        rule = listed[module]
        assert path.stem == rule.name.replace("/", "_").replace("-", "_"), f"{path}: the file is named for the rule"
        assert int(rule.code[2:]) in FAMILIES[family], f"{rule.code} is outside the {family} family's range"


def test_importing_one_rule_first_still_gives_every_rule() -> None:
    code = (
        "import kb.rules.cards.card_step_without_done\n"
        "from kb.rules import all_rules\n"
        "from kb.rules.registry import RULES\n"
        "assert len(all_rules()) == len(RULES), len(all_rules())\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


def test_rule_codes_live_only_in_rule_modules() -> None:
    """A code as a value outside kb/rules (`"KB701"`) is rule identity spread around; prose that
    cites a rule (a docstring, a schema description) is documentation."""
    offenders = []
    for path in sorted(KB.rglob("*.py")):
        if (KB / "rules") in path.parents:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef))
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in docstrings
                and re.search(r"(^|[\[:])KB[0-9]{3}($|[\],])", node.value.strip())
            ):
                offenders.append(f"{path.relative_to(REPO)}:{node.lineno}: {node.value[:60]!r}")
    assert offenders == []


def test_cli_is_wiring_only() -> None:
    """cli.py imports typer and kb.commands (and kb.site.command, the `kb site` verb that lives
    beside the site above kb.commands), and each command's body calls one verb."""
    tree = ast.parse((KB / "cli.py").read_text(encoding="utf-8"))
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert {m for m in imported if m.startswith("kb")} <= {
        "kb",
        "kb.commands",
        "kb.commands.common",
        "kb.commands.fast_path",
        "kb.site",
    }
    site_verbs = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "kb.site"
        for alias in node.names
    }
    assert site_verbs == {"command"}, "from kb.site, cli.py wires the `kb site` verb only"
    verbs = {path.stem for path in (KB / "commands").glob("*.py")} - {"__init__", "common", "fast_path"}
    used = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "kb.commands"
        for alias in node.names
    }
    assert verbs == used, "every verb module is wired, and only verb modules"


def test_every_verb_returns_an_exit_code() -> None:
    import importlib
    import inspect

    for path in sorted((KB / "commands").glob("*.py")):
        if path.stem in ("__init__", "common", "fast_path"):
            continue
        module = importlib.import_module(f"kb.commands.{path.stem}")
        entries = [getattr(module, name) for name in ("run", "postmortem", "card", "set_item") if hasattr(module, name)]
        assert entries, f"kb.commands.{path.stem} has no run()"
        for entry in entries:
            assert inspect.signature(entry).return_annotation in (int, "int"), entry
    from kb.site import command

    assert inspect.signature(command.run).return_annotation in (int, "int")


def test_loading_starts_no_subprocess(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The loader only loads: no promtool, whatever rule files and tools exist."""
    require_tool("promtool")
    from kb.load.loader import load_kb
    from kb.rules.context import RuleContext

    root = copy_kb(BASE_KB, tmp_path / "kb")
    (root / "rules").mkdir(exist_ok=True)
    (root / "rules" / "team.rules.yml").write_text(
        "groups:\n  - name: t\n    rules:\n      - alert: A\n        expr: up == 0\n"
    )
    started: list[object] = []
    real = subprocess.Popen

    def recording(*args: object, **kwargs: object) -> subprocess.Popen:  # type: ignore[type-arg]
        started.append(args)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(subprocess, "Popen", recording)
    kb = load_kb(root)
    ctx = RuleContext(kb)
    ctx.access(), ctx.router(), ctx.emitted()
    assert started == []


def test_check_starts_promtool_only_for_kb602_and_always_reaps_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_tool("promtool")
    from kb.commands import check

    root = copy_kb(BASE_KB, tmp_path / "kb")
    (root / "rules").mkdir(exist_ok=True)
    (root / "rules" / "team.rules.yml").write_text(
        "groups:\n  - name: t\n    rules:\n      - alert: A\n        expr: up == 0\n"
    )
    monkeypatch.setenv("KB_NO_CACHE", "1")
    processes: list[subprocess.Popen] = []  # type: ignore[type-arg]
    real = subprocess.Popen

    def recording(*args: object, **kwargs: object) -> subprocess.Popen:  # type: ignore[type-arg]
        process = real(*args, **kwargs)  # type: ignore[arg-type]
        processes.append(process)
        return process

    monkeypatch.setattr(subprocess, "Popen", recording)
    check.run(select=["KB1"], root=root)
    assert processes == [], "KB602 is not selected: promtool must not start"
    check.run(select=["KB602"], root=root)
    check.run(ignore=["KB602"], root=root)
    promtools = [p for p in processes if "promtool" in str(p.args)]
    assert promtools and all(p.returncode is not None for p in promtools), "every promtool started was waited for"
