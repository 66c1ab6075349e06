"""Who a text names: a person of oncall.yaml by name, email or alias, the way a paging tool or
an identity provider spells them (case and surrounding blanks do not matter)."""

from __future__ import annotations

from kb.model import Oncall


def _key(text: str) -> str:
    return " ".join(text.split()).casefold()


class Identities:
    """People by every spelling they declare: their name in oncall.yaml, `email`, `aliases`."""

    def __init__(self, oncall: Oncall):
        self._by_key: dict[str, set[str]] = {}
        for name, person in oncall.people.items():
            for text in (name, person.email, *person.aliases):
                if text:
                    self._by_key.setdefault(_key(text), set()).add(name)

    def lookup(self, text: str) -> list[str]:
        """Every person this text names (more than one: an ambiguous spelling)."""
        return sorted(self._by_key.get(_key(text), ()))

    def person(self, text: str) -> str | None:
        found = self.lookup(text)
        return found[0] if len(found) == 1 else None

    def first(self, texts: list[str]) -> str | None:
        """The person the first text that names exactly one person names."""
        for text in texts:
            if text and (name := self.person(text)) is not None:
                return name
        return None

    def ambiguous(self) -> dict[str, list[str]]:
        """Spellings shared by two or more people: a shift or member they name is nobody's."""
        return {key: sorted(names) for key, names in self._by_key.items() if len(names) > 1}
