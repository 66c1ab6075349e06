"""Top-level fields set on a file `kb new` just rendered from a template (a run log's
timeline, a trace's timestamps), whatever the KB's own template looks like.

The rendered text is round-tripped (ruamel) so the template's comments stay; timestamps
are written as ISO 8601 with the `T` and their offset, the form FORMAT.md shows, and
mappings inside lists (timeline rows) in flow style, one row per line, as the template
writes them.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from kb.edit.roundtrip import private_representers


def _timestamp(representer: Any, value: dt.datetime) -> Any:
    text = value.isoformat(timespec="milliseconds" if value.microsecond else "seconds")
    return representer.represent_scalar("tag:yaml.org,2002:timestamp", text)


def _null(representer: Any, value: None) -> Any:
    return representer.represent_scalar("tag:yaml.org,2002:null", "null")  # as the template writes it, not empty


def _value(value: Any) -> Any:
    if isinstance(value, list):
        seq = CommentedSeq(_value(v) for v in value)
        return seq
    if isinstance(value, dict):
        row = CommentedMap((k, _value(v)) for k, v in value.items())
        row.fa.set_flow_style()
        return row
    return value


def apply_fields(text: str, fields: dict[str, Any]) -> str:
    """`text` (a YAML mapping) with each top-level key in `fields` set (added when absent)."""
    yaml = YAML(typ="rt")
    yaml.width = 4096
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    private_representers(yaml, {dt.datetime: _timestamp, type(None): _null})
    yaml.representer.ignore_aliases = lambda _data: True  # a timestamp used twice is written twice, not &id001
    data = yaml.load(text)
    for key, value in fields.items():
        data[key] = _value(value)
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()
