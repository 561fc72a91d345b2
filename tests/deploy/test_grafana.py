"""deploy/grafana: the provisioning files agree with each other and with Compose, and the
dashboard's queries are valid PromQL over metrics Loom exposes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from tests.deploy import tools
from tests.deploy.promql import KNOWN_METRICS, base_name, metric_names, unknown_metrics

GRAFANA = tools.DEPLOY / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "loom.json"
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h"}


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def panels() -> list[dict[str, Any]]:
    return [p for p in dashboard()["panels"] if p["type"] != "row"]


def exprs() -> list[str]:
    return [target["expr"] for panel in panels() for target in panel["targets"]]


def datasource() -> dict[str, Any]:
    provisioning = yaml.safe_load((GRAFANA / "provisioning/datasources/prometheus.yml").read_text())
    (source,) = provisioning["datasources"]
    return dict(source)


def as_recording_rules(queries: list[str]) -> str:
    """Queries as a rule file, for promtool to parse them (Grafana's variables filled in)."""
    rules = []
    for number, query in enumerate(queries):
        for variable, value in GRAFANA_VARIABLES.items():
            query = query.replace(variable, value)
        rules.append({"record": f"dashboard:query_{number}", "expr": query})
    return yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]})


def test_dashboard_queries_are_valid_promql(tmp_path: Path) -> None:
    rules = tmp_path / "dashboard.yml"
    rules.write_text(as_recording_rules(exprs()))
    result = tools.run(tools.promtool(), "check", "rules", rules)
    assert result.returncode == 0, tools.explain(result)
    assert f"SUCCESS: {len(exprs())} rules found" in result.stdout


def test_an_invalid_query_would_be_caught(tmp_path: Path) -> None:
    rules = tmp_path / "dashboard.yml"
    rules.write_text(as_recording_rules([*exprs(), "sum by (queue (loom_queue_depth)"]))
    result = tools.run(tools.promtool(), "check", "rules", rules)
    assert result.returncode != 0, tools.explain(result)


def test_dashboard_uses_only_metrics_loom_exposes() -> None:
    assert unknown_metrics(exprs()) == {}


def test_dashboard_covers_runs_tasks_latency_queues_dead_letters_and_the_api() -> None:
    titles = " ".join(p["title"] for p in dashboard()["panels"]).lower()
    for topic in ("runs", "task", "latency", "queue", "dead letters", "outbox", "api"):
        assert topic in titles, topic
    used = {base_name(name) for expr in exprs() for name in metric_names(expr)}
    assert KNOWN_METRICS - used == {"loom_state_read_ok"}  # that one only backs an alert


def test_panels_are_well_formed_and_query_the_provisioned_datasource() -> None:
    board = dashboard()
    assert board["uid"] == "loom-overview"
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    uid = datasource()["uid"]
    for panel in panels():
        assert panel["datasource"]["uid"] == uid, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == uid, panel["title"]
        grid = panel["gridPos"]
        assert grid["w"] > 0, panel["title"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]


def test_provisioning_matches_the_compose_file() -> None:
    compose = yaml.safe_load((tools.DEPLOY / "docker-compose.yml").read_text())
    assert datasource()["url"] == "http://prometheus:9090"
    assert "prometheus" in compose["services"]
    provider = yaml.safe_load((GRAFANA / "provisioning/dashboards/loom.yml").read_text())
    (dashboards,) = provider["providers"]
    mounts = dict(
        v.rsplit(":", 2)[:2]
        for v in compose["services"]["grafana"]["volumes"]
        if v.startswith("./")
    )
    assert mounts["./grafana/dashboards"] == dashboards["options"]["path"]
    assert mounts["./grafana/provisioning"] == "/etc/grafana/provisioning"
