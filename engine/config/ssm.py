"""Resolving ``ssm:`` values: a configuration string ``ssm:/loom/prod/secret_key`` is
replaced by that AWS SSM Parameter Store parameter's value, before validation.

boto3 is optional (the ``ssm`` extra) and imported only when some value starts with
``ssm:``. Every parameter is read once per load, decrypted, ten names per GetParameters
call (the API's limit). The region, the endpoint and static credentials come from the
environment handed to ``load_settings`` (AWS_REGION or AWS_DEFAULT_REGION,
AWS_ENDPOINT_URL_SSM or AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID with AWS_SECRET_ACCESS_KEY
and AWS_SESSION_TOKEN, AWS_PROFILE); what they leave open, boto3's usual chain finds
(shared files, container and instance roles). Short timeouts and few attempts keep an
unreachable endpoint from hanging a process at start.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

PREFIX = "ssm:"
BATCH_SIZE = 10  # GetParameters refuses more names in one call
CONNECT_TIMEOUT = 3.0  # seconds, per attempt
READ_TIMEOUT = 5.0  # seconds, per attempt
ATTEMPTS = 2  # in all, the first one included
EXTRA_HINT = "ssm: values need the ssm extra: pip install 'loom-engine[ssm]'"

Loc = tuple[str, ...]


@dataclass(frozen=True)
class Resolution:
    """What resolving left behind, by key path: values still unresolved (each has its
    problem reported) and values that came from SecureString parameters."""

    unresolved: frozenset[Loc] = frozenset()
    secure: frozenset[Loc] = frozenset()


def overlaps(loc: Loc, locs: frozenset[Loc]) -> bool:
    """Whether ``loc`` lies inside, or contains, one of ``locs``."""
    return any(loc[: len(other)] == other or other[: len(loc)] == loc for other in locs)


def resolve_ssm_values(
    data: dict[str, Any],
    env: Mapping[str, str],
    source: Callable[[Loc], str],
    problems: list[str],
) -> Resolution:
    """Replace every ``ssm:`` string in ``data`` by its parameter's value, in place.

    ``source(loc)`` names where the value at ``loc`` came from (a file or a variable);
    each problem is appended to ``problems`` as one line.
    """
    references = list(_references(data, ()))
    if not references:
        return Resolution()  # boto3 is never imported
    names = sorted({ref.name for ref in references if ref.name})
    try:
        fetched = _fetch(names, env) if names else _Fetched()
    except _UnavailableError as exc:
        problems.append(f"{', '.join(ref.key_path for ref in references)}: {exc}")
        return Resolution(unresolved=frozenset(ref.loc for ref in references))
    unresolved, secure = set(), set()
    for ref in references:
        problem = fetched.problem(ref.name) if ref.name else _NO_NAME
        if problem:
            problems.append(f"{ref.key_path}: {problem} (from {source(ref.loc)})")
            unresolved.add(ref.loc)
            continue
        value, is_secure = fetched.found[ref.name]
        ref.container[ref.key] = value
        if is_secure:
            secure.add(ref.loc)
    return Resolution(frozenset(unresolved), frozenset(secure))


_NO_NAME = "ssm: needs a parameter name, such as ssm:/loom/prod/database_url"


@dataclass(frozen=True)
class _Reference:
    """One ``ssm:`` string: where it sits (to replace it) and the parameter it names."""

    container: dict[Any, Any] | list[Any]
    key: Any
    loc: Loc
    name: str

    @property
    def key_path(self) -> str:
        return ".".join(self.loc)


def _references(node: Any, loc: Loc) -> Iterator[_Reference]:
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for key, value in items:
        here = (*loc, str(key))
        if isinstance(value, dict | list):
            yield from _references(value, here)
        elif isinstance(value, str) and value.startswith(PREFIX):
            yield _Reference(node, key, here, value[len(PREFIX) :].strip())


class _UnavailableError(Exception):
    """No parameter can be read at all (no boto3, region, credentials or connection)."""


@dataclass
class _Fetched:
    """Parameters read, by the name they were asked for, and why others were not."""

    found: dict[str, tuple[str, bool]] = field(default_factory=dict)  # value, secure
    failed: dict[str, str] = field(default_factory=dict)

    def problem(self, name: str) -> str | None:
        if name in self.found:
            return None
        return self.failed.get(name, f"SSM parameter {name} does not exist")

    def add(self, parameter: Mapping[str, Any]) -> None:
        entry = (str(parameter["Value"]), parameter.get("Type") == "SecureString")
        selector = parameter.get("Selector", "")  # ":3" when asked for name:3
        for name in (parameter.get("Name"), parameter.get("ARN")):
            if name:  # the caller may have asked by name or by ARN
                self.found[f"{name}{selector}"] = entry


def _fetch(names: list[str], env: Mapping[str, str]) -> _Fetched:
    try:
        import boto3  # noqa: F401 - the extra's presence, checked before any call
        from botocore.exceptions import BotoCoreError
    except ImportError:
        raise _UnavailableError(EXTRA_HINT) from None
    try:
        client = client_for(env)
        return _get_parameters(client, names)
    except BotoCoreError as exc:
        raise _UnavailableError(_explain(exc)) from exc


def client_for(env: Mapping[str, str]) -> Any:
    """An SSM client as ``env`` describes it (see the module docstring), with short
    timeouts and few attempts; boto3 must be installed (the ``ssm`` extra)."""
    import boto3
    from botocore.config import Config

    key, secret = env.get("AWS_ACCESS_KEY_ID"), env.get("AWS_SECRET_ACCESS_KEY")
    static = {"aws_access_key_id": key, "aws_secret_access_key": secret}
    session = boto3.session.Session(
        region_name=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None,
        profile_name=env.get("AWS_PROFILE") or None,
        aws_session_token=env.get("AWS_SESSION_TOKEN") if key and secret else None,
        **(static if key and secret else {}),
    )
    config = Config(
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=READ_TIMEOUT,
        retries={"total_max_attempts": ATTEMPTS, "mode": "standard"},
    )
    endpoint = env.get("AWS_ENDPOINT_URL_SSM") or env.get("AWS_ENDPOINT_URL") or None
    return session.client("ssm", endpoint_url=endpoint, config=config)


def _get_parameters(client: Any, names: list[str]) -> _Fetched:
    from botocore.exceptions import ClientError

    fetched = _Fetched()
    for start in range(0, len(names), BATCH_SIZE):
        batch = names[start : start + BATCH_SIZE]
        try:
            response = client.get_parameters(Names=batch, WithDecryption=True)
        except ClientError as exc:  # refused (access, a malformed name): this batch only
            error = exc.response.get("Error", {})
            # One line, even when the message is a whole unparsed XML error body.
            reason = " ".join(f"{error.get('Code', 'error')}: {error.get('Message', exc)}".split())
            for name in batch:
                fetched.failed[name] = f"cannot read SSM parameter {name}: {reason}"
            continue
        for parameter in response.get("Parameters", []):
            fetched.add(parameter)
    return fetched


def _explain(exc: Exception) -> str:
    from botocore.exceptions import NoCredentialsError, NoRegionError, PartialCredentialsError

    if isinstance(exc, NoRegionError):
        return "ssm: values need an AWS region: set AWS_REGION"
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return (
            f"no AWS credentials to read SSM parameters ({exc}): set AWS_ACCESS_KEY_ID and"
            " AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or run with an IAM role"
        )
    return f"cannot read SSM parameters: {exc}"
