from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from kb.core import safefile, yamlio
from kb.core.diagnostics import Finding, Level, Span
from kb.emit import amtool
from kb.rules.base import Rule


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid")

    alertmanager_config: str | None = Field(
        None, description="The Alertmanager configuration file, relative to the KB root; unset: not checked."
    )
    receivers: dict[str, str] = Field(
        default_factory=dict,
        description="The receiver each priority must reach, e.g. {P1: pager}; a priority not listed is not checked.",
    )
    require_amtool: bool = False


def _label_sets(ctx):
    """(path, loc, alert name, labels) of every alert: kb emit's (at the postmortem) and hand-written ones."""
    from kb.emit.build import rule_parts

    emitted = ctx.emitted()
    if emitted.alerts:
        groups = {}
        for name in rule_parts(emitted):
            data = yamlio.load_mapping(emitted.files[name].encode("utf-8"), 1 << 30)
            groups.update({g["name"]: g["rules"] for g in data.get("groups") or []})
        for source in emitted.alerts:
            rule = groups[source.group][source.index]
            labels = {k: str(v) for k, v in (rule.get("labels") or {}).items()}
            yield source.path, source.loc + ("priority",), source.name, labels
    for rule_file in ctx.rule_files:
        if rule_file.owned or not rule_file.alerts:
            continue
        limit = ctx.settings.max_file_bytes
        try:
            data = yamlio.load_mapping(safefile.read_inside(ctx.root, rule_file.path, limit), limit)
        except (OSError, yamlio.YamlProblem):
            continue  # the loader reports it
        for alert in rule_file.alerts:
            node = data
            for part in alert.rule_loc:
                node = node[part]
            labels = node.get("labels") if isinstance(node.get("labels"), dict) else {}
            yield rule_file.path, alert.loc, alert.name, {k: str(v) for k, v in labels.items()}


class PriorityNotRouted(Rule):
    """An alert whose priority does not reach that priority's receiver in Alertmanager.

    Why: a P1 alert pages only if Alertmanager's routing tree sends it to the pager. A
    matcher typo, a route ordered after a catch-all, or a `continue: false` in the wrong
    place silently sends P1 alerts to a ticket queue. Set `alertmanager_config` (the file
    Alertmanager runs with) and `receivers` ({P1: pager, ...}); kb then asks Alertmanager's
    own routing code, `amtool config routes test`, where every alert goes, with all its
    labels. Without amtool the check is skipped with an info (an error with
    `require_amtool: true`; Debian/Ubuntu: apt-get install prometheus-alertmanager).

    Bad:

    ```yaml
    # mkdocs.yml: rules: {KB608: {alertmanager_config: alertmanager.yml, receivers: {P1: pager}}}
    # alertmanager.yml routes priority="p1" (lower case) to pager: P1 alerts reach the default receiver
    labels:
      priority: P1
    ```

    Good:

    ```yaml
    # alertmanager.yml routes priority="P1" to pager
    labels:
      priority: P1
    ```
    """

    code = "KB608"
    name = "rules/priority-not-routed"
    level = Level.ERROR
    Options = Options

    def check(self, ctx, options):
        if not options.alertmanager_config:
            return
        config = Path(ctx.root) / options.alertmanager_config
        where = Span(1, 1, 1, 2)
        if not config.is_file():
            yield Finding(
                "mkdocs.yml", f"KB608 alertmanager_config '{options.alertmanager_config}' is not a file", span=where
            )
            return
        if amtool.executable() is None:
            yield Finding(
                "mkdocs.yml",
                "amtool is not installed, so the routing of alert priorities was not checked "
                "(Debian/Ubuntu: apt-get install prometheus-alertmanager)",
                span=where,
                level=None if options.require_amtool else Level.INFO,
            )
            return
        answers: dict[tuple, amtool.Routed] = {}
        for path, loc, name, labels in _label_sets(ctx):
            priority = labels.get("priority")
            expected = options.receivers.get(priority or "")
            if expected is None:
                continue
            key = tuple(sorted({**labels, "alertname": name}.items()))
            if key not in answers:
                answers[key] = amtool.route(config, dict(key))
            routed = answers[key]
            if routed.problem:
                yield Finding("mkdocs.yml", f"amtool could not route alert {name}: {routed.problem}", span=where)
            elif expected not in routed.receivers:
                got = ", ".join(routed.receivers) or "no receiver"
                yield Finding(
                    path,
                    f"alert {name} ({priority}) reaches {got} in {options.alertmanager_config}, not {expected} "
                    "(amtool config routes test)",
                    loc=loc,
                )
