"""What kb adds to any generator's configuration, plugin or not: its stylesheet, the Markdown
extensions its pages use, the default nav, and system fonts (the site loads nothing from
another host: Material's default font comes from a third-party CDN)."""

from __future__ import annotations

CSS = "assets/kb.css"
REQUIRED_EXTENSIONS = ["admonition", "attr_list", "tables", "toc"]
DEFAULT_NAV = [
    {"Router": "index.md"},
    {"Cards": "cards/index.md"},
    {"Postmortems": "postmortems/index.md"},
    {"Dashboard": "dashboard.md"},
    {"Check rules": "rules/index.md"},
]

# Written into every site kb builds (the plugin and `kb site build`): `kb site build --out DIR`
# replaces DIR only when it holds this, never a folder that merely has an index.html.
SITE_MARKER = ".kb-site"
