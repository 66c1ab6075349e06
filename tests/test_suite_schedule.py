"""The suite's scheduling lists (tests/conftest.py) name tests and modules that exist: a
renamed test would silently fall back to file order, and a renamed module would build its
site once per worker again."""

from __future__ import annotations

import re

from conftest import ONE_WORKER_MODULES, REPO, STARTED_FIRST


def test_every_test_started_first_exists() -> None:
    for prefix in STARTED_FIRST:
        module, _, name = prefix.partition("::")
        source = (REPO / module).read_text(encoding="utf-8")
        assert not name or re.search(rf"^def {re.escape(name)}", source, re.M), f"{prefix} names no test"


def test_every_one_worker_module_has_a_module_fixture() -> None:
    for module in ONE_WORKER_MODULES:
        assert '@pytest.fixture(scope="module")' in (REPO / module).read_text(encoding="utf-8"), module
