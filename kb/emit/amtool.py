"""amtool, when it is installed: which Alertmanager receiver a label set reaches, by
Alertmanager's own routing code (`amtool config routes test`)."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from kb.emit import promtool


@dataclass
class Routed:
    receivers: list[str]
    problem: str | None = None  # amtool failed: its own words


def executable() -> str | None:
    return shutil.which("amtool")


def route(config: Path, labels: dict[str, str], timeout: float = 30) -> Routed:
    """The receivers an alert with these labels reaches under `config`, in routing-tree order."""
    tool = executable()
    if tool is None:
        return Routed([], "amtool is not installed")
    args = [tool, "config", "routes", "test", f"--config.file={config}"]
    args += [f"{key}={value}" for key, value in sorted(labels.items())]
    try:
        # dies with kb, as promtool does: a killed kb leaves no amtool running (third outside review)
        proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout, **promtool.child_options())
    except subprocess.TimeoutExpired:
        return Routed([], f"amtool did not finish in {timeout:.0f} s")
    except OSError as exc:
        return Routed([], f"amtool could not be run: {exc}")
    lines = [line.strip() for line in proc.stdout.splitlines() if line.strip()]
    if proc.returncode != 0 or len(lines) != 1:
        said = " | ".join(line.strip() for line in (proc.stderr + proc.stdout).splitlines() if line.strip())
        return Routed([], f"amtool exited {proc.returncode}: {said[-400:] or 'no output'}")
    return Routed([name.strip() for name in lines[0].split(",") if name.strip()])
