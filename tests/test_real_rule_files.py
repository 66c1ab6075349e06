"""Real public rule files under rules/ (issue #15): subfolders, PrometheusRule manifests,
external runbook hosts, priority labels. The material is in tests/fixtures/real_rules, kept
verbatim with its source and licence: awesome-prometheus-alerts' LiteLLM rules (MIT) and an
excerpt of kube-prometheus' Alertmanager PrometheusRule (Apache-2.0)."""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import REPO, require_tool

from kb.check.engine import run_check
from kb.load.loader import load_kb
from kb.rules.context import RuleContext

REAL = REPO / "tests" / "fixtures" / "real_rules"


def with_thirdparty(base_kb: Path) -> Path:
    target = base_kb / "rules" / "thirdparty"
    target.mkdir()
    for path in REAL.iterdir():
        shutil.copy(path, target / path.name)
    return base_kb


def findings(root: Path, *codes: str) -> list[tuple[str, int, str]]:
    result = run_check(RuleContext(load_kb(root)), select=list(codes))
    return [(d.path, d.span.line, d.code) for d in result.diagnostics if d.code in codes]


def test_subfolders_and_manifests_are_read(base_kb: Path) -> None:
    kb = load_kb(with_thirdparty(base_kb))
    alerts = {rf.path: [a.name for a in rf.alerts] for rf in kb.rule_files}
    assert alerts["rules/thirdparty/litellm-embedded-exporter.yml"] == [
        "LitellmProviderSpendOverBudget",
        "LitellmProxyFailedRequestsRateHigh",
        "LitellmRequestLatencyP95High",
    ]
    manifest = next(rf for rf in kb.rule_files if rf.path.endswith("alertmanager-prometheusRule.yaml"))
    assert manifest.kind == "PrometheusRule" and len(manifest.alerts) == 3
    assert manifest.alerts[0].loc == ("spec", "groups", 0, "rules", 0, "alert")


def test_external_runbook_host_needs_no_card(base_kb: Path) -> None:
    root = with_thirdparty(base_kb)
    before = findings(root, "KB603")
    assert sum(1 for path, _, _ in before if "prometheusRule" in path) == 3  # pointed at their own alerts
    assert ("rules/thirdparty/alertmanager-prometheusRule.yaml", 20, "KB603") in before
    mkdocs = root / "mkdocs.yml"
    mkdocs.write_text(mkdocs.read_text() + "      external_runbook_hosts: [runbooks.prometheus-operator.dev]\n")
    after = findings(root, "KB603", "KB607")
    assert not any("prometheusRule" in path for path, _, _ in after)
    # the LiteLLM rules have no runbook_url and no priority: both still reported, in the subfolder
    assert ("rules/thirdparty/litellm-embedded-exporter.yml", 14, "KB603") in after
    assert ("rules/thirdparty/litellm-embedded-exporter.yml", 14, "KB607") in after


def test_promtool_checks_a_manifest_through_its_spec(base_kb: Path) -> None:
    require_tool("promtool")
    root = with_thirdparty(base_kb)
    assert findings(root, "KB602") == []  # the real files are valid: no false alarm on a manifest
    manifest = root / "rules" / "thirdparty" / "alertmanager-prometheusRule.yaml"
    text = manifest.read_text()
    manifest.write_text(text.replace('namespace="monitoring"}[5m]) == 0', 'namespace="monitoring"}[5m] == 0', 1))
    assert findings(root, "KB602") == [("rules/thirdparty/alertmanager-prometheusRule.yaml", 26, "KB602")]


def test_a_kubernetes_list_of_prometheus_rules_is_never_passed_unread(tmp_path: Path) -> None:
    """`kubectl get prometheusrule -o yaml` writes a List: its alerts must not pass unchecked (outside review)."""
    from conftest import BASE_KB, copy_kb

    from kb.commands import check

    root = copy_kb(BASE_KB, tmp_path / "kb")
    (root / "rules" / "thirdparty").mkdir(parents=True, exist_ok=True)
    (root / "rules" / "thirdparty" / "x.yml").write_text(
        "apiVersion: v1\nkind: List\nitems:\n  - apiVersion: monitoring.coreos.com/v1\n    kind: PrometheusRule\n"
        "    metadata: {name: x}\n    spec:\n      groups:\n        - name: g\n          rules:\n"
        "            - alert: OrphanL\n              expr: up == 0\n              labels: {priority: P1}\n"
    )
    assert check.run(select=["KB100"], root=root) == 1
