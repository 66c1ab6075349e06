"""`kb site build` and `kb site serve`: the site with MkDocs, ProperDocs or Zensical.

    kb site build [--generator mkdocs|properdocs|zensical] [--search pagefind|builtin] [--out DIR]
    kb site serve [--generator mkdocs|properdocs|zensical] [--dev-addr HOST:PORT]

`build` needs no plugin API (kb.site.build): kb writes every page, the generator builds
them, and with `--search pagefind` (the default) Pagefind indexes the result. `serve` with
MkDocs or ProperDocs runs the generator's own `serve` on the KB's mkdocs.yml, so the `kb`
plugin rebuilds the site when a card, postmortem or template changes (live reload); Zensical
runs no MkDocs plugin, so its `serve` shows the pages kb staged when the command started.

The verb lives beside the site it builds (kb.site sits above kb.commands; kb.cli wires it).
Exit 0 when built (or the server stopped cleanly), 1 when the generator failed, 2 when the
request, the environment (a generator not installed) or mkdocs.yml is wrong.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from kb.commands.common import CommandError, echo, kb_root, verb

GENERATORS = ("mkdocs", "properdocs", "zensical")
SEARCHES = ("pagefind", "builtin")
# what each generator needs on the Python path, and what to install when it is missing
NEEDS = {
    "mkdocs": [("mkdocs", "mkdocs"), ("material", "mkdocs-material")],
    "properdocs": [("properdocs", "properdocs"), ("material", "mkdocs-material")],
    "zensical": [("zensical", "zensical")],
}


def installed(module: str) -> bool:
    """Whether `module` can be imported here (a finder that cannot find it may also raise)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _require(generator: str, search: str | None = None) -> None:
    if generator not in GENERATORS:
        raise CommandError(f"unknown generator '{generator}': choose one of {', '.join(GENERATORS)}")
    if search is not None and search not in SEARCHES:
        raise CommandError(f"unknown search '{search}': choose one of {', '.join(SEARCHES)}")
    missing = [package for module, package in NEEDS[generator] if not installed(module)]
    if missing:
        raise CommandError(f"{generator} is not installed: pip install {' '.join(missing)}")
    if search == "pagefind":
        from kb.site.search import INSTALL

        if not installed("pagefind"):
            raise CommandError(f"Pagefind is not installed: {INSTALL} (or --search builtin)")


def _configured_root(root: Path | None) -> Path:
    """The KB's root, once its mkdocs.yml is valid (the KB itself is loaded by whoever builds it)."""
    from kb.config.settings import load_config

    found = kb_root(root)
    problems = load_config(found).problems
    if problems:
        raise CommandError(f"mkdocs.yml: {problems[0].message} (run `kb check`)")
    return found


def _load(root: Path | None):
    from kb.load.loader import load_kb

    kb = load_kb(kb_root(root))
    if kb.config.problems:
        raise CommandError(f"mkdocs.yml: {kb.config.problems[0].message} (run `kb check`)")
    return kb


@verb
def run(
    action: str,
    generator: str = "mkdocs",
    search: str = "pagefind",
    out: Path | None = None,
    root: Path | None = None,
    strict: bool = False,
    dev_addr: str | None = None,
) -> int:
    if action == "build":
        return _build(generator, search, out, root, strict)
    if action == "serve":
        return _serve(generator, root, dev_addr)
    raise CommandError(f"unknown action '{action}': build or serve")


def _build(generator: str, search: str, out: Path | None, root: Path | None, strict: bool) -> int:
    from kb.core.templating import TemplateProblem
    from kb.site.build import BuildProblem, build

    _require(generator, search)
    kb_dir = _configured_root(root)
    site_dir = out if out is not None else kb_dir / "site"
    try:
        result = build(kb_dir, generator, site_dir, strict=strict, search=search)
    except (BuildProblem, TemplateProblem) as exc:
        raise CommandError(str(exc)) from None
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        raise CommandError(f"{generator} failed (exit {result.returncode})", 1)
    echo(f"kb site: built with {generator} into {site_dir}")
    return 0


def _serve(generator: str, root: Path | None, dev_addr: str | None) -> int:
    _require(generator)
    kb = _load(root)
    address = ["--dev-addr", dev_addr] if dev_addr else []
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    if generator == "zensical":
        from kb.core.templating import TemplateProblem
        from kb.site.build import BuildProblem, stage

        with tempfile.TemporaryDirectory(prefix="kb-serve-") as folder:
            try:
                staged = stage(kb, Path(folder), generator, "builtin")
            except (BuildProblem, TemplateProblem) as exc:
                raise CommandError(str(exc)) from None
            echo("kb site: Zensical runs no kb plugin: it serves the pages as they are now; rerun to see YAML edits")
            command = [sys.executable, "-m", "zensical", "serve", "-f", str(staged.config_file), *address]
            return _foreground(command, Path(folder), env)
    from kb.config.mkdocs import plugin_entry, read_raw

    raw = read_raw(kb.root)
    where, options = plugin_entry(raw.get("plugins"))
    if where is None:
        raise CommandError(
            f"{kb.root / 'mkdocs.yml'}: no `kb` entry under plugins: {generator} serve builds kb's pages through it"
            " (add `- kb` to plugins, or use `kb site build`)"
        )
    docs = kb.root / str(raw.get("docs_dir") or "docs")
    if not docs.is_dir():
        raise CommandError(
            f"{docs}: no such folder: {generator} checks docs_dir before any plugin runs;"
            f" create it (mkdir {docs.name}) or use --generator zensical"
        )
    command = [sys.executable, "-m", generator, "serve", "-f", str(kb.root / "mkdocs.yml"), *address]
    return _foreground(command, kb.root, env)


def _foreground(command: list[str], cwd: Path, env: dict[str, str]) -> int:
    """Run the generator's server until it stops (Ctrl-C stops both)."""
    process = subprocess.Popen(command, cwd=cwd, env=env)
    try:
        return process.wait()
    except KeyboardInterrupt:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        return 130
