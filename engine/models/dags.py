"""What parsing DAG files produces: DAGs, their serialized graphs, files, import errors and
warnings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from engine.models.base import (
    Base,
    JSONType,
    UtcDateTime,
    created_at_column,
    updated_at_column,
)

ID_LENGTH = 250
"""Width of dag, run, task and pool ids."""

PATH_LENGTH = 1000
"""Width of file paths."""

HASH_LENGTH = 64
"""Width of a hex SHA-256 digest."""


class Dag(Base):
    """One DAG as last parsed; the scheduler reads it, the webserver shows it."""

    __tablename__ = "dag"

    dag_id: Mapped[str] = mapped_column(sa.String(ID_LENGTH), primary_key=True)
    fileloc: Mapped[str] = mapped_column(sa.String(PATH_LENGTH))
    description: Mapped[str | None] = mapped_column(sa.Text)
    owner: Mapped[str | None] = mapped_column(sa.String(ID_LENGTH))
    tags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    schedule: Mapped[str | None] = mapped_column(sa.String(ID_LENGTH))
    """How the schedule reads to a person (``@daily``, ``0 3 * * *``, ``1:00:00``)."""
    is_paused: Mapped[bool] = mapped_column(default=False)
    is_active: Mapped[bool] = mapped_column(default=True)
    """False once the DAG disappears from the DAG folder."""
    max_active_runs: Mapped[int] = mapped_column(default=16)
    max_active_tasks: Mapped[int] = mapped_column(default=16)
    last_parsed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    next_dagrun_create_after: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    """When the scheduler should create the next scheduled run; NULL: none due."""
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class SerializedDag(Base):
    """The DAG's graph as JSON, read by the scheduler and the webserver instead of code."""

    __tablename__ = "serialized_dag"

    dag_id: Mapped[str] = mapped_column(
        sa.String(ID_LENGTH), sa.ForeignKey("dag.dag_id", ondelete="CASCADE"), primary_key=True
    )
    data: Mapped[dict[str, Any]] = mapped_column(JSONType)
    dag_hash: Mapped[str] = mapped_column(sa.String(HASH_LENGTH))
    fileloc: Mapped[str] = mapped_column(sa.String(PATH_LENGTH))
    file_hash: Mapped[str] = mapped_column(sa.String(HASH_LENGTH))
    updated_at: Mapped[datetime] = updated_at_column()


class DagVersion(Base):
    """One version of a DAG: its serialized graph whenever that changed, kept for good.

    Numbered 1, 2, ... per DAG. A run records the version it was created with
    (``dag_run.dag_version_id``) and is scheduled on that graph to its end; the
    ``serialized_dag`` row is the latest version's content, read for new runs and pages.
    """

    __tablename__ = "dag_version"
    __table_args__ = (sa.UniqueConstraint("dag_id", "version_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dag_id: Mapped[str] = mapped_column(
        sa.String(ID_LENGTH), sa.ForeignKey("dag.dag_id", ondelete="CASCADE")
    )
    version_number: Mapped[int]
    data: Mapped[dict[str, Any]] = mapped_column(JSONType)
    dag_hash: Mapped[str] = mapped_column(sa.String(HASH_LENGTH))
    fileloc: Mapped[str] = mapped_column(sa.String(PATH_LENGTH))
    file_hash: Mapped[str] = mapped_column(sa.String(HASH_LENGTH))
    source_code: Mapped[str | None] = mapped_column(sa.Text)
    """The file's text when this version was parsed (None: not readable then)."""
    created_at: Mapped[datetime] = created_at_column()


class DagFile(Base):
    """One file of the DAG folder and what its last parse found."""

    __tablename__ = "dag_file"

    path: Mapped[str] = mapped_column(sa.String(PATH_LENGTH), primary_key=True)
    file_hash: Mapped[str] = mapped_column(sa.String(HASH_LENGTH))
    mtime: Mapped[float]
    size: Mapped[int] = mapped_column(sa.BigInteger)
    dag_ids: Mapped[list[str]] = mapped_column(JSONType, default=list)
    last_parsed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    parse_duration: Mapped[float | None]
    """Seconds the last parse took."""
    has_import_error: Mapped[bool] = mapped_column(default=False)


class ParseImportError(Base):
    """A DAG file that failed to import or validate (named so as not to shadow the builtin)."""

    __tablename__ = "import_error"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(sa.String(PATH_LENGTH), index=True)
    message: Mapped[str] = mapped_column(sa.Text)
    traceback: Mapped[str | None] = mapped_column(sa.Text)
    file_hash: Mapped[str | None] = mapped_column(sa.String(HASH_LENGTH))
    created_at: Mapped[datetime] = created_at_column()


class DagWarning(Base):
    """Something about a DAG that works but is risky; shown beside import errors.

    One row per DAG and kind of warning (Airflow's ``dag_warning``), replaced at each parse.
    """

    __tablename__ = "dag_warning"

    dag_id: Mapped[str] = mapped_column(
        sa.String(ID_LENGTH), sa.ForeignKey("dag.dag_id", ondelete="CASCADE"), primary_key=True
    )
    warning_type: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    message: Mapped[str] = mapped_column(sa.Text)
    """One line per finding."""
    timestamp: Mapped[datetime] = created_at_column()
