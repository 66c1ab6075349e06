from kb.core.diagnostics import Finding, Level
from kb.core.similar import CloseMatches
from kb.rules.base import DocumentRule


class UnknownPermission(DocumentRule):
    """A step requires a permission that oncall.yaml's `permissions` catalogue does not list.

    Why: the catalogue says which system grants a permission and how a person requests
    it; that is what the paged engineer needs when they lack it. A permission missing from
    the catalogue is usually a typo, and nobody can request it.

    Bad:

    ```yaml
    requires: [deploy:rolback:prompt-service]
    ```

    Good:

    ```yaml
    requires: [deploy:rollback:prompt-service]   # listed under permissions: in oncall.yaml
    ```
    """

    code = "KB303"
    name = "access/unknown-permission"
    level = Level.ERROR
    documents = ("cards",)

    def check_document(self, ctx, doc, options):
        access = ctx.access()
        if access is None:
            return
        for field, index, step in doc.model.all_steps():
            for position, permission in enumerate(step.requires):
                if permission in access.catalogue:
                    continue
                close = self._close_matches(access).best(permission)
                hint = (
                    f" (did you mean '{close}'?)"
                    if close is not None
                    else "; add it under permissions: with its system and request"
                )
                yield Finding(
                    doc.path,
                    f"permission {permission} is not in the catalogue of {ctx.settings.oncall}{hint}",
                    loc=(field, index, "requires", position),
                )

    def _close_matches(self, access) -> CloseMatches:
        """The catalogue's hints, kept across the cards of a run (one rule object checks them all):
        a permission missing from many cards is compared with the catalogue once."""
        if getattr(self, "_close_for", None) is not access:
            self._close_for, self._close = access, CloseMatches(access.catalogue, cutoff=0.8)
        return self._close
