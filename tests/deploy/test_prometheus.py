"""deploy/prometheus: promtool checks the scrape configuration and the rules and runs the
rules' unit tests; the rules use only metrics Loom exposes."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

from tests.deploy import tools
from tests.deploy.promql import unknown_metrics

PROMETHEUS = tools.DEPLOY / "prometheus"
RULES = PROMETHEUS / "rules" / "loom-alerts.yml"
RULE_TESTS = PROMETHEUS / "tests" / "loom-alerts.test.yml"
JOBS = {"loom-webserver", "loom-scheduler", "loom-worker", "loom-notifier", "loom-triggerer"}
REQUIRED_ALERTS = {
    "LoomSchedulerDown",
    "LoomQueueBacklogGrowing",
    "LoomDeadLettersPresent",
    "LoomTaskFailureRateHigh",
    "LoomOutboxStuck",
}


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def alerts() -> list[dict[str, Any]]:
    return [rule for group in load(RULES)["groups"] for rule in group["rules"]]


def test_rules_pass_promtool_check() -> None:
    result = tools.run(tools.promtool(), "check", "rules", RULES)
    assert result.returncode == 0, tools.explain(result)
    assert f"SUCCESS: {len(alerts())} rules found" in result.stdout


def test_promtool_rejects_a_broken_rule(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(RULES.read_text().replace("> 600", ">> 600", 1))
    result = tools.run(tools.promtool(), "check", "rules", broken)
    assert result.returncode != 0, tools.explain(result)


def test_rule_unit_tests_pass() -> None:
    result = tools.run(tools.promtool(), "test", "rules", RULE_TESTS)
    assert result.returncode == 0, tools.explain(result)
    assert "SUCCESS" in result.stdout


def test_rule_unit_tests_catch_a_changed_rule(tmp_path: Path) -> None:
    shutil.copytree(PROMETHEUS, tmp_path / "prometheus")
    rules = tmp_path / "prometheus" / "rules" / "loom-alerts.yml"
    rules.write_text(
        rules.read_text().replace("oldest_age_seconds) > 600", "oldest_age_seconds) > 6000")
    )
    result = tools.run(
        tools.promtool(),
        "test",
        "rules",
        tmp_path / "prometheus" / "tests" / "loom-alerts.test.yml",
    )
    assert result.returncode != 0, tools.explain(result)
    assert "LoomOutboxStuck" in result.stdout + result.stderr


def test_compose_scrape_configuration_passes_promtool() -> None:
    result = tools.run(tools.promtool(), "check", "config", PROMETHEUS / "prometheus.yml")
    assert result.returncode == 0, tools.explain(result)
    assert "rules/loom-alerts.yml" in result.stdout  # the rule files were found and checked


def test_compose_scrape_jobs_reach_every_process() -> None:
    configs = {c["job_name"]: c for c in load(PROMETHEUS / "prometheus.yml")["scrape_configs"]}
    assert set(configs) >= JOBS
    ports = {
        "loom-webserver": 8080,
        "loom-worker": 9102,
        "loom-notifier": 9103,
        "loom-triggerer": 9104,
    }
    for job, port in ports.items():  # DNS discovery finds every replica of a scaled service
        assert configs[job]["dns_sd_configs"][0]["port"] == port
    assert configs["loom-scheduler"]["static_configs"][0]["targets"] == [
        "scheduler-1:9101",
        "scheduler-2:9101",
    ]


def test_kubernetes_scrape_configuration_names_jobs_by_component() -> None:
    """Debian's promtool is built without Kubernetes discovery, so this file is checked
    for what it must do: keep Loom's annotated pods, use their port annotation, and name
    the job loom-<component>."""
    (config,) = load(PROMETHEUS / "prometheus-kubernetes.yml")["scrape_configs"]
    assert config["kubernetes_sd_configs"][0]["role"] == "pod"
    relabels = {r.get("target_label", r.get("action")): r for r in config["relabel_configs"]}
    assert relabels["job"]["source_labels"] == [
        "__meta_kubernetes_pod_label_app_kubernetes_io_component"
    ]
    assert relabels["job"]["replacement"] == "loom-$1"
    assert "__meta_kubernetes_pod_annotation_prometheus_io_port" in str(relabels["__address__"])


def test_the_issue_s_alerts_exist_and_are_unit_tested() -> None:
    names = {rule["alert"] for rule in alerts()}
    assert names >= REQUIRED_ALERTS
    tested = {
        case["alertname"] for test in load(RULE_TESTS)["tests"] for case in test["alert_rule_test"]
    }
    assert tested >= REQUIRED_ALERTS


def test_scheduler_down_means_no_scheduler_up_or_none_at_all() -> None:
    (rule,) = [r for r in alerts() if r["alert"] == "LoomSchedulerDown"]
    assert 'up{job="loom-scheduler"}' in rule["expr"]
    assert "absent(" in rule["expr"]


def test_every_alert_has_a_severity_and_a_summary() -> None:
    for rule in alerts():
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}, rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
        assert rule["annotations"]["description"], rule["alert"]


def test_rules_use_only_metrics_loom_exposes() -> None:
    assert unknown_metrics([rule["expr"] for rule in alerts()]) == {}
