"""Benchmark kb on synthetic knowledge bases, side by side with the parse floor.

    python tooling/bench.py --cards 1000 10000 --runs 3 [--site] [--reference]

For each size: the floor (PyYAML's C loader over the same card files, a whole process),
`kb check` cold (empty cache), warm (nothing changed) and after one edited card,
`kb route ALERT`, and with --site `mkdocs build`, with --reference yamllint and
check-jsonschema on the same cards (when installed). Prints a Markdown table of medians,
ratios to the floor and each command's peak memory (max RSS of the process, from wait4).
"""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

FLOOR = """
import glob, sys, yaml
for f in sorted(glob.glob(sys.argv[1] + "/cards/*.yaml")):
    with open(f, "rb") as h:
        yaml.load(h, Loader=yaml.CSafeLoader)
"""


def run(cmd: list[str], cwd: Path, env: dict) -> tuple[float, int, int]:
    """Wall seconds, peak RSS in MiB and the exit code of one whole process."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    return elapsed, usage.ru_maxrss // 1024, os.waitstatus_to_exitcode(status)


def median_of(runs: int, cmd: list[str], cwd: Path, env: dict, before=None) -> tuple[float, int]:
    times, peaks = [], []
    for _ in range(runs):
        if before:
            before()
        elapsed, peak, _ = run(cmd, cwd, env)
        times.append(elapsed)
        peaks.append(peak)
    return statistics.median(times), max(peaks)


def kb_command() -> list[str]:
    exe = shutil.which("kb")
    return [exe] if exe else [sys.executable, "-m", "kb"]


def bench_size(cards: int, runs: int, workdir: Path, site: bool, reference: bool) -> list[tuple]:
    root = workdir / f"kb-{cards}"
    if not (root / "mkdocs.yml").exists():
        # in a child: a child's peak RSS starts at its parent's at fork, so the parent stays small
        subprocess.run([sys.executable, str(HERE / "synth_kb.py"), str(root), "--cards", str(cards)], check=True)
    cache = workdir / f"cache-{cards}"
    env = {**os.environ, "KB_CACHE_DIR": str(cache), "NO_COLOR": "1"}
    kb = kb_command()
    rows = []
    floor, floor_mem = median_of(runs, [sys.executable, "-c", FLOOR, str(root)], root, env)
    rows.append(("parse floor (PyYAML C loader)", floor, floor_mem))

    def clear_cache() -> None:
        shutil.rmtree(cache, ignore_errors=True)

    rows.append(("kb check, cold", *median_of(runs, [*kb, "check"], root, env, before=clear_cache)))
    run([*kb, "check"], root, env)
    rows.append(("kb check, warm (nothing changed)", *median_of(runs, [*kb, "check"], root, env)))
    card = root / "cards" / "card-00007.yaml"
    original = card.read_text()

    def edit_one() -> None:
        card.write_text(original.replace("Synthetic card 7 ", f"Synthetic card 7 (edited {time.time_ns()}) "))

    rows.append(("kb check, one card edited", *median_of(runs, [*kb, "check"], root, env, before=edit_one)))
    card.write_text(original)
    alert = "SvcSvc" + f"{(cards // 2) % max(10, cards // 100):03d}" + f"Alert{cards // 2}"
    run([*kb, "route", alert], root, env)
    rows.append((f"kb route {alert}", *median_of(runs, [*kb, "route", alert], root, env)))
    if site:
        out = workdir / f"site-{cards}"
        rows.append(
            ("mkdocs build", *median_of(1, [sys.executable, "-m", "mkdocs", "build", "-q", "-d", str(out)], root, env))
        )
    if reference:
        if shutil.which("yamllint"):
            rows.append(("yamllint cards/", *median_of(1, ["yamllint", "-d", "relaxed", "cards"], root, env)))
        if shutil.which("check-jsonschema"):
            schema = Path(__file__).resolve().parent.parent / "schemas" / "card.schema.json"
            files = sorted(str(p) for p in (root / "cards").glob("*.yaml"))
            rows.append(
                (
                    "check-jsonschema cards",
                    *median_of(1, ["check-jsonschema", "--schemafile", str(schema), *files], root, env),
                )
            )
    return [(cards, name, seconds, seconds / floor, memory) for name, seconds, memory in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cards", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--site", action="store_true", help="also time mkdocs build (slow at 10,000 cards)")
    parser.add_argument("--reference", action="store_true", help="also yamllint and check-jsonschema")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="kb-bench-"))
    # an installed kb has bytecode; an editable checkout run with PYTHONDONTWRITEBYTECODE
    # would compile every module in every timed process
    compileall.compile_dir(str(Path(__file__).resolve().parent.parent / "kb"), quiet=1)
    rows = []
    for cards in args.cards:
        rows += bench_size(cards, args.runs, workdir, args.site, args.reference)
    print("| cards | command | median s | x floor | peak MiB |\n| ---: | --- | ---: | ---: | ---: |")
    for cards, name, seconds, ratio, memory in rows:
        print(f"| {cards:,} | {name} | {seconds:.2f} | {ratio:.2f} | {memory} |")


if __name__ == "__main__":
    main()
