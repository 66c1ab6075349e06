"""`python -m kb.site build|serve ...`: the same verb as `kb site` (kb.site.command), without typer.

python -m kb.site build [--generator G] [--search pagefind|builtin] [--out DIR] [--root DIR] [--strict]
python -m kb.site serve [--generator G] [--dev-addr HOST:PORT] [--root DIR]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kb.site.command import GENERATORS, SEARCHES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m kb.site", description="The site with MkDocs, ProperDocs or Zensical."
    )
    verbs = parser.add_subparsers(dest="verb", required=True)
    build = verbs.add_parser("build", help="build the site into --out (default: <root>/site)")
    build.add_argument("--generator", choices=GENERATORS, default="mkdocs")
    build.add_argument("--search", choices=SEARCHES, default="pagefind")
    build.add_argument("--out", "--site-dir", dest="out", type=Path, default=None)
    build.add_argument("--root", type=Path, default=None)
    build.add_argument("--strict", action="store_true", help="fail on the generator's warnings")
    serve = verbs.add_parser("serve", help="serve the site, rebuilt as the KB changes (MkDocs, ProperDocs)")
    serve.add_argument("--generator", choices=GENERATORS, default="mkdocs")
    serve.add_argument("--dev-addr", default=None)
    serve.add_argument("--root", type=Path, default=None)
    args = parser.parse_args(argv)

    from kb.site.command import run

    if args.verb == "build":
        return run("build", args.generator, args.search, args.out, args.root, args.strict)
    return run("serve", args.generator, root=args.root, dev_addr=args.dev_addr)


if __name__ == "__main__":
    sys.exit(main())
