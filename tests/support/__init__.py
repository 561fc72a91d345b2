"""What tests (and the benchmarks in ``bench/``) share: free ports, real processes and
their trees, real services (a fresh PostgreSQL database, a flushed Redis database),
settings, session factories, a recording executor, and the fixtures every package uses
(:mod:`tests.support.fixtures`, registered from ``tests/conftest.py``).
"""
