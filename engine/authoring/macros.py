"""``macros`` in templates and task contexts: Airflow's macros, by Airflow's names.

``{{ macros.ds_add(ds, 7) }}``, ``{{ macros.datetime.now() }}``,
``{{ macros.dateutil.relativedelta.relativedelta(months=1) }}``... Plugins add
``macros.<plugin name>`` beside these (see :mod:`engine.plugins`).
"""

from __future__ import annotations

import json
import random as _random
import time
import uuid
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

import dateutil
import dateutil.parser
import dateutil.relativedelta
import dateutil.tz
import yaml

DS_FORMAT = "%Y-%m-%d"


def ds_add(ds: str, days: int) -> str:
    """``ds`` (``YYYY-MM-DD``) plus ``days`` (negative: minus): ``ds_add('2026-01-05', 5)``
    is ``'2026-01-10'``."""
    if not days:
        return str(ds)
    return (datetime.strptime(str(ds), DS_FORMAT) + timedelta(days=days)).strftime(DS_FORMAT)


def ds_format(ds: str, input_format: str, output_format: str) -> str:
    """``ds`` read with ``input_format`` and written with ``output_format`` (strftime codes):
    ``ds_format('2026-01-05', '%Y-%m-%d', '%m-%d-%y')`` is ``'01-05-26'``."""
    return datetime.strptime(str(ds), input_format).strftime(output_format)


def ds_format_locale(
    ds: str, input_format: str, output_format: str, locale: str | None = None
) -> str:
    """``ds`` written with a Unicode (LDML) pattern in ``locale``, as Airflow does with Babel:
    ``ds_format_locale('2026-01-05', '%Y-%m-%d', 'EEEE d MMMM', 'fr_FR')`` is
    ``'lundi 5 janvier'``. Without ``locale``: the process's ``LC_TIME``, else ``en_US``."""
    from babel.dates import LC_TIME, format_datetime  # here: a template that uses it pays

    parsed = datetime.strptime(str(ds), input_format)
    chosen = locale or LC_TIME or "en_US"  # as Airflow: the process's LC_TIME, else en_US
    return str(format_datetime(parsed, format=output_format, locale=chosen))


def datetime_diff_for_humans(dt: Any, since: Any = None) -> str:
    """How long before or after ``since`` (default: now) ``dt`` is, in words, with pendulum:
    ``'2 days ago'``, ``'in 3 hours'``, ``'1 week before'``."""
    import pendulum

    other = pendulum.instance(since) if since is not None else None
    return str(pendulum.instance(dt).diff_for_humans(other))


BUILTIN_MACROS: dict[str, Any] = {
    "datetime": datetime,
    "timedelta": timedelta,
    "dateutil": dateutil,
    "time": time,  # the time module, as in Airflow's code (its docs say datetime.time)
    "uuid": uuid,
    "random": _random.random,  # a function, as in Airflow: {{ macros.random() }}
    "json": json,
    "yaml": yaml,
    "ds_add": ds_add,
    "ds_format": ds_format,
    "ds_format_locale": ds_format_locale,
    "datetime_diff_for_humans": datetime_diff_for_humans,
}
"""``macros.<name>``; a plugin may not take one of these names."""


def macros_namespace(plugin_macros: dict[str, Any]) -> SimpleNamespace:
    """``macros`` as templates and tasks see it: the built-ins and each plugin's
    namespace, as attributes (``context["macros"].ds_add(...)`` works in Python too)."""
    return SimpleNamespace(**BUILTIN_MACROS, **plugin_macros)
