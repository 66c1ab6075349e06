import shutil
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from kb.core.diagnostics import Finding, Level, Span
from kb.emit import promtool
from kb.emit.replays import Identity, in_place_or_copies, still
from kb.rules.base import Rule


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid")

    require_promtool: bool = False


class PromqlInvalid(Rule):
    """An alert expression or rule file that Prometheus' own checker rejects.

    Why: an alert that does not parse is never loaded, so it never fires: the postmortem's
    lesson is not encoded at all. kb runs `promtool check rules` over what `kb emit` would
    write (errors point back at the postmortem's `expr`) and over hand-written rule files
    (errors point at the file). When promtool is not installed, the check is skipped and
    kb says so plainly (info); set `require_promtool: true` to make that an error in CI.

    Bad:

    ```yaml
    alert:
      name: PublishConsumersPaused
      expr: sum(publish_consumers_running) ==
      for: 5m
    ```

    Good:

    ```yaml
    alert:
      name: PublishConsumersPaused
      expr: sum(publish_consumers_running) == 0 and sum(publish_queue_depth) > 0
      for: 5m
    ```
    """

    code = "KB602"
    name = "emit/promql-invalid"
    level = Level.ERROR
    Options = Options
    tools = ("promtool",)

    _started = False
    _running: promtool.Running | None = None
    _tmp: promtool.Scratch | None = None
    _generated: list[Path] = []
    _watched: dict[Path, Identity] = {}

    def start(self, ctx, options):
        """`promtool check rules` over the emitted rules, started now on the other core: the
        files under rules/kb/alerts/ that are exactly what kb emit writes (plain files, in real
        folders) where they are, the others from a private folder."""
        if self._started:
            return
        self._started = True
        from kb.emit.build import rule_parts

        emitted = ctx.emitted()
        if not emitted.alerts or promtool.executable() is None:
            return
        # the copies in a private folder that the next kb sweeps if this one is killed
        self._tmp = promtool.Scratch.copies()
        self._generated, self._watched = in_place_or_copies(ctx.kb, emitted, rule_parts(emitted), self._tmp.folder)
        self._running = promtool.Running(self._generated, holds=self._tmp)

    def stop(self):
        if self._running is not None:
            self._running.close()
        if self._tmp is not None:
            self._tmp.close()

    def check(self, ctx, options):
        self.start(ctx, options)
        emitted = ctx.emitted()
        # PrometheusRule manifests go to promtool through their spec (_manifests), never as they are
        hand_written = [rf.path for rf in ctx.rule_files if not rf.owned and rf.kind != "PrometheusRule"]
        count = len(emitted.alerts) + sum(len(rf.alerts) for rf in ctx.rule_files if not rf.owned)
        if not emitted.alerts and not hand_written:
            return
        if promtool.executable() is None:
            message = (
                f"promtool is not installed, so the PromQL of {count} alert(s) was not checked "
                "(Debian/Ubuntu: apt-get install prometheus)"
            )
            yield Finding(
                "mkdocs.yml", message, span=Span(1, 1, 1, 2), level=None if options.require_promtool else Level.INFO
            )
            return
        generated_paths: list[Path] = []
        errors: list[promtool.PromtoolError] = []
        if self._running is not None:
            generated_paths = self._generated
            errors = list(self._running.errors())
            if not all(still(path, identity) for path, identity in self._watched.items()):
                # a file changed while promtool read it: every emitted file from the private folder
                from kb.emit.build import rule_parts

                assert self._tmp is not None
                folder = self._tmp.folder / "again"
                generated_paths, _ = in_place_or_copies(None, emitted, rule_parts(emitted), folder)
                errors = promtool.check_rules(generated_paths, holds=self._tmp)
        generated_names = {str(p) for p in generated_paths}
        if ctx.promtool_hand_written is not None:  # started when the KB was loaded
            errors += ctx.promtool_hand_written.errors()
        else:
            errors += promtool.check_rules([ctx.root / path for path in hand_written])
        yield from self._manifests(ctx)
        by_group = {(a.group, a.index): a for a in emitted.alerts}
        for error in errors:
            if error.file in generated_names:
                source = by_group.get((error.group, error.rule))
                if source is not None:
                    yield Finding(
                        source.path, f"promtool: alert {source.name}: {error.message}", loc=source.loc + ("expr",)
                    )
                else:
                    yield Finding(
                        "mkdocs.yml", f"promtool rejects the emitted rules: {error.message}", span=Span(1, 1, 1, 2)
                    )
            else:
                rel = Path(error.file).relative_to(ctx.root).as_posix()
                line, column = error.line or 1, error.column or 1
                where = f'group "{error.group}", rule {error.rule + 1}: ' if error.group is not None else ""
                yield Finding(rel, f"promtool: {where}{error.message}", span=Span(line, column, line, column + 1))

    def _manifests(self, ctx):
        """PrometheusRule manifests (one, or each item of a Kubernetes List): promtool reads only
        their spec, so kb hands it each spec and maps each error back to the manifest's rule
        (`spec.groups.G.rules.R.expr`, `items.I.spec.groups.G.rules.R.expr`)."""
        from kb.load.rulefiles import PROMETHEUS_RULE

        wanted = [rf for rf in ctx.rule_files if not rf.owned and rf.kind == PROMETHEUS_RULE]
        if not wanted:
            return
        with promtool.Scratch.copies() as scratch:  # one private folder for every manifest's specs
            for number, rule_file in enumerate(wanted):
                yield from self._manifest(ctx, rule_file, scratch, scratch.folder / str(number))

    def _manifest(self, ctx, rule_file, scratch, folder):
        import yaml

        from kb.core import safefile, yamlio
        from kb.load.rulefiles import manifests

        limit = ctx.settings.max_file_bytes
        try:
            data = yamlio.load_mapping(safefile.read_inside(ctx.root, rule_file.path, limit), limit, merge_keys=True)
        except (OSError, yamlio.YamlProblem):
            return  # reported by the loader
        found = manifests(data)
        folder.mkdir()
        try:
            specs = {}
            for number, (base, groups) in enumerate(found):
                spec = folder / f"{number}-{Path(rule_file.path).name}"
                spec.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False), encoding="utf-8")
                specs[str(spec)] = (base, groups)
            errors = promtool.check_rules([Path(p) for p in specs], holds=scratch) if specs else []
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        for error in errors:
            base, groups = specs.get(error.file, (("spec", "groups"), None))
            item = f"item {base[1] + 1}: " if base[0] == "items" else ""
            if error.group is not None and error.rule is not None:
                index = next(
                    (
                        gi
                        for gi, g in enumerate(groups if isinstance(groups, list) else [])
                        if isinstance(g, dict) and g.get("name") == error.group
                    ),
                    None,
                )
                if index is not None:
                    yield Finding(
                        rule_file.path,
                        f'promtool: {item}group "{error.group}", rule {error.rule + 1}: {error.message}',
                        loc=(*base, index, "rules", error.rule, "expr"),
                    )
                    continue
            yield Finding(
                rule_file.path,
                f"promtool (on the manifest's spec): {item}{error.message}",
                loc=base[:-2] if base[0] == "items" else (),
                span=None if base[0] == "items" else Span(1, 1, 1, 2),
            )
