"""Timetables: when a DAG's scheduled runs happen, with Airflow's classes and interface.

``base`` (the interface and its records), ``cron``, ``delta``, ``simple`` (none, once,
continuous, events) and ``describe`` (schedules in words). Parsing ``schedule=`` and
serializing timetables is :mod:`engine.authoring.schedules`.
"""
