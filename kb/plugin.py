"""The `kb` MkDocs plugin: its options are kb's settings (validated by the same model)."""

from __future__ import annotations

from typing import Any

from mkdocs.plugins import BasePlugin
from pydantic import ValidationError

from kb.settings import Settings


class KbPlugin(BasePlugin):
    """Validates the `kb` entry of mkdocs.yml with kb's own Settings model."""

    def load_config(self, options: dict[str, Any], config_file_path: str | None = None):
        self.config = dict(options)  # type: ignore[assignment]
        errors: list[tuple[str, Exception]] = []
        try:
            self.settings = Settings.model_validate(options)
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                where = ".".join(str(p) for p in error["loc"]) or "kb"
                errors.append((where, ValueError(error["msg"])))
            self.settings = Settings()
        return errors, []
