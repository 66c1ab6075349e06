"""What a rule sees: the loaded knowledge base and the views derived from it, built once per
check and only when a rule asks (the access model, the router, what `kb emit` would write,
promtool's verdict on the hand-written rule files)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from kb.analysis import anchors
from kb.analysis.access import AccessModel
from kb.analysis.paging import PagingModel
from kb.config.settings import Config, Settings
from kb.core.paths import inside
from kb.emit.build import Emitted, OnDisk, build
from kb.load.knowledge_base import Document, KnowledgeBase
from kb.load.router import Router, published_text_files, router_for
from kb.model import Card, Oncall, Postmortem

if TYPE_CHECKING:
    from kb.emit.promtool import Running


class ReplayMemo(Protocol):
    """Offered by a cache: which promtool replay suites passed before, by content (KB605
    runs only the others)."""

    def passed(self, key: str) -> bool: ...

    def keep(self, key: str) -> None:
        """This suite passed (now or before): remember it for the next check."""
        ...


class RuleContext:
    def __init__(
        self,
        kb: KnowledgeBase,
        promtool: Running | None = None,
        emitted: Callable[[KnowledgeBase], Emitted] | None = None,
        replays: ReplayMemo | None = None,
    ):
        self.kb = kb
        self.replays = replays
        anchors.forget()  # a new look at the files: a reference page may have changed in this process (mkdocs serve)
        self.promtool_hand_written = promtool  # started by the check before loading, on the other core
        self._emit = emitted or build
        self._access: AccessModel | None = None
        self._paging: PagingModel | None = None
        self._router: Router | None = None
        self._emitted: Emitted | None = None
        self._on_disk: OnDisk | None = None
        self._inside: dict[str, Path | None] = {}

    def inside(self, rel: str) -> Path | None:
        """kb.core.paths.inside for this check, memoised for this check only (a new check, a
        new build of mkdocs serve, looks at the file system again)."""
        if rel not in self._inside:
            self._inside[rel] = inside(self.kb.root, rel)
        return self._inside[rel]

    # the loaded data, as rules read it
    @property
    def config(self) -> Config:
        return self.kb.config

    @property
    def settings(self) -> Settings:
        return self.kb.settings

    @property
    def root(self) -> Path:
        return self.kb.root

    @property
    def cards(self) -> list[Document[Card]]:
        return self.kb.cards

    @property
    def postmortems(self) -> list[Document[Postmortem]]:
        return self.kb.postmortems

    @property
    def oncall(self) -> Document[Oncall] | None:
        return self.kb.oncall

    @property
    def rule_files(self) -> list[Any]:
        return self.kb.rule_files

    def card_by_id(self) -> dict[str, Document[Card]]:
        return self.kb.card_by_id()

    def postmortem_by_id(self) -> dict[str, Document[Postmortem]]:
        return self.kb.postmortem_by_id()

    # derived views, each built once
    def access(self) -> AccessModel | None:
        """The access model of oncall.yaml, or None when it is missing or invalid."""
        if self.kb.oncall is None or self.kb.oncall.model is None:
            return None
        if self._access is None:
            paging = self.paging()
            self._access = paging.access if paging is not None else AccessModel(self.kb.oncall.model)
        return self._access

    def paging(self) -> PagingModel | None:
        """Memberships from their sources (they win over people.groups), every rotation's
        schedule and the per-shift verdicts; None when oncall.yaml is missing or invalid."""
        if self.kb.oncall is None or self.kb.oncall.model is None:
            return None
        if self._paging is None:
            cards = [doc.model for doc in self.kb.cards if doc.model is not None]
            self._paging = PagingModel(
                self.kb.root, self.kb.oncall.model, cards, self.kb.settings.business_hours, self.kb.config.today()
            )
        return self._paging

    def router(self) -> Router:
        if self._router is None:
            self._router = router_for(self.kb.root, self.kb.settings, self.kb.config.markdown_extensions)
        return self._router

    def emitted(self) -> Emitted:
        """What `kb emit` would write now."""
        if self._emitted is None:
            self._emitted = self._emit(self.kb)
        return self._emitted

    def emitted_on_disk(self) -> OnDisk:
        """kb emit's own files under rules/ as they are now, each read once for this check."""
        if self._on_disk is None:
            self._on_disk = OnDisk(self.kb, self.emitted())
        return self._on_disk

    @property
    def emitted_if_built(self) -> Emitted | None:
        return self._emitted

    def text_paths(self) -> list[str]:
        """Non-YAML files kb checks (router pages), for inline suppressions."""
        return [page.path for page in self.router().pages]

    def text_files(self) -> list[str]:
        """The Markdown the site publishes besides the YAML: router pages and references."""
        return published_text_files(
            self.kb.root, self.kb.settings.references_dir, self.text_paths(), self.kb.settings.max_file_bytes
        )
