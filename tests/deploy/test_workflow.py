""".github/workflows/ci.yml: valid against GitHub's workflow schema (check-jsonschema's
bundled copy), with lint, tests against real PostgreSQL, Redis and RabbitMQ, an image
build, and a push of the image on version tags only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.deploy import tools

WORKFLOW = tools.ROOT / ".github" / "workflows" / "ci.yml"


def workflow() -> dict[Any, Any]:
    loaded: dict[Any, Any] = yaml.safe_load(WORKFLOW.read_text())
    return loaded


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(job["steps"])


def runs(job: dict[str, Any]) -> str:
    return "\n".join(step.get("run", "") for step in steps(job))


def uses(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [step for step in steps(job) if step.get("uses", "").startswith(action)]


def check(path: Path) -> Any:
    return tools.run(tools.check_jsonschema(), "--builtin-schema", "vendor.github-workflows", path)


def test_the_workflow_matches_github_s_schema() -> None:
    result = check(WORKFLOW)
    assert result.returncode == 0, tools.explain(result)


def test_the_schema_check_rejects_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "ci.yml"
    broken.write_text(WORKFLOW.read_text().replace("runs-on:", "run-on:", 1))
    result = check(broken)
    assert result.returncode != 0, tools.explain(result)


def test_lint_and_tests_run_as_make_does() -> None:
    jobs = workflow()["jobs"]
    assert "make lint typecheck" in runs(jobs["lint"])
    assert "make pytest" in runs(jobs["test"])
    assert "prometheus" in runs(jobs["test"])  # promtool, which the tests need


def test_tests_get_postgresql_redis_and_rabbitmq_containers() -> None:
    services = workflow()["jobs"]["test"]["services"]
    expected = {"postgres": "5432:5432", "redis": "6379:6379", "rabbitmq": "5672:5672"}
    for name, ports in expected.items():
        assert services[name]["image"].startswith(name), name
        assert services[name]["ports"] == [ports], name
        assert "--health-cmd" in services[name]["options"], name
    assert services["postgres"]["env"]["POSTGRES_HOST_AUTH_METHOD"] == "trust"


def test_the_image_is_built_always_and_pushed_on_tags_only() -> None:
    document = workflow()
    triggers = document.get("on", document.get(True))  # YAML 1.1 reads `on` as true
    assert triggers["push"]["tags"] == ["v*"]
    jobs = document["jobs"]
    (build,) = uses(jobs["image"], "docker/build-push-action")
    assert build["with"].get("push", False) is False
    pushing = {
        name: job
        for name, job in jobs.items()
        if any(step["with"].get("push") for step in uses(job, "docker/build-push-action"))
    }
    assert list(pushing) == ["publish"]
    publish = pushing["publish"]
    assert publish["if"] == "startsWith(github.ref, 'refs/tags/v')"
    assert set(publish["needs"]) >= {"lint", "test", "image"}
    assert publish["permissions"]["packages"] == "write"
    assert uses(publish, "docker/login-action")
