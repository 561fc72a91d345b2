"""Loom's configuration: typed sections, read once at start, validated all at once.

Precedence, lowest first: the defaults in :mod:`~engine.config.schema` (the embedded
setup), ``loom.yaml`` (``$LOOM_CONFIG``, else ``$LOOM_HOME/loom.yaml``), then one
environment variable per key, ``LOOM__<SECTION>__<KEY>`` (``LOOM__WEBHOOKS__<NAME>__<KEY>``
for webhooks). Every problem found, in the file or in the environment, is reported in one
:class:`~engine.errors.ConfigError`, one line each, naming the key (and the variable
when the value came from the environment) and the form that is expected.

Nothing here runs at import time: :func:`load_settings` reads the environment and the
file when it is called, and the caller passes the result on.

The package splits by idea: :mod:`~engine.config.schema` (value types, sections,
:class:`Settings`), :mod:`~engine.config.loading` (file, YAML, environment, error
messages), :mod:`~engine.config.ssm` (``ssm:`` values read from AWS SSM Parameter Store)
and :mod:`~engine.config.masking` (hiding secrets).
"""

from engine.config.loading import CONFIG_FILE_NAME, ENV_PREFIX, load_settings
from engine.config.masking import MASK
from engine.config.schema import (
    AlertsSettings,
    CoreSettings,
    DatabaseSettings,
    DlqSettings,
    ExecutorSettings,
    LoggingSettings,
    LoginSettings,
    RedisSettings,
    SchedulerSettings,
    Settings,
    SmtpSettings,
    WebhookSettings,
    WebserverSettings,
    section_names,
)

__all__ = [
    "CONFIG_FILE_NAME",
    "ENV_PREFIX",
    "MASK",
    "AlertsSettings",
    "CoreSettings",
    "DatabaseSettings",
    "DlqSettings",
    "ExecutorSettings",
    "LoggingSettings",
    "LoginSettings",
    "RedisSettings",
    "SchedulerSettings",
    "Settings",
    "SmtpSettings",
    "WebhookSettings",
    "WebserverSettings",
    "load_settings",
    "section_names",
]
