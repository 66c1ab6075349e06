from urllib.parse import urlsplit

from kb.core.diagnostics import Finding, Level
from kb.rules.base import Rule


def absolute(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


class RelativeRunbookUrl(Rule):
    """The alerts `kb emit` writes would carry relative runbook links: site_url is not absolute.

    Why: an emitted alert's `runbook_url` and `postmortem_url` are `site_url` followed by the
    card's or postmortem's page. Alertmanager, PagerDuty and Slack show that link to the
    engineer on their phone, who has no page to resolve a relative link against: without an
    absolute `site_url` (`https://host/path/`) in mkdocs.yml, the link leads nowhere. An
    `!ENV` site_url resolves as MkDocs resolves it, so an unset variable without a default
    is reported too.

    Bad:

    ```yaml
    # mkdocs.yml (or `site_url: !ENV SITE_URL` with SITE_URL unset where kb emit runs)
    site_url: /kb/
    ```

    Good:

    ```yaml
    # or `site_url: !ENV [SITE_URL, "https://kb.example.org/"]`
    site_url: https://kb.example.org/
    ```
    """

    code = "KB630"
    name = "emit/relative-runbook-url"
    level = Level.ERROR

    def check(self, ctx, options):
        if not ctx.emitted().alerts or absolute(ctx.config.site_url):
            return
        shown = f"'{ctx.config.site_url}'" if ctx.config.site_url else "empty"
        yield Finding(
            "mkdocs.yml",
            f"site_url is {shown}, so the runbook_url of the {len(ctx.emitted().alerts)} alert(s) kb emit writes "
            "would be relative and lead nowhere from a page: set an absolute site_url (https://host/path/)",
            loc=("site_url",),
        )
