import re

from pydantic import BaseModel, ConfigDict, Field

from kb.core import safefile
from kb.core.diagnostics import Finding, Level
from kb.rules.base import DocumentRule

WORD = re.compile(r"[a-z0-9][a-z0-9'_-]*")
HEADING = re.compile(r"^(#{1,6})\s")


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min_words: int = Field(12, ge=4, description="A shared run of this many words counts as a copy.")


def section_text(text: str, anchor: str, anchors: list[str]) -> str:
    """The body of the section whose heading has `anchor` (up to the next heading of its level or above)."""
    headings = [(i, len(m.group(1))) for i, line in enumerate(text.splitlines()) if (m := HEADING.match(line))]
    lines = text.splitlines()
    for (index, level), heading_anchor in zip(headings, anchors):
        if heading_anchor != anchor:
            continue
        end = next((i for i, lvl in headings if i > index and lvl <= level), len(lines))
        return "\n".join(lines[index + 1 : end])
    return ""


def shingles(text: str, size: int) -> set[tuple[str, ...]]:
    words = WORD.findall(text.lower())
    return {tuple(words[i : i + size]) for i in range(len(words) - size + 1)}


class CardCopiesReference(DocumentRule):
    """A card copies text from a reference section it links, instead of linking it.

    Why: a card is self-contained for the action and links deep references by exact
    section for the why. Copying the reference into the card doubles the text a tired
    reader must get through, and the copy goes stale when the reference changes. A shared
    run of `min_words` words (default 12) counts as a copy.

    Bad:

    ```yaml
    summary: >
      Rolling back moves 100% of traffic to the version that served before the last deploy.
      It takes effect in under a minute; cached answers keep being served until their TTL.
    references:
      - {path: references/prompt-deploys.md, section: rolling-back-a-prompt}
    ```

    Good:

    ```yaml
    summary: Roll the prompt back first; cached answers persist up to 15 minutes.
    references:
      - {path: references/prompt-deploys.md, section: rolling-back-a-prompt}
    ```
    """

    code = "KB506"
    name = "card/copies-reference"
    level = Level.WARNING
    documents = ("cards",)
    Options = Options

    def check_document(self, ctx, doc, options):
        from kb.analysis.anchors import anchors_of_file

        # a section read once per check, however many cards link it
        sections = self.__dict__.setdefault("_sections", {})
        files = self.__dict__.setdefault("_files", {})  # reference path -> a regular file to read, or None
        card = doc.model
        if not card.references:
            return
        words_of: dict[str, list[str]] = {}  # each text of this card, split once for all its references
        for ref in card.references:
            if ref.path not in files:
                target = ctx.inside(ref.path)
                files[ref.path] = target if target is not None and target.is_file() else None
            target = files[ref.path]
            if target is None or not ref.section:
                continue
            key = (ref.path, ref.section)
            if key not in sections:
                try:
                    text = safefile.read_text(target)
                except OSError:
                    continue
                body = section_text(text, ref.section, list(anchors_of_file(target, ctx.config.markdown_extensions)))
                runs = shingles(body, options.min_words)
                sections[key] = (runs, frozenset(word for run in runs for word in run))
            copied, vocabulary = sections[key]
            if not copied:
                continue
            for loc, value in _texts(card):
                if value not in words_of:
                    words_of[value] = WORD.findall(value.lower())
                if _shares_run(words_of[value], copied, options.min_words, vocabulary):
                    yield Finding(
                        doc.path,
                        f"this text copies {ref.path}#{ref.section}: link the section instead of copying it",
                        loc=loc,
                    )


def _shares_run(
    words: list[str], copied: set[tuple[str, ...]], size: int, vocabulary: frozenset[str] | None = None
) -> bool:
    """Whether some run of `size` consecutive `words` is one of the section's (`copied`): the
    answer of `shingles(text, size) & copied`, with the runs made and looked up in C (zip and
    isdisjoint, which stops at the first shared run) rather than one Python tuple at a time.
    With the section's `vocabulary` (every word of its runs), the runs are made only when
    `size` words in a row are in it: a run shared is made of its words."""
    if len(words) < size:
        return False  # no run that long
    if vocabulary is not None and not _in_a_row(words, vocabulary, size):
        return False
    return not copied.isdisjoint(zip(*(words[i:] for i in range(size))))


def _in_a_row(words: list[str], vocabulary: frozenset[str], size: int) -> bool:
    """Whether `size` consecutive `words` are all in `vocabulary`."""
    streak = 0
    for word in words:
        if word in vocabulary:
            streak += 1
            if streak >= size:
                return True
        else:
            streak = 0
    return False


def _texts(card):
    yield ("summary",), card.summary
    for field, index, step in card.all_steps():
        for name in ("do", "done_when"):
            value = getattr(step, name)
            if value:
                yield (field, index, name), value
