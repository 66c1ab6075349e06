from pydantic import BaseModel, ConfigDict, Field

from kb.diagnostics import Finding, Level
from kb.rules import Rule, register


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_age_days: int = Field(90, ge=1)


@register
class StaleVerification(Rule):
    """A card was last verified against the live system too long ago (default 90 days), or never.

    Why: systems drift under runbooks: commands get renamed, dashboards move, access
    changes. A card nobody walked recently is a guess. Walk it, then `kb card verified ID`.
    The age is the rule option `max_age_days`.

    Bad:

    ```yaml
    last_verified: 2025-01-10
    ```

    Good:

    ```yaml
    last_verified: 2026-10-02   # within max_age_days of today
    ```
    """

    code = "KB204"
    name = "card/stale-verification"
    level = Level.WARNING
    scope = "document"
    Options = Options

    def check(self, kb, options):
        today = kb.config.today()
        for doc in kb.cards:
            if doc.model is None:
                continue
            verified = doc.model.last_verified
            if verified is None:
                yield Finding(doc.path, "the card has never been verified: walk it against the live system "
                              "and set last_verified", loc=("id",))
                continue
            age = (today - verified).days
            if age > options.max_age_days:
                yield Finding(doc.path, f"last verified {age} days ago (limit {options.max_age_days}): "
                              "walk it against the live system again", loc=("last_verified",))
