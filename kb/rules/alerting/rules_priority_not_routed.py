from pydantic import BaseModel, ConfigDict, Field, field_validator

from kb.core import safefile, yamlio
from kb.core.diagnostics import Finding, Level
from kb.core.paths import OutsideKB, confine, path_problem
from kb.emit import amtool
from kb.model.common import Priority
from kb.rules.base import Rule


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid")

    alertmanager_config: str | None = Field(
        None, description="The Alertmanager configuration file, relative to the KB root; unset: not checked."
    )
    # a key that is not a priority (p1) would check nothing, and say nothing: refused
    receivers: dict[Priority, str] = Field(
        default_factory=dict,
        description="The receiver each priority must reach, e.g. {P1: pager}; a priority not listed is not checked.",
    )
    require_amtool: bool = False

    @field_validator("alertmanager_config")
    @classmethod
    def _inside_the_kb(cls, value: str | None) -> str | None:
        if value is not None and (problem := path_problem(value)):
            raise ValueError(f"the path '{value}' {problem}; kb reads only files inside the knowledge base")
        return value


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
            data = yamlio.load_mapping(safefile.read_inside(ctx.root, rule_file.path, limit), limit, merge_keys=True)
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
    tools = ("amtool",)

    @classmethod
    def reads(cls, options):
        return [options.alertmanager_config] if options.alertmanager_config else []

    def check(self, ctx, options):
        if not options.alertmanager_config:
            return
        kb_config = ctx.kb.config
        from kb.rules import find_rule

        key = next((k for k in kb_config.settings.rules if find_rule(k) is type(self)), self.code)
        option = kb_config.plugin_loc + ("rules", key, "alertmanager_config")
        try:  # a link out of the KB too: what kb checks is what the repository holds
            config = confine(ctx.root, options.alertmanager_config)
        except OutsideKB as exc:
            yield Finding("mkdocs.yml", f"KB608 alertmanager_config {exc}; not read", loc=option)
            return
        where = option
        if not config.is_file():
            yield Finding(
                "mkdocs.yml", f"KB608 alertmanager_config '{options.alertmanager_config}' is not a file", loc=where
            )
            return
        if amtool.executable() is None:
            yield Finding(
                "mkdocs.yml",
                "amtool is not installed, so the routing of alert priorities was not checked "
                "(Debian/Ubuntu: apt-get install prometheus-alertmanager)",
                loc=where,
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
                yield Finding("mkdocs.yml", f"amtool could not route alert {name}: {routed.problem}", loc=where)
            elif expected not in routed.receivers:
                got = ", ".join(routed.receivers) or "no receiver"
                yield Finding(
                    path,
                    f"alert {name} ({priority}) reaches {got} in {options.alertmanager_config}, not {expected} "
                    "(amtool config routes test)",
                    loc=loc,
                )
