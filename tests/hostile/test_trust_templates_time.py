"""Class 11, time: a template may spin without a loop, without output and without deep
recursion (a macro calling itself twice per level makes 2**40 calls at depth 40). Every
render has a wall-time limit (5 s, KB_TEMPLATE_SECONDS here 0.25 s), checked at every call,
operator, attribute, loop step and output: the spin is a `template file (line N)` error."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from conftest import BASE_KB, copy_kb
from trust_cli import kb_forked, no_traceback

HEADER = "id: {{ id | q }}\ntitle: {{ title | q }}\n"
SPINS = {
    "doubling-macro": "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(40) }}",
    "doubling-set": "{% macro g(n) %}{% if n %}{% set a = g(n - 1) %}{% set b = g(n - 1) %}{% endif %}{% endmacro %}"
    "{{ g(45) }}",
    "doubling-dict": "{% macro d(n) %}{% if n %}{% set x = {'a': d(n - 1), 'b': d(n - 1)} %}{% endif %}"
    "{% endmacro %}{{ d(40) }}",
    "attribute-walk": "{% macro w(n, s) %}{% if n %}{{ w(n - 1, s.upper()) }}{{ w(n - 1, s.lower()) }}{% endif %}"
    "{% endmacro %}{{ w(40, 'x') }}",
    "filter-chain": "{% macro c(n) %}{% if n %}{{ c(n - 1) | trim }}{{ c(n - 1) | lower }}{% endif %}{% endmacro %}"
    "{{ c(40) }}",
}


@pytest.mark.parametrize("name", sorted(SPINS))
def test_a_spinning_template_is_stopped_fast_with_its_line(tmp_path: Path, name: str):
    root = copy_kb(BASE_KB, tmp_path / "kb")
    (root / "templates").mkdir(exist_ok=True)
    (root / "templates/card.yaml.j2").write_text(HEADER + "\n\n" + SPINS[name] + "\n")
    started = time.monotonic()
    result = kb_forked(
        "new",
        "card",
        "--title",
        "t",
        "--rotation",
        "sre-primary",
        "--priority",
        "P2",
        "--owner",
        "o",
        cwd=root,
        env={"KB_TEMPLATE_SECONDS": "0.25"},
        timeout=6,
    )
    assert result is not None, "the template spun past the deadline"
    no_traceback(result)
    assert result.returncode == 1, result.output
    assert "card.yaml.j2" in result.stderr and "line 5" in result.stderr, result.stderr
    assert "longer than 0.25 s" in result.stderr, result.stderr
    assert time.monotonic() - started < 8
    assert not (root / "cards/t.yaml").exists()
