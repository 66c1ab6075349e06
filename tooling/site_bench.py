"""The site's build cost at scale, for one generator: CPU seconds of the whole process tree
(user + sys of every process it waited for: the machine is shared, so wall time is noisy),
wall time, peak memory, per-page cost, the largest page and how many lines it printed.

    python tooling/site_bench.py KB_ROOT --generator zensical [--search pagefind] [--out DIR]
    python tooling/site_bench.py KB_ROOT --plugin [--generator properdocs]   # `mkdocs build` + kb plugin

KB_ROOT is a knowledge base, e.g. one from `python tooling/synth_kb.py OUT --cards 10000`.
With `--profile`, kb's own share (loading the KB and writing every page into the staging
folder, without the generator) runs in process under cProfile and its top entries print.
Then `python tooling/search_bench.py OUT ALERT` measures the first search on the result.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def profile_staging(root: Path, generator: str, search: str) -> None:
    import cProfile
    import pstats

    from kb.load.loader import load_kb
    from kb.site.build import stage

    started = time.process_time()
    kb = load_kb(root)
    loaded = time.process_time()
    with tempfile.TemporaryDirectory(prefix="kb-bench-") as folder:
        profiler = cProfile.Profile()
        profiler.enable()
        staged = stage(kb, Path(folder), generator, "pagefind" if search == "pagefind" else "builtin")
        profiler.disable()
        print(f"kb's share: load {loaded - started:.1f} s CPU, staging {len(staged.sources)} pages (profiled)")
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--generator", choices=["mkdocs", "properdocs", "zensical"], default="mkdocs")
    parser.add_argument("--search", choices=["pagefind", "builtin"], default="pagefind")
    parser.add_argument("--plugin", action="store_true", help="`<generator> build` with the kb plugin in the KB")
    parser.add_argument("--out", type=Path, default=None, help="where the site goes (default: a temporary folder)")
    parser.add_argument("--profile", action="store_true", help="profile kb's own share in process")
    args = parser.parse_args()
    root = args.root.resolve()
    if args.profile:
        profile_staging(root, args.generator, args.search)
        return 0
    out = (args.out or Path(tempfile.mkdtemp(prefix="kb-bench-site-"))).resolve()
    if args.plugin:
        if args.generator == "zensical":
            parser.error("Zensical runs no MkDocs plugin")
        command = [sys.executable, "-m", args.generator, "build", "--site-dir", str(out)]
    else:
        command = [sys.executable, "-m", "kb", "site", "build", "-g", args.generator, "--search", args.search]
        command += ["--root", str(root), "--out", str(out)]
    if out.exists() and args.plugin:
        shutil.rmtree(out)
    cpu, wall = children_cpu(), time.perf_counter()
    result = subprocess.run(command, cwd=root, capture_output=True, text=True, check=False)
    wall, cpu = time.perf_counter() - wall, children_cpu() - cpu
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    output = (result.stdout + result.stderr).splitlines()
    if result.returncode != 0:
        print("\n".join(output[-20:]))
        return result.returncode
    pages = [p for p in out.rglob("*.html") if "pagefind" not in p.parts]
    largest = max(pages, key=lambda p: p.stat().st_size)
    what = f"{args.generator} build + kb plugin" if args.plugin else f"kb site build -g {args.generator}"
    print(f"{what} (search: {'the KB mkdocs.yml' if args.plugin else args.search}) of {root}")
    print(f"CPU {cpu:.1f} s (user+sys, process tree), wall {wall:.1f} s, peak RSS of one process {peak:,.0f} MiB")
    print(f"{len(pages):,} pages: {1000 * cpu / len(pages):.2f} ms CPU a page")
    print(f"largest page: {largest.relative_to(out)} {largest.stat().st_size / 1024:.0f} KB")
    print(f"output: {len(output)} lines")
    for line in output[:10]:
        print(f"  | {line[:150]}")
    print(f"site: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
