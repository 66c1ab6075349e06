"""Pagefind search for any generator: index a built site, and the header search box.

Material's and Zensical's own search download one index of every page before the first
result (50.8 MB of JSON at 10,000 cards). Pagefind (shipped on the package index with its
binary) writes a chunked index beside the site: a first query downloads a few small files.
kb-search.js puts Pagefind's search box in every page's header, where the theme's was.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

SEARCH_JS = "assets/kb-search.js"
INSTALL = "pip install 'pagefind[extended]'"


class PagefindProblem(Exception):
    """Pagefind is not installed, or could not start."""


def pagefind_installed() -> bool:
    return importlib.util.find_spec("pagefind") is not None


def run_pagefind(site: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Index the built site: each page's <article> (not the nav every page repeats)."""
    if not pagefind_installed():
        raise PagefindProblem(f"Pagefind is not installed: {INSTALL} (or build with --search builtin)")
    command = [sys.executable, "-m", "pagefind", "--site", str(site), "--root-selector", "article", "--quiet"]
    command += ["--exclude-selectors", ".headerlink"]  # a heading's permalink sign is not its text
    try:
        return subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    except OSError as exc:
        raise PagefindProblem(f"pagefind: {exc.strerror} ({INSTALL})") from None
