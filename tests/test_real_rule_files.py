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


LIST = REPO / "tests" / "fixtures" / "real_rules_list" / "kubectl-get-prometheusrules.yaml"


def with_list(base_kb: Path, text: str | None = None) -> Path:
    target = base_kb / "rules" / "cluster"
    target.mkdir()
    (target / LIST.name).write_text(text if text is not None else LIST.read_text())
    return base_kb


def test_a_kubernetes_list_of_prometheus_rules_is_read_item_by_item(base_kb: Path) -> None:
    """`kubectl get prometheusrules -o yaml` writes a List: each item's alerts are read and
    checked where they sit (before: a KB100 error asking the user to split the file)."""
    root = with_list(base_kb)
    kb = load_kb(root)
    listed = next(rf for rf in kb.rule_files if rf.path == "rules/cluster/kubectl-get-prometheusrules.yaml")
    assert [a.name for a in listed.alerts] == [
        "AlertmanagerFailedReload",
        "AlertmanagerMembersInconsistent",
        "AlertmanagerFailedToSendAlerts",
        "KubeStateMetricsListErrors",
        "KubeStateMetricsWatchErrors",
        "KubeStateMetricsShardingMismatch",
        "KubeStateMetricsShardsMissing",
    ]
    assert listed.alerts[4].loc == ("items", 1, "spec", "groups", 0, "rules", 1, "alert")
    assert findings(root, "KB100", "KB110") == []
    # every alert of both items is judged: pointed at an external runbook host nobody configured
    without_card = findings(root, "KB603")
    assert len([f for f in without_card if "kubectl-get" in f[0]]) == 7
    text = LIST.read_text().splitlines()
    line = next(i for i, t in enumerate(text, 1) if "- alert: KubeStateMetricsWatchErrors" in t)
    assert ("rules/cluster/kubectl-get-prometheusrules.yaml", line, "KB603") in without_card


def test_promtool_checks_each_item_of_a_list(base_kb: Path) -> None:
    require_tool("promtool")
    assert findings(with_list(base_kb), "KB602") == []  # real rules: no false alarm
    shutil.rmtree(base_kb / "rules" / "cluster")
    broken = LIST.read_text().replace("by (cluster) != 0\n", "by (cluster) !=\n", 1)  # item 2's third alert
    root = with_list(base_kb, broken)
    line = next(i for i, t in enumerate(broken.splitlines(), 1) if "stdvar (kube_state_metrics" in t) - 1
    found = run_check(RuleContext(load_kb(root)), select=["KB602"]).diagnostics
    assert [(d.path, d.span.line) for d in found] == [("rules/cluster/kubectl-get-prometheusrules.yaml", line)]
    assert 'item 2: group "kube-state-metrics", rule 3' in found[0].message


def test_an_item_that_is_not_a_prometheus_rule_is_said_at_the_item(base_kb: Path) -> None:
    text = LIST.read_text().replace(
        "kind: List\n",
        "- apiVersion: v1\n  data: {alert.rules: 'groups: []'}\n  kind: ConfigMap\n  metadata: {name: extra}\nkind: List\n",
    )
    root = with_list(base_kb, text)
    line = next(i for i, t in enumerate(text.splitlines(), 1) if t == "  kind: ConfigMap")
    result = run_check(RuleContext(load_kb(root)), select=["KB100", "KB110"]).diagnostics
    assert [(d.path, d.span.line, d.code) for d in result] == [
        ("rules/cluster/kubectl-get-prometheusrules.yaml", line, "KB110")
    ]
    assert "item 3 of this List is a ConfigMap, not a PrometheusRule" in result[0].message
    listed = next(rf for rf in load_kb(root).rule_files if rf.path.endswith("kubectl-get-prometheusrules.yaml"))
    assert len(listed.alerts) == 7  # the PrometheusRule items are still read
