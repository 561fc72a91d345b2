"""``logging.remote_*``: validated, off by default (nothing built), masked when shown."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli.config_cmd import group
from engine.config import Settings, load_settings
from engine.errors import ConfigError
from engine.execution.remotelogs import RemoteLogs, S3LogStore, remote_logs_from, tail_of


def settings(tmp_path: Path, **environ: str) -> Settings:
    return load_settings({"LOOM_HOME": str(tmp_path), **environ}, cwd=tmp_path)


def test_remote_logging_is_off_by_default(tmp_path: Path) -> None:
    assert remote_logs_from(settings(tmp_path)) is None


def test_remote_logging_as_configured(tmp_path: Path) -> None:
    remote = remote_logs_from(
        settings(
            tmp_path,
            LOOM__LOGGING__REMOTE_BASE_URL="s3://loom-logs/prod/",
            LOOM__LOGGING__REMOTE_ENDPOINT_URL="http://minio:9000",
            LOOM__LOGGING__REMOTE_TAIL_BYTES="100",
        )
    )
    assert isinstance(remote, RemoteLogs)
    assert (remote.base_url, remote.tail_bytes) == ("s3://loom-logs/prod", 100)
    assert isinstance(remote.store, S3LogStore)
    assert remote.store.endpoint_url == "http://minio:9000"
    key = {"dag_id": "d", "run_id": "r", "task_id": "t", "map_index": 2, "try_number": 3}
    assert remote.url_for(**key) == "s3://loom-logs/prod/d/r/t/2/try_3.log"


@pytest.mark.parametrize("bad", ["loom-logs/prod", "https://bucket/x", "s3://", "s3://A_B/x"])
def test_a_remote_base_url_that_is_no_s3_url_names_the_key(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ConfigError) as caught:
        settings(tmp_path, LOOM__LOGGING__REMOTE_BASE_URL=bad)
    assert "logging.remote_base_url" in str(caught.value)
    assert "s3://bucket/prefix" in str(caught.value)


def test_remote_max_bytes_defaults_to_a_gibibyte_and_is_bounded(tmp_path: Path) -> None:
    base = {"LOOM__LOGGING__REMOTE_BASE_URL": "s3://loom-logs"}
    remote = remote_logs_from(settings(tmp_path, **base))
    assert remote is not None
    assert remote.max_bytes == 1024**3
    remote = remote_logs_from(settings(tmp_path, **base, LOOM__LOGGING__REMOTE_MAX_BYTES="5000"))
    assert remote is not None
    assert remote.max_bytes == 5000
    for bad in ("0", str(5 * 1024**3 + 1)):
        with pytest.raises(ConfigError, match=r"logging\.remote_max_bytes"):
            settings(tmp_path, **base, LOOM__LOGGING__REMOTE_MAX_BYTES=bad)


def test_a_remote_tail_of_zero_bytes_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"logging\.remote_tail_bytes"):
        settings(tmp_path, LOOM__LOGGING__REMOTE_TAIL_BYTES="0")


def test_config_show_masks_a_password_in_the_endpoint(tmp_path: Path) -> None:
    environ = {
        "LOOM_HOME": str(tmp_path),
        "LOOM__LOGGING__REMOTE_BASE_URL": "s3://loom-logs",
        "LOOM__LOGGING__REMOTE_ENDPOINT_URL": "http://minio:s3cr3t@minio:9000",
    }
    result = CliRunner().invoke(group, ["show"], env=environ)
    assert result.exit_code == 0, result.output
    assert "logging.remote_endpoint_url = http://minio:***@minio:9000" in result.output
    assert "s3cr3t" not in result.output


def test_tail_of_keeps_whole_characters() -> None:
    assert tail_of("abc", 10) == "abc"
    assert tail_of("abcdef", 3) == "def"
    assert tail_of("aéé", 3) == "é"  # 5 bytes; the split é is dropped whole
