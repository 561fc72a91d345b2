"""What a DAG shows people beyond its ``dag`` row: display name, owners' links, docs.

These live in the serialized DAG (no column, no migration): a page of DAGs reads them
with one query (:func:`dag_details`), the graphs themselves cached by content hash.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from engine.authoring.serialization import SerializedDAG
from engine.models import Dag
from engine.services.dags import load_serialized_dags


@dataclass(frozen=True)
class DagDetails:
    """A DAG's presentation and run-policy settings, as its file gives them."""

    dag_display_name: str
    """Its ``dag_display_name``, else its dag_id."""
    owner_links: dict[str, str] = field(default_factory=dict)
    doc_md: str | None = None
    fail_fast: bool = False
    max_consecutive_failed_dag_runs: int | None = None

    @classmethod
    def of(cls, dag: SerializedDAG) -> DagDetails:
        return cls(
            dag_display_name=dag.display_name,
            owner_links=dict(dag.owner_links),
            doc_md=dag.doc_md,
            fail_fast=dag.fail_fast,
            max_consecutive_failed_dag_runs=dag.max_consecutive_failed_dag_runs,
        )

    def owners(self, owner: str | None) -> list[tuple[str, str | None]]:
        """Each name of ``owner`` (the ``dag`` row's, comma-separated) with its link."""
        names = [name.strip() for name in (owner or "").split(",") if name.strip()]
        return [(name, self.owner_links.get(name)) for name in names]


def dag_details(*, session: Session, dag_ids: Collection[str]) -> dict[str, DagDetails]:
    """The details of ``dag_ids`` (a DAG without a graph reads as its bare id)."""
    graphs = load_serialized_dags(session=session, dag_ids=dag_ids)
    return {
        dag_id: DagDetails.of(graphs[dag_id]) if dag_id in graphs else DagDetails(dag_id)
        for dag_id in dag_ids
    }


def dag_payload(dag: Dag, details: DagDetails, *, full: bool = False) -> dict[str, Any]:
    """``dag``'s columns with its details, as the API returns a DAG; ``full`` adds
    ``doc_md`` and the run policy (one DAG's page, not a list)."""
    payload: dict[str, Any] = {
        column.key: getattr(dag, column.key) for column in Dag.__table__.columns
    }
    payload["dag_display_name"] = details.dag_display_name
    payload["owner_links"] = details.owner_links
    if full:
        payload.update(
            doc_md=details.doc_md,
            fail_fast=details.fail_fast,
            max_consecutive_failed_dag_runs=details.max_consecutive_failed_dag_runs,
        )
    return payload


def details_by_id(session: Session, dags: Collection[Dag]) -> Mapping[str, DagDetails]:
    """:func:`dag_details` of the DAG rows ``dags``."""
    return dag_details(session=session, dag_ids=[dag.dag_id for dag in dags])
