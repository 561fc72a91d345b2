"""The API's blueprint class: flask-smorest's, surviving hostile JSON bodies.

webargs parses bodies with ``json.loads``, and a body nested thousands of levels deep
raises ``RecursionError`` (a 500). Here it is a 422 naming the body, like every other bad
input; malformed JSON stays webargs' 400. What a parsed value may hold (depth, NUL, NaN)
is checked where it is used (:func:`engine.services.userinput.check_json`).
"""

from __future__ import annotations

from typing import Any

import flask
import flask_smorest
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request

from engine.services.userinput import too_deep


class StrictJsonParser(FlaskParser):
    """webargs' Flask parser, refusing bodies nested too deeply for ``json.loads``."""

    def _raw_load_json(self, req: flask.Request) -> Any:
        if not is_json_request(req):
            return core.missing
        try:
            return core.parse_json(req.get_data(cache=True))
        except RecursionError:
            raise too_deep("body") from None


class Blueprint(flask_smorest.Blueprint):  # type: ignore[misc]  # flask-smorest is untyped
    """A flask-smorest blueprint whose arguments come through :class:`StrictJsonParser`."""

    ARGUMENTS_PARSER = StrictJsonParser()
