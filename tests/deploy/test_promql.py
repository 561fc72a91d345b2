"""The metric-name extraction the rule and dashboard tests rely on."""

from __future__ import annotations

from tests.deploy.promql import base_name, metric_names, unknown_metrics


def test_names_are_found_past_functions_matchers_ranges_and_label_lists() -> None:
    expr = (
        'histogram_quantile(0.95, sum by (le, path) (rate(foo_seconds_bucket{status=~"5.."}'
        "[$__rate_interval]))) / on (job) group_left (instance) bar_total offset 5m > 1e-3"
        ' and absent(up{job="loom-scheduler"}) or sum(baz) without (queue)'
    )
    assert metric_names(expr) == {"foo_seconds_bucket", "bar_total", "up", "baz"}


def test_histogram_series_map_to_their_family() -> None:
    assert base_name("loom_task_duration_seconds_bucket") == "loom_task_duration_seconds"
    assert base_name("loom_task_duration_seconds_count") == "loom_task_duration_seconds"
    assert base_name("loom_queue_depth_count") == "loom_queue_depth_count"


def test_unknown_names_are_reported() -> None:
    assert unknown_metrics(["max(loom_queue_depth)", "rate(loom_task_attempts[5m])"]) == {
        "rate(loom_task_attempts[5m])": {"loom_task_attempts"}
    }
