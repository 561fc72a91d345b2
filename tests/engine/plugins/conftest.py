"""The workers' and the web UI's fixtures, for plugins at work in both."""

from tests.webui.conftest import template  # noqa: F401
from tests.workers.conftest import ctx, dags_folder  # noqa: F401
