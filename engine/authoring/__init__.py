"""What DAG files import: DAG, operators, TaskFlow, params, schedules, trigger rules,
templating and the exceptions a task raises, with validation and serialization of what
they build.

This room imports no SQLAlchemy, Flask or RQ: a DAG file's import stays cheap and free
of I/O. DAG files reach it through ``from engine import ...`` (see ``engine/__init__.pyi``).
"""
