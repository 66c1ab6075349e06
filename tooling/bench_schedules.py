"""Benchmark the per-shift checks (issue #18) on a year of hourly shifts.

    python tooling/bench_schedules.py --rotations 10 20 40 [--workdir DIR]
    python tooling/bench_schedules.py --stages   # one year file's first run, stage by stage

For each size, a knowledge base with that many 24x7 rotations of five people, two cards per
rotation, and one schedule per rotation holding a year of hourly shifts (8,760 each): half in
PagerDuty's shape (one VEVENT per shift, the final schedule), half in Grafana OnCall's (five
RRULE layers, FREQ=HOURLY;INTERVAL=5). One person per rotation holds the cards' permission
only in business hours, so the business-hours clock runs and findings are folded.

Measured in process, after loading the KB once:
- baseline: `run_check` with every rule but KB311-KB322 (today's check; memberships only);
- cold: every rule, with an empty schedule cache (icalendar parses, recurring-ical-events expands);
- warm: every rule, with the schedule cache filled (the parsed shifts come from the cache);
Prints wall and CPU seconds (the machine may be shared: CPU time is the steadier number; it
includes the forked schedule parse workers') and CPU microseconds per shift on top of the
baseline. KB_JOBS=1 keeps the parse in one process.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

HOURS = 8760
PEOPLE = 5
START = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)


def pagerduty_template() -> bytes:
    """A year of hourly shifts, one VEVENT each, rotating p0..p4 (the icalendar library writes it)."""
    import icalendar

    cal = icalendar.Calendar()
    cal.add("prodid", "-//PagerDuty Inc.//PagerDuty Schedule Feed//EN")
    cal.add("version", "2.0")
    stamp = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    for hour in range(HOURS):
        who = hour % PEOPLE
        event = icalendar.Event()
        event.add("uid", f"shift-{hour}")
        event.add("dtstamp", stamp)
        event.add("dtstart", START + dt.timedelta(hours=hour))
        event.add("dtend", START + dt.timedelta(hours=hour + 1))
        event.add("summary", f"On Call - Person {who} - ROTATION")
        event.add("attendee", f"mailto:p{who}@ROTATION.example.org")
        cal.add_component(event)
    return cal.to_ical()


def grafana_template() -> bytes:
    """Five hourly RRULE layers, each every fifth hour for a year."""
    import icalendar

    cal = icalendar.Calendar()
    cal.add("prodid", "//Grafana Labs//Grafana On-Call//")
    cal.add("version", "2.0")
    stamp = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    for who in range(PEOPLE):
        event = icalendar.Event()
        event.add("uid", f"layer-{who}")
        event.add("dtstamp", stamp)
        event.add("dtstart", START + dt.timedelta(hours=who))
        event.add("dtend", START + dt.timedelta(hours=who + 1))
        event.add("rrule", {"freq": "hourly", "interval": PEOPLE, "count": HOURS // PEOPLE})
        event.add("summary", f"[L1] p{who}@ROTATION.example.org")
        cal.add_component(event)
    return cal.to_ical()


def build(root: Path, rotations: int, templates: dict[str, bytes]) -> None:
    shutil.rmtree(root, ignore_errors=True)
    for folder in ("cards", "schedules", "docs"):
        (root / folder).mkdir(parents=True)
    (root / "mkdocs.yml").write_text(
        "site_name: bench\nsite_url: https://kb.test/\ndocs_dir: docs\nplugins:\n  - kb:\n      today: 2027-01-01\n"
    )
    router = ["# Router", ""]
    oncall = ["permissions:"]
    for r in range(rotations):
        oncall.append(f"  svc{r}:restart:api: {{system: Svc{r}, request: 'ask team {r}'}}")
    oncall.append("groups:")
    for r in range(rotations):
        oncall.append(f"  team{r}: {{grants: ['svc{r}:*']}}")
        oncall.append(f"  team{r}-day: {{grants: ['svc{r}:*'], hours: business}}")
    oncall.append("people:")
    for r in range(rotations):
        for p in range(PEOPLE):
            group = f"team{r}-day" if p == PEOPLE - 1 else f"team{r}"
            oncall.append(f"  r{r}p{p}: {{groups: [{group}], timezone: Europe/Berlin, email: p{p}@r{r}.example.org}}")
    oncall.append("rotations:")
    for r in range(rotations):
        members = ", ".join(f"r{r}p{p}" for p in range(PEOPLE))
        oncall.append(f"  rot{r}: {{members: [{members}], schedule: schedules/rot{r}.ics}}")
        shape = "pagerduty" if r % 2 == 0 else "grafana"
        (root / "schedules" / f"rot{r}.ics").write_bytes(templates[shape].replace(b"ROTATION", f"r{r}".encode()))
        for c in range(2):
            card = f"card-{r}-{c}"
            (root / "cards" / f"{card}.yaml").write_text(
                f"id: {card}\ntitle: Card {r} {c}\nsummary: A card.\nowner: team{r}\nrotation: rot{r}\n"
                f"priority: P2\nsteps:\n  - id: restart\n    do: Restart the api\n"
                f"    requires: [svc{r}:restart:api]\n    done_when: The api answers\n"
            )
            router.append(f"- Card {r} {c} → [{card}](cards/{card}.yaml)")
    (root / "oncall.yaml").write_text("\n".join(oncall) + "\n")
    (root / "router.md").write_text("\n".join(router) + "\n")


def measure(root: Path, cache: Path) -> dict[str, float]:
    from kb.check.engine import run_check
    from kb.load.loader import load_kb
    from kb.rules import all_rules
    from kb.rules.context import RuleContext

    os.environ["KB_CACHE_DIR"] = str(cache)
    os.environ.pop("KB_NO_CACHE", None)
    new = [f"KB3{n}" for n in range(11, 23)]  # the schedule and membership rules, KB322 included
    others = [code for code in all_rules() if code not in new]
    kb = load_kb(root)
    timings: dict[str, float] = {}

    def cpu_now() -> float:
        """This process's CPU and its reaped children's (the schedule parse workers)."""
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return time.process_time() + children.ru_utime + children.ru_stime

    def timed(name: str, select):
        wall, cpu = time.perf_counter(), cpu_now()
        result = run_check(RuleContext(kb), select=select)
        timings[name] = time.perf_counter() - wall
        timings[name + "_cpu"] = cpu_now() - cpu
        return result

    timed("baseline", others)
    shutil.rmtree(cache, ignore_errors=True)
    result = timed("cold", None)
    timed("warm", None)
    timings["findings"] = len(result.diagnostics)
    return timings


def stages(templates: dict[str, bytes]) -> None:
    """Where one year file's first-run CPU goes, per shape: the libraries' floor and kb's own."""
    import gc

    def cpu(work, repeat: int = 3) -> float:
        best = float("inf")
        for _ in range(repeat):
            gc.collect()
            began = time.process_time()
            work()
            best = min(best, time.process_time() - began)
        return best

    print("| shape | stage | CPU s per year file | µs per shift |")
    print("| --- | --- | --- | --- |")
    for shape, template in templates.items():
        _stages(shape, template.replace(b"ROTATION", b"r0"), cpu)


def _stages(shape: str, raw: bytes, cpu) -> None:
    import hashlib
    import marshal

    import icalendar
    import recurring_ical_events
    from icalendar.parser import Contentlines

    from kb.analysis import schedule as schedule_module
    from kb.analysis.schedule import Mapper, parse_calendar, resolve

    today = START.date()
    text = raw.decode()
    rows = {"icalendar Calendar.from_ical (whole parse)": cpu(lambda: icalendar.Calendar.from_ical(text))}
    if shape == "pagerduty":
        lines = Contentlines.from_ical(text)
        distinct = list(dict.fromkeys(line for line in lines if line))
        parts = [line.parts() for line in distinct]
        types = icalendar.Calendar.types_factory
        wanted = [(n.upper(), p, v) for n, p, v in parts if n.upper() in ("DTSTART", "DTEND", "UID")]
        values = list({(n == "UID", v): (n, p, v) for n, p, v in wanted}.values())
        rows["floor: icalendar unfolding (Contentlines.from_ical)"] = cpu(lambda: Contentlines.from_ical(text))
        rows["floor: icalendar tokenizer, each distinct line once"] = cpu(lambda: [x.parts() for x in distinct])
        rows["floor: icalendar value types, each distinct value once"] = cpu(
            lambda: [types.for_property(n, None)(types.for_property(n, None).from_ical(v)) for n, _p, v in values]
        )
    else:
        calendar = icalendar.Calendar.from_ical(text)
        begin = dt.datetime.combine(today, dt.time(), dt.UTC)
        query = recurring_ical_events.of(calendar)
        rows["floor: recurring-ical-events expansion (its occurrences, no copies)"] = cpu(
            lambda: query._occurrences_between(begin, begin + dt.timedelta(days=400))
        )
        rows["recurring-ical-events between() (a component copy per occurrence)"] = cpu(
            lambda: query.between(begin, begin + dt.timedelta(days=400)), 1
        )
    occurrences, open_ended = parse_calendar(raw, today)
    rows["kb parse_calendar (all of the above that it uses, and kb's own reading)"] = cpu(
        lambda: parse_calendar(raw, today)
    )
    saved = schedule_module.FAST_EVENTS
    schedule_module.FAST_EVENTS = False
    rows["kb parse_calendar through Calendar.from_ical (the reference path)"] = cpu(
        lambda: parse_calendar(raw, today), 1
    )
    schedule_module.FAST_EVENTS = saved
    payload = marshal.dumps((open_ended, [tuple(o) for o in occurrences]))
    rows["cache write (marshal, SHA-256; the file write not included)"] = cpu(
        lambda: hashlib.sha256(marshal.dumps((open_ended, [tuple(o) for o in occurrences]))).digest()
    )
    rows["cache read (SHA-256, marshal, occurrences)"] = cpu(
        lambda: (
            list(map(schedule_module.Occurrence._make, marshal.loads(payload)[1])) and hashlib.sha256(payload).digest()
        )
    )

    class Everyone:  # maps every name to itself: resolution's own cost, not the identity lookup's
        def person(self, email):
            return email

        def first(self, names):
            return names[0] if names else None

    rows["kb resolve (who is paged, shift by shift)"] = cpu(lambda: resolve(occurrences, Mapper(Everyone())))
    for stage, seconds in rows.items():
        print(f"| {shape} | {stage} | {seconds:.3f} | {seconds / len(occurrences) * 1e6:.1f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rotations", type=int, nargs="+", default=[10, 20, 40])
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--stages", action="store_true", help="only split one year file's first run into stages")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="kb-bench-schedules-"))
    started = time.perf_counter()
    templates = {"pagerduty": pagerduty_template(), "grafana": grafana_template()}
    print(f"templates written by icalendar in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    if args.stages:
        stages(templates)
        return
    print("| rotations | shifts | baseline s (cpu) | cold +s (cpu) | warm +s (cpu) | warm cpu µs/shift | findings |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for rotations in args.rotations:
        root = workdir / f"kb-{rotations}"
        build(root, rotations, templates)
        t = measure(root, workdir / f"cache-{rotations}")
        shifts = rotations * HOURS
        extra = {k: t[k] - t["baseline"] for k in ("cold", "warm")}
        extra_cpu = {k: t[k + "_cpu"] - t["baseline_cpu"] for k in ("cold", "warm")}
        print(
            f"| {rotations} | {shifts:,} | {t['baseline']:.2f} ({t['baseline_cpu']:.2f}) | "
            f"{extra['cold']:.1f} ({extra_cpu['cold']:.1f}) | {extra['warm']:.2f} ({extra_cpu['warm']:.2f}) | "
            f"{extra_cpu['warm'] / shifts * 1e6:.2f} | {int(t['findings'])} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
