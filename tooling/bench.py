"""Benchmark kb on synthetic knowledge bases, side by side with the parse floor.

    python tooling/bench.py --cards 1000 10000 --runs 3 [--findings 0.05] [--site] [--reference]

For each size: the floor (PyYAML's C loader over every YAML file kb loads: cards,
postmortems, oncall.yaml and the rule files, in one process), `kb check` cold (empty cache),
warm (nothing changed), after one edited card and after one edited postmortem, `kb route`
with an alert and with words, `kb access CARD`, and with --site `mkdocs build`, with
--reference yamllint and check-jsonschema on the same cards (when installed). --findings
adds a copy of each KB with that fraction of its cards and postmortems carrying a finding
and times its cold check. Prints a Markdown table of medians, ratios to the floor, the CPU
seconds (user + system, helpers included: on a shared machine the ratio of CPU time is the
steadier one) and each command's peak memory: max RSS from wait4 (the largest single
process, kb or its helper) and, sampled every 20 ms from /proc, kb's RSS plus the private
memory of its helpers (promtool, the load helper) at the same instant.

    python tooling/bench.py --curve [--workdir DIR]

is the per-file cost curve: the cold check at 1,000, 10,000, 30,000 and 100,000 cards, each
size's CPU per card and its ratio to the 10,000-card cost (issue #20: within 1.2x), and its
peak memory, kb and helpers together (issue #20: under 1 GiB at 100,000).
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
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

FLOOR = """
import glob, sys, yaml
root = sys.argv[1]
files = [*glob.glob(root + "/cards/*.yaml"), *glob.glob(root + "/postmortems/*.yaml"), root + "/oncall.yaml"]
files += glob.glob(root + "/rules/*.yml") + glob.glob(root + "/rules/*.yaml")
for f in sorted(files):
    with open(f, "rb") as h:
        yaml.load(h, Loader=yaml.CSafeLoader)
"""


def _children(pid: int) -> list[int]:
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                found += [int(child) for child in handle.read().split()]
    except OSError:
        pass
    return found


def _memory_kib(pid: int, private: bool) -> int:
    """A process's RSS, or its private memory only (a forked helper shares its parent's pages)."""
    fields = ("Private_Clean:", "Private_Dirty:") if private else ("Rss:",)
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            return sum(int(line.split()[1]) for line in handle if line.startswith(fields))
    except (OSError, ValueError):
        return 0


class TreePeak(threading.Thread):
    """The peak of kb's RSS plus its helpers' private memory, sampled every 20 ms (Linux)."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak, self.done = pid, 0, threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            total, stack, seen = _memory_kib(self.pid, False), _children(self.pid), set()
            while stack:
                child = stack.pop()
                if child not in seen:
                    seen.add(child)
                    total += _memory_kib(child, True)
                    stack += _children(child)
            self.peak = max(self.peak, total)
            self.done.wait(0.02)


TREE_PEAKS: list[int] = []  # MiB, one per run(), for the rows that report kb and its helpers together


def run(cmd: list[str], cwd: Path, env: dict) -> tuple[float, float, int, int]:
    """Wall seconds, CPU seconds (user + system, with the children it waited for), peak RSS
    in MiB and the exit code of one whole process."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sampler = TreePeak(proc.pid)
    if os.path.exists("/proc/self/smaps_rollup"):
        sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    sampler.done.set()
    if sampler.is_alive():
        sampler.join()
    TREE_PEAKS.append(sampler.peak // 1024)
    elapsed = time.perf_counter() - started
    # wait4's rusage covers the process and the children it reaped (kb's load helper)
    cpu = usage.ru_utime + usage.ru_stime
    return elapsed, cpu, usage.ru_maxrss // 1024, os.waitstatus_to_exitcode(status)


def median_of(runs: int, cmd: list[str], cwd: Path, env: dict, before=None) -> tuple[float, float, int, int]:
    """Median wall and CPU seconds, the largest process's peak RSS and the peak of kb and its
    helpers together (issue #20's memory target is the latter), over `runs` runs."""
    times, cpus, peaks, trees = [], [], [], []
    for _ in range(runs):
        if before:
            before()
        elapsed, cpu, peak, _ = run(cmd, cwd, env)
        times.append(elapsed)
        cpus.append(cpu)
        peaks.append(peak)
        trees.append(TREE_PEAKS[-1])
    return statistics.median(times), statistics.median(cpus), max(peaks), max(trees)


def kb_command() -> list[str]:
    """The console script installed beside this interpreter (what a virtual environment puts
    on PATH), else the one on PATH, else `python -m kb`. A version manager's shim on PATH
    (pyenv's is a shell script that runs pyenv) would add its own start to every timed command."""
    beside = Path(sys.executable).with_name("kb")
    exe = str(beside) if beside.is_file() and os.access(beside, os.X_OK) else shutil.which("kb")
    return [exe] if exe else [sys.executable, "-m", "kb"]


def bench_size(
    cards: int, runs: int, workdir: Path, site: bool, reference: bool, findings: float, cold_only: bool = False
) -> list[tuple]:
    root = workdir / f"kb-{cards}"
    if not (root / "mkdocs.yml").exists():
        # in a child: a child's peak RSS starts at its parent's at fork, so the parent stays small
        subprocess.run([sys.executable, str(HERE / "synth_kb.py"), str(root), "--cards", str(cards)], check=True)
    cache = workdir / f"cache-{cards}"
    env = {**os.environ, "KB_CACHE_DIR": str(cache), "NO_COLOR": "1"}
    kb = kb_command()
    rows = []
    floor = median_of(runs, [sys.executable, "-c", FLOOR, str(root)], root, env)
    rows.append(("parse floor (PyYAML C loader, every YAML file)", *floor))

    def clear_cache() -> None:
        shutil.rmtree(cache, ignore_errors=True)

    rows.append(("kb check, cold", *median_of(runs, [*kb, "check"], root, env, before=clear_cache)))
    if cold_only:  # the per-file cost curve
        return [(cards, name, s, s / floor[0], c, c / floor[1], memory, tree) for name, s, c, memory, tree in rows]
    run([*kb, "check"], root, env)
    rows.append(("kb check, warm (nothing changed)", *median_of(runs, [*kb, "check"], root, env)))
    # kb.cache.delta answers these edits from the last result: a summary, a step's text and a
    # title are read by no other document's rule (a title kb emit writes is re-emitted alone)
    for label, path, old in (
        ("card (its summary)", root / "cards" / "card-00007.yaml", "Synthetic card 7 "),
        (
            "postmortem (its summary)",
            root / "postmortems" / "PM-2020-0007-synthetic-incident.yaml",
            "Synthetic incident 7:",
        ),
        ("card (a step's text)", root / "cards" / "card-00007.yaml", "(step 1 of card 7)"),
        (
            "postmortem (its title)",
            root / "postmortems" / "PM-2020-0007-synthetic-incident.yaml",
            "Synthetic incident 7 in",
        ),
    ):
        original = path.read_text()

        def edit_one(path=path, original=original, old=old) -> None:
            path.write_text(original.replace(old, f"{old} (edited {time.time_ns()}) ", 1))

        rows.append((f"kb check, one {label} edited", *median_of(runs, [*kb, "check"], root, env, before=edit_one)))
        path.write_text(original)
        run([*kb, "check"], root, env)
    n = cards // 2
    alert = f"SvcSvc{n % max(10, cards // 100):03d}Alert{n}"
    words = ["runs", "stall", "with", "no", "heartbeat", "svc-042"]
    for label, cmd in (
        (f"kb route {alert}", [*kb, "route", alert]),
        (f"kb route {' '.join(words)}", [*kb, "route", *words]),
        (f"kb access card-{n:05d}", [*kb, "access", f"card-{n:05d}"]),
    ):
        run(cmd, root, env)
        rows.append((label, *median_of(runs, cmd, root, env)))
    # the first route and access after a card changed (no kb check in between): the warm
    # index reads that one card again and re-derives what it touches
    edited = root / "cards" / f"card-{n + 1:05d}.yaml"
    original = edited.read_text()
    for label, cmd in (
        (f"kb route {' '.join(words)}, first after one card edited", [*kb, "route", *words]),
        (f"kb access card-{n:05d}, first after one card edited", [*kb, "access", f"card-{n:05d}"]),
    ):

        def edit_other(edited=edited, original=original) -> None:
            edited.write_text(original.replace("summary: >", f"summary: >\n  Edited {time.time_ns()}.", 1))

        rows.append((label, *median_of(runs, cmd, root, env, before=edit_other)))
    edited.write_text(original)
    if findings:
        copy = workdir / f"kb-{cards}-findings"
        if not copy.exists():
            shutil.copytree(root, copy)
            code = f"import sys; sys.path.insert(0, {str(HERE)!r}); import synth_kb; synth_kb.inject_findings"
            subprocess.run([sys.executable, "-c", f"{code}(__import__('pathlib').Path({str(copy)!r}), {findings})"])
        cold = median_of(runs, [*kb, "check"], copy, env, before=clear_cache)
        rows.append((f"kb check, cold, {findings:.0%} of files with findings", *cold))
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
    wall, cpu = floor[0], floor[1]
    return [(cards, name, s, s / wall, c, c / cpu, memory, tree) for name, s, c, memory, tree in rows]


CURVE: list[tuple[int, float, int]] = []  # (cards, CPU s of the cold check, kb + helpers MiB)


def curve_row(row: tuple, tree_peak: int, rows: list) -> None:
    """One line of the per-file cost curve, printed as soon as its size is measured."""
    cards, _, _, _, cpu, cpu_ratio, memory, _ = row
    CURVE.append((cards, cpu, tree_peak))
    if len(CURVE) == 1:
        print(
            "| cards | kb check cold CPU s | CPU per card | x the 10,000-card cost | CPU x floor | peak MiB "
            "(largest process) | peak MiB (kb + helpers) |\n| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
        )
    reference = next((c / n for n, c, _ in CURVE if n == 10000), None)
    per_card = cpu / cards
    ratio = f"{per_card / reference:.2f}" if reference else "-"
    print(
        f"| {cards:,} | {cpu:.2f} | {per_card * 1000:.2f} ms | {ratio} | {cpu_ratio:.2f} | {memory} | {tree_peak} |",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cards", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--site", action="store_true", help="also time mkdocs build (slow at 10,000 cards)")
    parser.add_argument("--reference", action="store_true", help="also yamllint and check-jsonschema")
    parser.add_argument("--findings", type=float, default=0.0, help="also a copy with this fraction of files wrong")
    parser.add_argument("--cold-only", action="store_true", help="only the floor and the cold check (a cost curve)")
    parser.add_argument("--curve", action="store_true", help="the per-file cost curve: 1k, 10k, 30k and 100k, cold")
    args = parser.parse_args()
    if args.curve:
        args.cards, args.cold_only = [1000, 10000, 30000, 100000], True
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="kb-bench-"))
    # an installed kb has bytecode; an editable checkout run with PYTHONDONTWRITEBYTECODE
    # would compile every module in every timed process
    compileall.compile_dir(str(Path(__file__).resolve().parent.parent / "kb"), quiet=1)
    rows = []
    for cards in args.cards:
        rows += bench_size(cards, args.runs, workdir, args.site, args.reference, args.findings, args.cold_only)
        if args.curve:
            curve_row(rows[-1], TREE_PEAKS[-1], rows)
    if args.curve:
        return
    print(
        "| cards | command | median s | x floor | CPU s | CPU x floor | peak MiB (largest process) "
        "| peak MiB (kb + helpers) |\n| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
    )
    for cards, name, seconds, ratio, cpu, cpu_ratio, memory, tree in rows:
        if args.cold_only and name == "kb check, cold":
            name += f" ({seconds / cards * 1000:.2f} ms, CPU {cpu / cards * 1000:.2f} ms a card)"
        print(
            f"| {cards:,} | {name} | {seconds:.2f} | {ratio:.2f} | {cpu:.2f} | {cpu_ratio:.2f} | {memory} | {tree} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
