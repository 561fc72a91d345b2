"""deploy/k8s: the example overlay renders with kustomize and `kubernetes-validate
--strict` accepts it (and each manifest file); the workloads have probes, resources, an
autoscaler, disruption budgets and a migration Job, with a configuration Loom accepts.
No secret value is committed: the overlay generates its Secret from a git-ignored
``secrets.env``, which the tests write from ``secrets.env.example`` in a copy of
deploy/k8s, as an operator does."""

from __future__ import annotations

import base64
import re
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.fernet import Fernet

from engine.config import load_settings
from engine.models.crypto import crypter_for
from tests.deploy import tools
from webui.auth import check_secret

K8S = tools.DEPLOY / "k8s"
BASE = K8S / "base"
OVERLAY = K8S / "overlays" / "example"
SECRETS_FILE = "secrets.env"
ROLES = {"webserver", "scheduler", "worker", "notifier", "triggerer"}

_PASSWORD = secrets.token_urlsafe(24)
OPERATOR_VALUES = {
    "LOOM__DATABASE__URL": f"postgresql+psycopg://loom:{_PASSWORD}@db.internal:5432/loom",
    "LOOM__REDIS__URL": f"redis://:{_PASSWORD}@redis.internal:6379/0",
    "LOOM__DLQ__AMQP_URL": f"amqp://loom:{_PASSWORD}@rabbitmq.internal:5672/%2F",
    "LOOM__WEBSERVER__SECRET_KEY": secrets.token_urlsafe(48),
    "LOOM__CORE__FERNET_KEY": Fernet.generate_key().decode(),
}
"""What an operator writes into secrets.env for each key of secrets.env.example."""


def example_values(example: Path) -> dict[str, str]:
    """The assignments of an env file (comments and blank lines skipped)."""
    lines = example.read_text().splitlines()
    pairs = (line.split("=", 1) for line in lines if line.strip() and not line.startswith("#"))
    return dict(pairs)


def copy_without_secrets(target: Path) -> Path:
    """deploy/k8s copied to ``target`` as Git has it (no secrets.env)."""
    shutil.copytree(K8S, target, ignore=shutil.ignore_patterns(SECRETS_FILE))
    return target


@cache
def deployed() -> Path:
    """A copy of deploy/k8s with the overlay's secrets.env written from its example."""
    copy = copy_without_secrets(Path(tempfile.mkdtemp(prefix="loom-k8s-")) / "k8s")
    overlay = copy / OVERLAY.relative_to(K8S)
    keys = example_values(overlay / f"{SECRETS_FILE}.example")
    (overlay / SECRETS_FILE).write_text("".join(f"{k}={OPERATOR_VALUES[k]}\n" for k in keys))
    return copy


@pytest.fixture(scope="module", autouse=True)
def _remove_the_copy() -> Iterator[None]:
    yield
    if deployed.cache_info().currsize:
        shutil.rmtree(deployed().parent, ignore_errors=True)
        deployed.cache_clear()
        rendered.cache_clear()


def in_copy(directory: Path) -> Path:
    return deployed() / directory.relative_to(K8S)


def rendered_at(directory: Path) -> subprocess.CompletedProcess[str]:
    return tools.run(tools.kustomize(), directory)


@cache
def rendered(directory: Path) -> str:
    result = rendered_at(in_copy(directory))
    assert result.returncode == 0, tools.explain(result)
    return result.stdout


def documents(directory: Path = OVERLAY) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(rendered(directory)) if d]


def of_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in documents() if d["kind"] == kind}


def validate(path: Path) -> Any:
    return tools.run(tools.kubernetes_validate(), "--strict", "--quiet", path)


def kustomization(directory: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((directory / "kustomization.yaml").read_text())
    return loaded


def test_the_overlay_and_the_base_pass_strict_validation(tmp_path: Path) -> None:
    for directory in (OVERLAY, BASE):
        manifest = tmp_path / f"{directory.name}.yaml"
        manifest.write_text(rendered(directory))
        result = validate(manifest)
        assert result.returncode == 0, tools.explain(result)


def test_strict_validation_rejects_an_unknown_field(tmp_path: Path) -> None:
    manifest = tmp_path / "broken.yaml"
    manifest.write_text(
        rendered(OVERLAY).replace("  revisionHistoryLimit: 5\n", "  revisionHistory: 5\n", 1)
    )
    result = validate(manifest)
    assert result.returncode != 0, tools.explain(result)
    assert "revisionHistory" in result.stdout + result.stderr


def test_each_manifest_file_passes_strict_validation() -> None:
    """Without kustomize too: every file a kustomization lists as a resource."""
    for directory in (BASE, OVERLAY):
        for entry in kustomization(directory)["resources"]:
            path = directory / entry
            if path.is_dir():
                continue
            result = validate(path)
            assert result.returncode == 0, f"{path}: {tools.explain(result)}"


def test_every_file_a_kustomization_names_exists() -> None:
    """Committed, except the Secret's source: that has a committed example instead."""
    for directory in (BASE, OVERLAY):
        spec = kustomization(directory)
        paths = list(spec.get("resources", []))
        paths += [patch["path"] for patch in spec.get("patches", []) if "path" in patch]
        for generator in spec.get("configMapGenerator", []):
            paths += generator.get("envs", []) + generator.get("files", [])
        for generator in spec.get("secretGenerator", []):
            for entry in generator.get("envs", []) + generator.get("files", []):
                assert (directory / f"{entry}.example").is_file(), f"{directory}: {entry}"
        for entry in paths:
            target = directory / entry
            assert target.exists(), f"{directory}: {entry}"
            if target.is_dir():
                assert (target / "kustomization.yaml").is_file(), entry


def pod_specs() -> dict[str, dict[str, Any]]:
    """Pod specs of the Deployments and the Job, by workload name."""
    workloads = {**of_kind("Deployment"), **of_kind("Job")}
    return {name: w["spec"]["template"]["spec"] for name, w in workloads.items()}


def test_every_container_has_resources_and_every_deployment_container_probes() -> None:
    deployments = of_kind("Deployment")
    assert {
        d["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"]
        for d in deployments.values()
    } == ROLES
    for name, spec in pod_specs().items():
        for container in spec["containers"] + spec.get("initContainers", []):
            resources = container["resources"]
            for bound in ("requests", "limits"):
                assert set(resources[bound]) >= {"cpu", "memory"}, f"{name}/{container['name']}"
        if name not in deployments:
            continue
        for container in spec["containers"]:
            ports = {port["name"] for port in container["ports"]}
            for probe in ("livenessProbe", "readinessProbe"):
                assert container[probe]["httpGet"]["port"] in ports, f"{name} {probe}"


def test_pods_run_as_non_root_with_a_read_only_root() -> None:
    for name, spec in pod_specs().items():
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["runAsUser"] != 0, name
        for container in spec["containers"] + spec.get("initContainers", []):
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["allowPrivilegeEscalation"] is False, name
            mounts = {m["mountPath"] for m in container["volumeMounts"]}
            assert "/tmp" in mounts, name


def test_the_migration_job_runs_first_and_deployments_wait_for_it() -> None:
    (job,) = of_kind("Job").values()
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["migrate"]
    for name, deployment in of_kind("Deployment").items():
        init = deployment["spec"]["template"]["spec"]["initContainers"]
        assert [c["args"] for c in init] == [["wait-for-migrations"]], name


def test_workers_autoscale_and_disruptions_keep_loom_up() -> None:
    (hpa,) = of_kind("HorizontalPodAutoscaler").values()
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "loom-worker",
    }
    assert 2 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
    assert "replicas" not in of_kind("Deployment")["loom-worker"]["spec"]  # the HPA owns it
    budgets = {
        b["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"]: b["spec"]
        for b in of_kind("PodDisruptionBudget").values()
    }
    assert set(budgets) >= {"webserver", "scheduler", "worker"}
    assert budgets["scheduler"] == {**budgets["scheduler"], "minAvailable": 1}
    assert of_kind("Deployment")["loom-scheduler"]["spec"]["replicas"] == 2


def test_services_select_pods_and_pods_announce_their_metrics_port() -> None:
    pods = {name: d["spec"]["template"] for name, d in of_kind("Deployment").items()}
    for name, service in of_kind("Service").items():
        selector = service["spec"]["selector"].items()
        assert any(selector <= pod["metadata"]["labels"].items() for pod in pods.values()), name
    for name, pod in pods.items():
        ports = {p["containerPort"] for c in pod["spec"]["containers"] for p in c["ports"]}
        annotations = pod["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true", name
        assert int(annotations["prometheus.io/port"]) in ports, name


def test_the_overlay_sets_the_image_and_namespace_everywhere() -> None:
    for document in documents():
        if document["kind"] != "Namespace":
            assert document["metadata"]["namespace"] == "loom", document["metadata"]["name"]
    for name, spec in pod_specs().items():
        for container in spec["containers"] + spec.get("initContainers", []):
            assert container["image"] == "ghcr.io/example/loom:0.1.0", name


def test_loom_accepts_the_configuration_the_pods_get(tmp_path: Path) -> None:
    (config,) = of_kind("ConfigMap").values()
    (secret,) = of_kind("Secret").values()
    env = dict(config["data"])
    env |= {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    for spec in pod_specs().values():
        for container in spec["containers"]:
            refs = {r.get("configMapRef", r.get("secretRef"))["name"] for r in container["envFrom"]}
            assert refs == {config["metadata"]["name"], secret["metadata"]["name"]}
    settings = load_settings({**env, "LOOM_HOME": str(tmp_path / "home")}, cwd=tmp_path)
    assert settings.executor.kind == "rq"
    assert settings.metrics.host == "0.0.0.0"
    check_secret(settings.webserver.secret_key)
    assert crypter_for(settings).enabled  # variables and connections encrypted at rest


def test_no_secret_value_is_committed(tmp_path: Path) -> None:
    """Secrets come only from git-ignored files whose committed examples carry no value;
    no committed file holds a password; without the real file the overlay does not render."""
    for directory in (BASE, OVERLAY):
        for generator in kustomization(directory).get("secretGenerator", []):
            assert "literals" not in generator, directory
            for entry in generator.get("envs", []) + generator.get("files", []):
                assert _ignored_by_git(directory / entry), f"{directory / entry} is not ignored"
                example = example_values(directory / f"{entry}.example")
                assert example, f"{directory / entry}.example lists no key"
                assert set(example.values()) == {""}, f"{directory / entry}.example has values"
    credential = re.compile(r"://[^/\s:@]*:([^@\s]*)@")
    for path in K8S.rglob("*"):
        if path.is_file() and path.name != SECRETS_FILE:
            text = path.read_text()
            assert set(credential.findall(text)) <= {"PASSWORD"}, path
            assert not re.search(r"change-?me|insecure", text, re.IGNORECASE), path
    pristine = copy_without_secrets(tmp_path / "k8s")
    assert "kind: Secret" not in rendered_at(pristine / "base").stdout
    result = rendered_at(pristine / OVERLAY.relative_to(K8S))
    assert result.returncode != 0, tools.explain(result)
    assert SECRETS_FILE in result.stderr


def test_the_generated_secret_holds_what_the_operator_wrote() -> None:
    (secret,) = of_kind("Secret").values()
    data = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    assert data == OPERATOR_VALUES
    assert secret["metadata"]["name"].startswith("loom-secrets-")  # hashed: a change rolls pods


def _ignored_by_git(path: Path) -> bool:
    result = subprocess.run(
        ["git", "check-ignore", "--quiet", "--no-index", str(path)],
        cwd=tools.ROOT,
        capture_output=True,
        check=False,
    )
    return result.returncode == 0
