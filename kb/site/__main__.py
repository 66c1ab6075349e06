"""`python -m kb.site build`: the site with MkDocs, ProperDocs or Zensical, without the plugin API.

    python -m kb.site build --generator zensical [--root DIR] [--site-dir DIR] [--strict]

Exit 0 when the generator built the site, 1 when it failed (its output is printed), 2 when
the request or the knowledge base's configuration is wrong.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kb.site", description=__doc__.splitlines()[0])
    verbs = parser.add_subparsers(dest="verb", required=True)
    build = verbs.add_parser("build", help="build the site into --site-dir (default: <root>/site)")
    build.add_argument("--generator", choices=["mkdocs", "properdocs", "zensical"], default="mkdocs")
    build.add_argument("--root", type=Path, default=None, help="the knowledge base (default: the nearest mkdocs.yml)")
    build.add_argument("--site-dir", type=Path, default=None)
    build.add_argument("--strict", action="store_true", help="fail on the generator's warnings")
    build.add_argument(
        "--search",
        choices=["generator", "pagefind"],
        default="generator",
        help="the generator's own search, or a Pagefind index (chunked: small downloads at any size)",
    )
    args = parser.parse_args(argv)

    from kb.config.settings import NoKnowledgeBase, find_root
    from kb.core.templating import TemplateProblem
    from kb.load.loader import load_kb
    from kb.site.build import BuildProblem
    from kb.site.build import build as build_site

    try:
        root = find_root(args.root)
    except NoKnowledgeBase as exc:
        print(f"kb site: {exc}", file=sys.stderr)
        return 2
    kb = load_kb(root)
    if kb.config.problems:
        for problem in kb.config.problems:
            print(f"mkdocs.yml: {problem.message} (run `kb check`)", file=sys.stderr)
        return 2
    site_dir = args.site_dir if args.site_dir is not None else root / "site"
    try:
        result = build_site(kb, args.generator, site_dir, strict=args.strict, search=args.search)
    except (BuildProblem, TemplateProblem) as exc:
        print(f"kb site: {exc}", file=sys.stderr)
        return 2
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        print(f"kb site: {args.generator} failed (exit {result.returncode})", file=sys.stderr)
        return 1
    print(f"kb site: built with {args.generator} into {site_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
