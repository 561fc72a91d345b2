"""A real SSM API and S3 log store for tests: moto in server mode on 127.0.0.1 (one per
test module), reset per test, with the process's own AWS settings hidden from boto3. Registered as a
pytest plugin by ``tests/conftest.py``; moto and boto3 are imported only when used."""

from __future__ import annotations

import os
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.support.network import free_port

if TYPE_CHECKING:
    from engine.execution.remotelogs import S3LogStore

REGION = "eu-west-1"
LOG_BUCKET = "loom-logs"
"""The bucket of the :func:`s3` log store."""

Put = Callable[..., None]


def moto_api(url: str, action: str, body: bytes = b"") -> None:
    request = urllib.request.Request(
        f"{url}/moto-api/{action}", data=body, method="POST", headers={"Content-Type": "text/plain"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        response.read()


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    port = free_port()
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def aws(moto_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    """The AWS part of the environment given to load_settings; the process's own AWS
    settings (a developer's profile, an instance role) are hidden from boto3."""
    for name in [name for name in os.environ if name.startswith("AWS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    moto_api(moto_url, "reset")
    return {
        "AWS_REGION": REGION,
        "AWS_ENDPOINT_URL_SSM": moto_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }


@pytest.fixture
def s3(aws: dict[str, str], moto_url: str, monkeypatch: pytest.MonkeyPatch) -> S3LogStore:
    """A log store on moto, its bucket :data:`LOG_BUCKET` created; boto3 finds the
    credentials in the environment."""
    from engine.execution.remotelogs import S3LogStore

    for name, value in aws.items():
        monkeypatch.setenv(name, value)
    store = S3LogStore(endpoint_url=moto_url)
    store._connected().create_bucket(
        Bucket=LOG_BUCKET, CreateBucketConfiguration={"LocationConstraint": aws["AWS_REGION"]}
    )
    return store


@pytest.fixture
def put(aws: dict[str, str]) -> Put:
    import boto3

    client = boto3.client(
        "ssm",
        region_name=REGION,
        endpoint_url=aws["AWS_ENDPOINT_URL_SSM"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )

    def put(name: str, value: str, kind: str = "String") -> None:
        client.put_parameter(Name=name, Value=value, Type=kind)

    return put
