"""Timetables: when a DAG's scheduled runs happen, with Airflow's classes and interface.

``base`` (the interface, its records, and the two shapes the built-in ones share: back-to-back
data intervals and trigger runs), ``cron``, ``delta``, ``simple`` (none, once,
continuous, events), ``describe`` (schedules in words) and ``serialized`` (to and from
JSON, importing only the module of the kind read). Parsing ``schedule=`` is
:mod:`engine.authoring.schedules`.
"""
