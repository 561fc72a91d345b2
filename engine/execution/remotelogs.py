"""Finished tries' logs in an S3-compatible store (``logging.remote_base_url``).

A worker uploads a finished try's whole log (spooled to a temporary file while it ran, up
to ``logging.remote_max_bytes``) to
``<base>/<dag_id>/<run_id>/<task_id>/<map_index>/try_<n>.log`` after its finish has
committed, then keeps only the tail in the database (``logging.remote_tail_bytes``) with
the object's URL beside it (``task_attempt.log_remote_url``). Readers fetch the object
when asked for text before the tail; when the store cannot be reached they serve the tail
with a note.

boto3 (the ``s3`` extra) is imported only when remote logging is configured. Credentials
come from boto3's usual chain (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``,
``AWS_PROFILE``, the shared files, an instance role); none is ever in Loom's settings.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

from engine.errors import LoomError

if TYPE_CHECKING:
    from engine.config import Settings

CONNECT_TIMEOUT = 5.0
"""Seconds to reach the store: a worker's next try and a reader's page wait on it."""
READ_TIMEOUT = 30.0
ATTEMPTS = 2
EXTRA_HINT = "remote logs need boto3: pip install 'loom[s3]'"


class RemoteLogError(LoomError):
    """The remote log store could not be reached or refused the request."""


class RemoteLogStore(Protocol):
    """Where finished tries' logs go: the seam that tests and other stores implement."""

    def put(self, url: str, text: str) -> None: ...

    def put_file(self, url: str, body: BinaryIO) -> None:
        """Upload what ``body`` (a seekable file of UTF-8 text) holds from where it stands,
        streamed rather than read into memory."""
        ...

    def get(self, url: str) -> str: ...


@dataclass(frozen=True)
class RemoteLogs:
    """Remote logging as configured: the store, where logs go, how much the DB keeps."""

    base_url: str
    tail_bytes: int
    store: RemoteLogStore = field(compare=False)
    max_bytes: int = 1_073_741_824
    """The most of one try's log a worker spools to upload (``logging.remote_max_bytes``)."""
    spool_dir: Path | None = None
    """Where workers spool logs to upload; None: the temporary directory (``TMPDIR``)."""

    def url_for(
        self, *, dag_id: str, run_id: str, task_id: str, map_index: int, try_number: int
    ) -> str:
        return f"{self.base_url}/{dag_id}/{run_id}/{task_id}/{map_index}/try_{try_number}.log"


def remote_logs_from(settings: Settings) -> RemoteLogs | None:
    """Remote logging as ``settings`` configure it; None when it is off (nothing imported)."""
    config = settings.logging
    if not config.remote_base_url:
        return None
    store = S3LogStore(endpoint_url=config.remote_endpoint_url or None)
    return RemoteLogs(
        config.remote_base_url, config.remote_tail_bytes, store, max_bytes=config.remote_max_bytes
    )


def tail_of(text: str, max_bytes: int) -> str:
    """The end of ``text``, at most ``max_bytes`` bytes of UTF-8 (a split character dropped)."""
    encoded = text.encode("utf-8", "replace")
    if len(encoded) <= max_bytes:
        return text
    kept = encoded[len(encoded) - max_bytes :].decode("utf-8", "ignore")
    return text[len(text) - len(kept) :]


def split_url(url: str) -> tuple[str, str]:
    """``s3://bucket/some/key`` → ``("bucket", "some/key")``."""
    if not url.startswith("s3://"):
        raise RemoteLogError(f"not an S3 URL: {url!r}")
    bucket, _, key = url[len("s3://") :].partition("/")
    return bucket, key


class S3LogStore:
    """:class:`RemoteLogStore` on S3's API through boto3, with short timeouts."""

    def __init__(self, *, endpoint_url: str | None = None) -> None:
        self.endpoint_url = endpoint_url
        self._client: Any = None
        self._lock = threading.Lock()

    def put(self, url: str, text: str) -> None:
        bucket, key = split_url(url)
        body = text.encode("utf-8", "replace")
        self._call("put_object", Bucket=bucket, Key=key, Body=body, ContentType="text/plain")

    def put_file(self, url: str, body: BinaryIO) -> None:
        bucket, key = split_url(url)
        try:  # a seekable body: botocore can retry and sign it
            self._call("put_object", Bucket=bucket, Key=key, Body=body, ContentType="text/plain")
        except OSError as exc:
            raise RemoteLogError(f"reading the log to upload to {url} failed: {exc}") from exc

    def get(self, url: str) -> str:
        bucket, key = split_url(url)
        response = self._call("get_object", Bucket=bucket, Key=key)
        try:
            return bytes(response["Body"].read()).decode("utf-8", "replace")
        except Exception as exc:  # the body's stream broke off (a reset connection)
            raise RemoteLogError(f"reading {url} failed: {exc}") from exc

    def _call(self, operation: str, **kwargs: Any) -> Any:
        try:
            from botocore.exceptions import BotoCoreError, ClientError
        except ImportError:
            raise RemoteLogError(EXTRA_HINT) from None
        try:
            return getattr(self._connected(), operation)(**kwargs)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise RemoteLogError(
                f"{error.get('Code', 'error')}: {error.get('Message', '')}"
            ) from exc
        except BotoCoreError as exc:
            raise RemoteLogError(str(exc)) from exc

    def _connected(self) -> Any:
        with self._lock:  # a webserver's threads share one client (boto3's are thread-safe)
            if self._client is None:
                self._client = _client(self.endpoint_url)
            return self._client


def _client(endpoint_url: str | None) -> Any:
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=READ_TIMEOUT,
        retries={"total_max_attempts": ATTEMPTS, "mode": "standard"},
    )
    return boto3.session.Session().client("s3", endpoint_url=endpoint_url, config=config)
