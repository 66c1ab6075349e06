"""Prometheus durations (`1h30m`, `5m`, `90s`) to seconds and back."""

from __future__ import annotations

import re

UNITS = {"y": 365 * 86400, "w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1, "ms": 0.001}
PART = re.compile(r"([0-9]+)(ms|y|w|d|h|m|s)")


def seconds(text: str) -> float:
    return sum(int(n) * UNITS[u] for n, u in PART.findall(text))


def format_seconds(value: float) -> str:
    """The shortest Prometheus duration for a whole number of seconds (0 is 0s)."""
    total: int = round(value)
    if total <= 0:
        return "0s"
    out = ""
    for unit in ("d", "h", "m", "s"):
        size = int(UNITS[unit])
        if total >= size:
            out += f"{total // size}{unit}"
            total %= size
    return out
