"""Prometheus metrics of Loom's processes.

:mod:`engine.metrics.instruments` holds what a process counts as it works (task
durations, scheduling delay, tick time...); :mod:`engine.metrics.state` reads what the
database and Redis hold at scrape time (runs and task instances by state, dead letters,
outbox backlog, queue depth); :mod:`engine.metrics.exposition` serves both on a port.
"""
