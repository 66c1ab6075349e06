"""mkdocs.yml without pydantic: where the KB root is, the kb plugin's raw options, and the
path defaults. `kb route` needs only these, so it starts without importing pydantic."""

from __future__ import annotations

import errno
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kb.core import safefile, yamlio
from kb.core.paths import path_problem

CONFIG_FILE = "mkdocs.yml"
PATH_DEFAULTS = {
    "router": "router.md",
    "cards_dir": "cards",
    "postmortems_dir": "postmortems",
    "references_dir": "references",
    "oncall": "oncall.yaml",
    "rules_dir": "rules",
    "templates_dir": "templates",
    "runs_dir": "runs",
}


class NoKnowledgeBase(Exception):
    pass


def find_root(start: Path | None = None) -> Path:
    """The nearest folder at or above `start` that holds mkdocs.yml."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder
    raise NoKnowledgeBase(
        f"no {CONFIG_FILE} in {here} or any folder above it: run kb inside a knowledge base "
        "(or pass --root DIR; `kb init DIR` makes a new one)"
    )


def plugin_entry(plugins: Any) -> tuple[int | str | None, Any]:
    """Where the kb entry sits in `plugins:` (a list or a mapping) and its options."""
    if isinstance(plugins, dict):
        return ("kb", plugins.get("kb") or {}) if "kb" in plugins else (None, {})
    if isinstance(plugins, list):
        for index, entry in enumerate(plugins):
            if entry == "kb":
                return index, {}
            if isinstance(entry, dict) and "kb" in entry:
                return index, entry["kb"] or {}
    return None, {}


def read_raw(root: Path) -> dict[str, Any]:
    """mkdocs.yml as plain data, `!ENV` resolved as MkDocs resolves it; raises yamlio.YamlProblem or OSError."""
    data = safefile.read_bytes(root / CONFIG_FILE, yamlio.MAX_BYTES)
    return yamlio.load_mapping(data, lenient_tags=True, env_tag=True)


def normalise_site_url(value: Any) -> str:
    url = str(value or "")
    return url if not url or url.endswith("/") else url + "/"


@dataclass
class Paths:
    root: Path
    site_url: str
    router: str
    cards_dir: str
    references_dir: str
    rules_dir: str = PATH_DEFAULTS["rules_dir"]


class UnreadableConfig(OSError):
    """mkdocs.yml is not YAML kb can read: every command that would answer from its settings refuses."""


def read_paths(root: Path) -> Paths:
    """The few settings routing needs, with the defaults; invalid values fall back to them
    (kb check reports them). An mkdocs.yml that cannot be read (no permission, a FIFO) is an
    OSError: the defaults could be the wrong folders, and a wrong answer is worse than none."""
    try:
        raw = read_raw(root)
    except yamlio.YamlProblem as problem:
        # the defaults could be the wrong folders and site_url: refuse, as for an unreadable file
        span = problem.span
        raise UnreadableConfig(
            errno.EINVAL,
            f"line {span.line}, column {span.column}: {problem.message} (kb check shows it)",
            str(root / CONFIG_FILE),
        ) from None
    _, options = plugin_entry(raw.get("plugins"))
    options = options if isinstance(options, dict) else {}

    def pick(key: str) -> str:
        value = options.get(key)
        return value if isinstance(value, str) and value and path_problem(value) is None else PATH_DEFAULTS[key]

    return Paths(
        root,
        normalise_site_url(raw.get("site_url")),
        pick("router"),
        pick("cards_dir"),
        pick("references_dir"),
        pick("rules_dir"),
    )
