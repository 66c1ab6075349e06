import hashlib
import json
import os

from pydantic import BaseModel, ConfigDict

from kb.core.diagnostics import Finding, Level, Span
from kb.emit import promtool
from kb.emit.build import ReplaySuite
from kb.emit.replays import ReplayBatch
from kb.rules.base import Rule


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid")

    require_promtool: bool = False


def _labels(labels: dict[str, str]) -> str:
    return "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


def explain(failure: promtool.ReplayFailure, expected_labels: dict[str, str] | None) -> str:
    """What promtool got, and when kb can know it, exactly what to change in the replay."""
    at = f" at {failure.eval_time}" if failure.eval_time else ""
    if failure.got and not failure.expected:
        return f"the alert already fires{at}, where the replay expects silence (got {_labels(failure.got[0])})"
    if failure.expected and not failure.got:
        return f"the alert does not fire{at}: promtool got no alert (check the series, the threshold and `for`)"
    if len(failure.expected) == 1 and len(failure.got) == 1:
        want, got = failure.expected[0], failure.got[0]
        extra = {k: v for k, v in got.items() if k not in want}
        differ = {k: v for k, v in got.items() if k in want and want[k] != v}
        missing = [k for k in want if k not in got]
        if missing and not extra and not differ:
            drop = {k: want[k] for k in missing}
            return (
                f"the alert{at} does not carry {_labels(drop)}, which the test expects "
                f"(its expression drops them): remove {', '.join(sorted(missing))} from the replay's `expect_labels`"
            )
        if extra and not differ and not missing:
            add = ", ".join(f"{k}: {v!r}" if not v.isidentifier() else f"{k}: {v}" for k, v in sorted(extra.items()))
            return (
                f"the alert{at} carries labels from its expression that the test does not expect: "
                f"{_labels(extra)}; add `expect_labels: {{{add}}}` to the replay"
            )
        if not extra and not differ and not missing:
            return (
                f"the alert{at} carries the expected labels {_labels(got)}; an annotation differs from what the "
                "test expects: a `{{ }}` template in one of the alert's annotations renders as Prometheus "
                "expands it, not as written"
            )
    got_text = "; ".join(_labels(g) for g in failure.got) or "no alert"
    want_text = "; ".join(_labels(e) for e in failure.expected) or "no alert"
    return f"promtool{at} expected {want_text}, got {got_text}"


def suite_key(suite: ReplaySuite, tool: str) -> str:
    """What a suite's verdict depends on: its rules and tests, and the promtool binary."""
    try:
        st = os.stat(tool)
        # inode and ctime too: a build swapped in with the same size and mtime is another build
        identity = f"{os.path.realpath(tool)}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ino}\0{st.st_ctime_ns}"
    except OSError:
        identity = tool
    # the test file also sets evaluation_interval: 1m (kb.emit.replays.copy_texts); "v1" names this layout
    payload = json.dumps(
        ["v1", "1m", identity, suite.group, suite.tests], sort_keys=True, ensure_ascii=False, default=str
    )
    return hashlib.blake2b(payload.encode(), digest_size=16).hexdigest()


class ReplayFails(Rule):
    """An emitted alert whose replay of the incident fails `promtool test rules`.

    Why: the replay is the proof that the alert would have fired on the incident, and only
    on it. A replay that never fires, fires too early, or fires with other labels than the
    test expects proves nothing, yet `kb emit` would write it and CI's promtool would fail.
    With promtool installed, kb check runs `promtool test rules` on the tests `kb emit`
    would write and reports each failure at the postmortem's `replay`, with what promtool
    got. An expression that keeps labels (`max by (agent) (...)`, an unaggregated selector)
    gives the alert those labels: kb expects them itself when it is certain (one value of
    each `by` label across the series, or one series), else the finding names exactly the
    `expect_labels` to add.
    Without promtool the replays are not run (KB602 says so); `require_promtool: true`
    makes that an error here too.

    Bad:

    ```yaml
    alert:
      name: AgentStepsHigh
      expr: max by (agent) (agent_run_steps) > 20
      for: 5m
      replay:
        series:
          - {series: 'agent_run_steps{agent="research"}', values: '0+2x30'}
          - {series: 'agent_run_steps{agent="ops"}', values: '0x30'}
        fires_at: 20m
    ```

    Good:

    ```yaml
    alert:
      name: AgentStepsHigh
      expr: max by (agent) (agent_run_steps) > 20
      for: 5m
      replay:
        series:
          - {series: 'agent_run_steps{agent="research"}', values: '0+2x30'}
          - {series: 'agent_run_steps{agent="ops"}', values: '0x30'}
        fires_at: 20m
        expect_labels: {agent: research}
    ```
    """

    code = "KB605"
    name = "emit/replay-fails"
    level = Level.ERROR
    Options = Options
    tools = ("promtool",)

    _started = False
    _batch: ReplayBatch | None = None
    _keys: list[str] = []

    def start(self, ctx, options):
        """Start promtool on the replays now, on the other core, while the engine runs the
        other rules; `check` collects its answer."""
        if self._started:
            return
        self._started = True
        emitted = ctx.emitted()
        if not any(a.test for a in emitted.alerts) or promtool.executable() is None:
            return
        memo = ctx.replays
        tool = promtool.executable() or "promtool"
        run, keys = [], []
        for index, suite in enumerate(emitted.suites):
            key = suite_key(suite, tool) if memo is not None else ""
            keys.append(key)
            if memo is not None and memo.passed(key):
                memo.keep(key)  # passed with these very rules and tests, under this promtool
                continue
            run.append(index)
        if not run:
            return
        # one promtool for all: each test file evaluates only its own postmortem's rules, so
        # the run grows with the number of alerts, not with its square (1,666 postmortems
        # in one file took promtool over two minutes). The batch knows every suite: a failure
        # kb cannot attribute is reported from a run over all of them, as a cold check does.
        self._batch = ReplayBatch(ctx.kb, emitted, emitted.suites, run)
        self._keys = keys

    def stop(self):
        """Never leave promtool running when the check ends without collecting it."""
        if self._batch is not None:
            self._batch.close()

    def check(self, ctx, options):
        self.start(ctx, options)
        emitted = ctx.emitted()
        tested = {a.test: a for a in emitted.alerts if a.test}
        if not tested:
            return
        if promtool.executable() is None:
            if options.require_promtool:
                yield Finding(
                    "mkdocs.yml",
                    f"promtool is not installed, so the replays of {len(tested)} alert(s) were not run "
                    "(require_promtool: true; Debian/Ubuntu: apt-get install prometheus)",
                    span=Span(1, 1, 1, 2),
                )
            return
        batch, self._batch = self._batch, None
        if batch is None:
            return
        run, passed = batch.finish()
        memo = ctx.replays
        if memo is not None:
            for index in sorted(passed):
                memo.keep(self._keys[index])
        yield from self._report(run, tested)

    def _report(self, run, tested):
        if run.ok:
            return
        for failure in run.failures:
            source = tested.get(failure.name)
            if source is None:
                yield Finding(
                    "mkdocs.yml",
                    f"promtool test rules: test '{failure.name}' failed and kb cannot tell which postmortem wrote it: "
                    + " ".join(failure.text.split())[:400],
                    span=Span(1, 1, 1, 2),
                )
                continue
            yield Finding(
                source.path,
                f"promtool test rules: the replay of {source.name} fails: {explain(failure, None)}",
                loc=source.loc + ("replay",),
            )
        if run.problem:
            yield Finding("mkdocs.yml", f"the replays could not be run: {run.problem}", span=Span(1, 1, 1, 2))
