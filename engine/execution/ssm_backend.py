"""``SystemsManagerParameterStoreBackend``: connections and variables from AWS SSM
Parameter Store, with the conventions of Airflow's amazon provider.

Connection ``smtp_default`` is parameter ``<connections_prefix>/smtp_default`` (default
``/airflow/connections/smtp_default``) holding the URI or the JSON form; variable
``hello`` is ``<variables_prefix>/hello``. A prefix of None turns that lookup off; a
``*_lookup_pattern`` (a regular expression matched at the start of the id) limits it to
the ids that match. A name without a leading ``/`` gets one, as SSM's hierarchies need.
Parameters are read decrypted (SecureString). The client is built as for ``ssm:`` values
(:func:`engine.config.ssm.client_for`: region, endpoint and credentials from the
environment); ``region_name``, ``profile_name`` and ``endpoint_url`` override it.
``config_prefix`` and ``config_lookup_pattern`` are accepted and unused: Loom's own
settings read SSM through ``ssm:`` values.
"""

from __future__ import annotations

import logging
import os
import re
from typing import Any

from engine.execution.secrets_backend import BaseSecretsBackend

logger = logging.getLogger(__name__)


class SystemsManagerParameterStoreBackend(BaseSecretsBackend):
    """Connections and variables from SSM Parameter Store (see the module docstring)."""

    def __init__(
        self,
        connections_prefix: str | None = "/airflow/connections",
        connections_lookup_pattern: str | None = None,
        variables_prefix: str | None = "/airflow/variables",
        variables_lookup_pattern: str | None = None,
        config_prefix: str | None = None,
        config_lookup_pattern: str | None = None,
        sep: str = "/",
        region_name: str | None = None,
        profile_name: str | None = None,
        endpoint_url: str | None = None,
    ) -> None:
        self.connections_prefix = (
            None if connections_prefix is None else connections_prefix.rstrip(sep)
        )
        self.variables_prefix = None if variables_prefix is None else variables_prefix.rstrip(sep)
        self.connections_lookup_pattern = connections_lookup_pattern
        self.variables_lookup_pattern = variables_lookup_pattern
        self.sep = sep
        overrides = {
            "AWS_REGION": region_name,
            "AWS_PROFILE": profile_name,
            "AWS_ENDPOINT_URL_SSM": endpoint_url,
        }
        self._env = {**os.environ, **{k: v for k, v in overrides.items() if v}}
        self._client: Any = None

    @property
    def client(self) -> Any:
        """The SSM client, built on first use."""
        if self._client is None:
            from engine.config.ssm import client_for

            self._client = client_for(self._env)
        return self._client

    def get_conn_value(self, conn_id: str) -> str | None:
        return self._lookup(self.connections_prefix, self.connections_lookup_pattern, conn_id)

    def get_variable(self, key: str) -> str | None:
        return self._lookup(self.variables_prefix, self.variables_lookup_pattern, key)

    def _lookup(self, prefix: str | None, pattern: str | None, secret_id: str) -> str | None:
        if prefix is None or (pattern and not re.match(pattern, secret_id)):
            return None
        name = f"{prefix}{self.sep}{secret_id}"
        if not name.startswith("/"):
            name = "/" + name
        try:
            response = self.client.get_parameter(Name=name, WithDecryption=True)
        except self.client.exceptions.ParameterNotFound:
            logger.debug("SSM parameter %s not found", name)
            return None
        return str(response["Parameter"]["Value"])


def _stripped(prefix: str | None, sep: str) -> str | None:
    return None if prefix is None else prefix.rstrip(sep)
