"""kb's settings: the `kb` plugin entry of mkdocs.yml, read by `kb check` and the site alike."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from kb.config.mkdocs import (
    CONFIG_FILE,
    PATH_DEFAULTS,
    NoKnowledgeBase,
    find_root,
    normalise_site_url,
    plugin_entry,
    read_raw,
)
from kb.core import yamlio
from kb.core.diagnostics import Finding, LoadProblem
from kb.core.paths import path_problem
from kb.core.validation import findings_from

__all__ = ["CONFIG_FILE", "Config", "NoKnowledgeBase", "Settings", "find_root", "load_config"]

LevelSetting = Literal["error", "warning", "info", "off"]


class BusinessHours(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # no day, or an end not after the start, is a window that never opens: every business-hours
    # grant would be judged unusable (or usable) from nothing, so both are refused
    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = Field(
        ["mon", "tue", "wed", "thu", "fri"], min_length=1
    )
    start: str = Field("09:00", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
    end: str = Field("18:00", pattern=r"^([01][0-9]|2[0-4]):[0-5][0-9]$")

    @field_validator("end")
    @classmethod
    def _after_start(cls, value: str, info: ValidationInfo) -> str:
        start = info.data.get("start")
        if start is not None and value <= start:  # zero-padded HH:MM: text order is time order
            raise ValueError(
                f"end {value} is not after start {start}: business hours are one window within a day "
                "(an overnight window is not supported)"
            )
        return value

    def minutes(self) -> tuple[int, int]:
        def parse(hhmm: str) -> int:
            hours, minutes = hhmm.split(":")
            return int(hours) * 60 + int(minutes)

        return parse(self.start), parse(self.end)


class DrillTargets(BaseModel):
    model_config = ConfigDict(extra="forbid")

    switchback_minutes: float = 5
    core_recovery_minutes: float = 15
    first_update_minutes: float = 30


Priority = Literal["P1", "P2", "P3"]
DEFAULT_SEVERITY: dict[Priority, str] = {"P1": "critical", "P2": "warning", "P3": "info"}


class Settings(BaseModel):
    """Options of the `kb` plugin in mkdocs.yml; every one has a default."""

    model_config = ConfigDict(extra="forbid")

    router: str = PATH_DEFAULTS["router"]
    cards_dir: str = PATH_DEFAULTS["cards_dir"]
    postmortems_dir: str = PATH_DEFAULTS["postmortems_dir"]
    references_dir: str = PATH_DEFAULTS["references_dir"]
    oncall: str = PATH_DEFAULTS["oncall"]
    rules_dir: str = PATH_DEFAULTS["rules_dir"]
    templates_dir: str = PATH_DEFAULTS["templates_dir"]
    runs_dir: str = PATH_DEFAULTS["runs_dir"]
    router_budget: int = Field(40, ge=1, description="Non-blank lines a router page may have.")
    max_file_bytes: int = Field(yamlio.MAX_BYTES, ge=1024)
    select: list[str] = Field(default_factory=list, description="Run only these rules (codes, prefixes or names).")
    ignore: list[str] = Field(default_factory=list, description="Never run these rules.")
    rules: dict[str, dict[str, Any] | LevelSetting] = Field(
        default_factory=dict,
        description="Per rule (code or name): a level, or {level: ..., option: value}.",
    )
    business_hours: BusinessHours = Field(default_factory=BusinessHours)
    drill_targets: DrillTargets = Field(default_factory=DrillTargets)
    severity: dict[Priority, str] = Field(default_factory=lambda: dict(DEFAULT_SEVERITY))
    today: dt.date | None = Field(None, description="Pin 'today' for reproducible checks (tests, drills).")
    search: Literal["builtin", "pagefind"] = Field(
        "builtin",
        description="The site's search with the plugin (mkdocs/properdocs build and serve): the theme's own "
        "(one index file of every page), or pagefind (a chunked index; remove the theme's `search` plugin).",
    )
    external_runbook_hosts: list[str] = Field(
        default_factory=list,
        description="Hosts of runbooks kept outside this KB (e.g. runbooks.prometheus-operator.dev): an alert "
        "whose runbook_url points there is not asked for a card (KB603) nor for a priority label (KB606).",
    )

    @field_validator(
        "router", "cards_dir", "postmortems_dir", "references_dir", "oncall", "rules_dir", "templates_dir", "runs_dir"
    )
    @classmethod
    def _inside_the_kb(cls, value: str) -> str:
        if problem := path_problem(value):
            raise ValueError(f"the path '{value}' {problem}; every kb path stays inside the knowledge base")
        return value

    @field_validator("severity", mode="after")
    @classmethod
    def _every_priority(cls, value: dict[Priority, str]) -> dict[Priority, str]:
        """A partial map keeps the default for the priorities it does not name."""
        return {**DEFAULT_SEVERITY, **value}

    @field_validator("select", "ignore")
    @classmethod
    def _strip(cls, value: list[str]) -> list[str]:
        return [v.strip() for v in value if v.strip()]


@dataclass
class Config:
    root: Path
    settings: Settings
    site_url: str = ""
    markdown_extensions: list[Any] = field(default_factory=list)
    problems: list[Finding] = field(default_factory=list)
    plugin_loc: tuple = ("plugins",)  # YAML path of the kb entry's options, for diagnostics
    docs_dir: str = "docs"  # MkDocs' docs_dir as written (MkDocs refuses a missing one before any plugin runs)
    docs_dir_written: bool = False
    # mkdocs.yml is not YAML kb can read: every setting is a default, so no other check can be trusted
    unreadable: bool = False

    def today(self) -> dt.date:
        return self.settings.today or dt.date.today()


def load_config(root: Path) -> Config:
    config = Config(root=root, settings=Settings())
    try:
        raw = read_raw(root)
    except yamlio.YamlProblem as problem:
        message = f"{problem.message}; nothing else was checked: every other check reads mkdocs.yml's settings"
        config.problems.append(Finding(CONFIG_FILE, message, span=problem.span, problem=LoadProblem.CONFIG))
        config.unreadable = True
        return config
    except OSError as exc:
        config.problems.append(Finding(CONFIG_FILE, f"cannot read: {exc.strerror}", problem=LoadProblem.CONFIG))
        return config
    config.site_url = normalise_site_url(raw.get("site_url"))
    if isinstance(raw.get("docs_dir"), str):
        config.docs_dir, config.docs_dir_written = raw["docs_dir"], True
    extensions = raw.get("markdown_extensions") or []
    config.markdown_extensions = extensions if isinstance(extensions, list) else []
    where, options = plugin_entry(raw.get("plugins"))
    prefix: tuple = ("plugins", where, "kb") if isinstance(where, int) else ("plugins", "kb")
    config.plugin_loc = prefix
    if not isinstance(options, dict):
        config.problems.append(
            Finding(CONFIG_FILE, "the kb plugin's options must be a mapping", loc=prefix, problem=LoadProblem.CONFIG)
        )
        return config
    try:
        config.settings = Settings.model_validate(options)
    except ValidationError as exc:
        for finding in findings_from(exc, Settings, CONFIG_FILE):
            finding.loc = prefix + finding.loc
            finding.message = "kb plugin option: " + finding.message.replace("field", "option", 1)
            finding.problem = LoadProblem.CONFIG
            config.problems.append(finding)
    return config
