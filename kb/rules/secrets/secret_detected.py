from kb.core import safefile
from kb.core.diagnostics import Finding, Level, LoadProblem, Span
from kb.load.exports import export_files, read_export, scan_export
from kb.load.parse import secret_message
from kb.load.secrets import RULE_CODE, scan_published_text
from kb.rules.base import LoadRule


class SecretDetected(LoadRule):
    """A credential is pasted into the knowledge base.

    Why: runbooks are written at 3 a.m. from a terminal, and a command that worked is pasted
    whole, token included. The KB is published (the site, its search index, emitted rule
    files, CI logs), so a pasted token is a leaked token. kb scans every card, postmortem,
    oncall.yaml, reference page, router page and run log (`kb run --evidence`), and the exports
    it keeps (schedules/, memberships/: a feed URL's token, a webhook in a DESCRIPTION, folded
    lines unfolded) with
    detect-secrets' detectors (AWS, GitHub, GitLab, Slack, Stripe, OpenAI, JWT, private keys,
    passwords in URLs and after keywords, and the rest of its list; not its entropy detectors,
    which fire on every trace id).

    Whatever the level or `--ignore` says, a credential is never published: the site shows
    it as "[secret removed by kb]" and `kb emit` refuses to write it. Only a reviewed false
    positive, marked on its line with `# kb: ignore[KB701]`, is shown as written.

    Bad:

    ```yaml
    steps:
      - id: replay
        run: 'curl -H "Authorization: Bearer ghp_EXAMPLE0EXAMPLE1EXAMPLE2EXAMPLE3EXAMP" https://api.github.com/'
    ```

    Good:

    ```yaml
    steps:
      - id: replay
        run: 'curl -H "Authorization: Bearer $(vault read -field=token secret/oncall/github)" https://api.github.com/'
    ```
    """

    code = "KB701"
    reports = LoadProblem.SECRET
    name = "secret/detected"
    level = Level.ERROR

    def check(self, ctx, options):
        yield from super().check(ctx, options)  # what the loader found in the YAML
        # run logs too: `kb run --evidence` takes whatever was pasted, and the logs are committed
        for rel in [*ctx.text_files(), *(log.path for log in ctx.kb.runs)]:
            try:
                raw = safefile.read_inside(ctx.root, rel)
            except (OSError, ValueError):
                continue
            for hit in scan_published_text(raw, rel):
                message = secret_message(hit.kind).replace(RULE_CODE, self.code)
                yield Finding(rel, message, span=Span(hit.line, hit.column, hit.line, hit.end_column))
        for rel in export_files(ctx.kb):  # schedules and membership exports: kb quotes and publishes them
            raw = read_export(ctx.root, rel)
            for hit in scan_export(raw, rel) if raw is not None else []:
                message = secret_message(hit.kind).replace(RULE_CODE, self.code)
                yield Finding(rel, message, span=Span(hit.line, hit.column, hit.line, hit.end_column))
