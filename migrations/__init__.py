"""Loom's Alembic environment and numbered, reversible revisions (see ``engine.models.migrate``)."""
