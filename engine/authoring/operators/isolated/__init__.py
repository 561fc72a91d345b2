"""Running a task function in another Python interpreter: a virtualenv Loom creates (and
caches) from requirements, or an existing interpreter.

* :mod:`~.source`: the function's own source, and why it cannot run elsewhere (a lambda,
  names from outside it) — checked when the DAG file is parsed.
* :mod:`~.environments`: virtual environments, cached by a hash of what makes them, built
  with ``uv`` or ``venv`` + ``pip``, safe when two workers build the same one at once.
* :mod:`~.runner`: the script the other interpreter runs (standard library only), and the
  serializers that carry arguments in and the result out.
* :mod:`~.call`: one call of the function in a child process: its output into the task's
  log, its exit into the task's outcome.
"""
