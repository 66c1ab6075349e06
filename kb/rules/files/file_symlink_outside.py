import os

from kb.core.diagnostics import Finding, Level, Span
from kb.core.paths import is_outside
from kb.load.loader import links_outside
from kb.rules.base import Rule


class SymlinkOutside(Rule):
    """A file in the knowledge base is a symbolic link to a place outside it.

    Why: kb publishes what the KB holds. A link from cards/ or references/ (or the folder
    cards/ itself, or a folder above a file) to a file outside
    the repository (a home directory, /etc, a mounted secret) would be read, rendered on the
    site and emitted, though nobody reviewed it in this repository. kb never follows such a
    link: the file is left out and reported here. Links that stay inside the KB are fine.

    Bad:

    ```yaml
    references/credentials.md: /home/alice/.aws/credentials
    ```

    Good:

    ```yaml
    references/dispatch-queue.md: ../docs/dispatch-queue.md   # a link that stays in the repository
    ```
    """

    code = "KB102"
    name = "file/symlink-outside"
    level = Level.ERROR

    def check(self, ctx, options):
        s = ctx.settings
        rels = []
        for folder in (s.cards_dir, s.postmortems_dir, s.references_dir, s.rules_dir, s.templates_dir, s.runs_dir):
            folder = os.path.normpath(folder).replace(os.sep, "/")
            if is_outside(ctx.root, folder):
                rels.append(folder)  # the folder itself is a link out: reported once, never walked
                continue
            base = ctx.root / folder
            if not base.is_dir():
                continue
            for dirpath, dirnames, filenames in os.walk(base):  # os.walk does not descend into linked folders
                rel_dir = os.path.relpath(dirpath, ctx.root).replace(os.sep, "/")
                rels += [f"{rel_dir}/{name}" for name in sorted(filenames + dirnames)]
        rels += [s.oncall, s.router]
        for rel in links_outside(ctx.root, sorted(set(rels))):
            target = os.path.realpath(ctx.root / rel)
            yield Finding(
                rel,
                f"a symbolic link to {target!r}, outside the knowledge base: not read, not published; "
                "copy the file in, or remove the link",
                span=Span(1, 1, 1, 1),
            )
