from pydantic import BaseModel, ConfigDict, Field

from kb.core.diagnostics import Finding, Level
from kb.rules.base import DocumentRule


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_age_days: int = Field(90, ge=1)


class StaleVerification(DocumentRule):
    """A card was last verified against the live system too long ago (default 90 days), never, or in the future.

    Why: systems drift under runbooks: commands get renamed, dashboards move, access
    changes. A card nobody walked recently is a guess. Walk it, then `kb card verified ID`.
    The age is the rule option `max_age_days`. A date after tomorrow is a typo (2062 for
    2026) that would pass as fresh for decades.

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
    documents = ("cards",)
    Options = Options

    def check_document(self, ctx, doc, options):
        today = ctx.config.today()
        verified = doc.model.last_verified
        if verified is None:
            yield Finding(
                doc.path,
                "the card has never been verified: walk it against the live system and set last_verified",
                loc=("id",),
            )
            return
        age = (today - verified).days
        if age < -1:  # a day of slack: the stamp is the verifier's local date, a day ahead of UTC east of it
            yield Finding(
                doc.path,
                f"last_verified {verified} is in the future (today is {today}): a typo makes the card look "
                "fresh; set the day it was walked",
                loc=("last_verified",),
            )
        elif age > options.max_age_days:
            yield Finding(
                doc.path,
                f"last verified {age} days ago (limit {options.max_age_days}): walk it against the live system again",
                loc=("last_verified",),
            )
