from kb.core.diagnostics import Finding, Level, Span
from kb.rules.base import Rule


class EmitOutOfDate(Rule):
    """The files `kb emit` owns under rules/ are not what it would write now.

    Why: a reinforcement counts only once it is the mechanism itself: the alert rule
    deployed, the promtool test run, the gate and eval in their lists. If a postmortem's
    reinforcement changed and nobody ran `kb emit`, the deployed rules silently disagree
    with the postmortem. Run `kb emit` and commit the result.

    Bad:

    ```yaml
    # postmortems/PM-2026-004-...yaml changed the alert's `for: 5m` to `for: 2m`;
    # rules/kb/alerts/PM-2026-004.yml still says for: 5m
    for: 2m
    ```

    Good:

    ```yaml
    # after `kb emit`, rules/kb/alerts/PM-2026-004.yml says for: 2m too
    for: 2m
    ```
    """

    code = "KB601"
    name = "emit/out-of-date"
    level = Level.ERROR

    def check(self, ctx, options):
        from kb.emit.build import EmitProblem, changes, is_owned, rules_dir

        if any(doc.model is None for doc in ctx.postmortems):
            return  # a postmortem that does not load cannot be emitted; its own diagnostic comes first
        emitted = ctx.emitted()
        try:
            changed = changes(ctx.kb, emitted, ctx.emitted_on_disk())
        except EmitProblem:
            return  # a rules folder kb cannot use (a link out, a special file): KB102 and KB103 say why
        base = ctx.settings.rules_dir.strip("/")
        for name in sorted(changed):
            path = rules_dir(ctx.kb) / name
            rel = f"{base}/{name}"
            if not changed[name][1]:
                message = (
                    f"{rel} was written by kb emit but kb emit no longer writes it (its postmortem is gone, "
                    "has no such reinforcement now, or it is the single-file layout of an older kb): "
                    "run kb emit, which removes it, and commit the result"
                )
            elif path.exists() and not is_owned(path):
                message = (
                    f"{rel} was not written by kb emit (no header), so kb emit will not update it: rename or move it"
                )
            elif not path.exists():
                message = f"{rel} is missing: run kb emit and commit the result"
            else:
                message = (
                    f"{rel} is not what kb emit writes from the postmortems now: run kb emit and commit the result"
                )
            if path.exists():
                yield Finding(rel, message, span=Span(1, 1, 1, 2))
            else:  # at the postmortem it would be written from
                yield Finding(emitted.origin[name], message, loc=("reinforcements",))
