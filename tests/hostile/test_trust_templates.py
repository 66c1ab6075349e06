"""Class 11: KB-provided templates are bounded. Output size, loop iterations and recursion
have limits; exceeding one is a `template file (line N)` error within seconds, never
gigabytes of memory or a spin. The child running each case has a 2 GB address-space limit
and a deadline, so a failing case cannot take the machine down."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import BASE_KB, copy_kb
from trust_cli import kb_forked, no_traceback

HEADER = "id: {{ id | q }}\ntitle: {{ title | q }}\n"
BOMBS = {
    "nested-loops": "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
    "triple-loops": "{% for i in range(1000) %}{% for j in range(1000) %}{% for k in range(1000) %}{% endfor %}{% endfor %}{% endfor %}",
    "big-output": "{% for i in range(100000) %}{{ 'x' * 100 }}{% endfor %}",
    "string-multiply": "{{ 'x' * 10000000000 }}",
    "power": "{{ 7 ** 999999 }}",
    "power-chain": "{{ (2 ** 64) ** 64 }}",
    "format-width": "{{ '%999999999d' % 1 }}",
    "center-filter": "{{ 'x' | center(3000000000) }}",
    "recursive-macro": "{% macro r(n) %}{{ r(n + 1) }}{% endmacro %}{{ r(0) }}",
    "list-multiply": "{{ ([1] * 100000000) | length }}",
    "join-huge": "{{ (range(100000) | list) | join('x' * 100000) }}",
    "indent-bomb": "{{ ('x\\n' * 100000) | indent(100000) }}",
    "loop-cycler": "{% for i in range(100000) %}{% for j in range(100000) %}{{ loop.index }}{% endfor %}{% endfor %}",
}


@pytest.mark.parametrize("name", sorted(BOMBS))
def test_template_bomb_is_an_error_with_a_line(tmp_path: Path, name: str):
    root = copy_kb(BASE_KB, tmp_path / "kb")
    (root / "templates").mkdir(exist_ok=True)
    (root / "templates/card.yaml.j2").write_text(HEADER + "\n\n" + BOMBS[name] + "\n")
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
        timeout=10,
        memory=2 << 30,
    )
    assert result is not None, "the template spun past the deadline"
    no_traceback(result)
    assert result.returncode == 1, result.output
    assert "card.yaml.j2" in result.stderr and "line 5" in result.stderr, result.stderr
    assert not (root / "cards/t.yaml").exists()


def test_an_ordinary_template_still_renders(tmp_path: Path):
    root = copy_kb(BASE_KB, tmp_path / "kb")
    result = kb_forked(
        "new",
        "card",
        "--title",
        "Ordinary",
        "--rotation",
        "sre-primary",
        "--priority",
        "P2",
        "--owner",
        "o",
        "--alert",
        "A1",
        "--alert",
        "A2",
        cwd=root,
    )
    assert result is not None and result.returncode == 0, result
    assert (root / "cards/ordinary.yaml").is_file()
