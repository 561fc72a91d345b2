"""Triggers that watch Loom's own runs: ``ExternalTaskSensor(deferrable=True)`` waits on a
:class:`WorkflowTrigger`, ``TriggerDagRunOperator(deferrable=True)`` on a
:class:`DagStateTrigger` (Airflow's names).

They poll the metadata database every ``poke_interval`` seconds through the process's
sessions (:mod:`engine.execution.metadata`; the triggerer installs its own), in a thread
(``asyncio.to_thread``) so that the triggerer's loop never waits on the database.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from engine.authoring.triggers.base import BaseTrigger, TriggerEvent, classpath_of
from engine.execution.external_task import outcome_of, watched_states


class WorkflowTrigger(BaseTrigger):
    """Fire once ``external_dag_id``'s run at ``logical_date`` (or some of its tasks)
    settled: ``{"status": "success" | "failed" | "skipped", "states": [...]}``."""

    def __init__(
        self,
        *,
        external_dag_id: str,
        logical_date: datetime,
        external_task_ids: list[str] | None = None,
        external_task_group_id: str | None = None,
        allowed_states: list[str],
        failed_states: list[str] | None = None,
        skipped_states: list[str] | None = None,
        poke_interval: float = 60.0,
    ) -> None:
        super().__init__()
        self.external_dag_id = external_dag_id
        self.logical_date = logical_date
        self.external_task_ids = list(external_task_ids or [])
        self.external_task_group_id = external_task_group_id
        self.allowed_states = list(allowed_states)
        self.failed_states = list(failed_states or [])
        self.skipped_states = list(skipped_states or [])
        self.poke_interval = float(poke_interval)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return classpath_of(WorkflowTrigger), {
            "external_dag_id": self.external_dag_id,
            "logical_date": self.logical_date,
            "external_task_ids": self.external_task_ids,
            "external_task_group_id": self.external_task_group_id,
            "allowed_states": self.allowed_states,
            "failed_states": self.failed_states,
            "skipped_states": self.skipped_states,
            "poke_interval": self.poke_interval,
        }

    async def run(self) -> AsyncIterator[TriggerEvent]:
        while True:
            states = await asyncio.to_thread(self._states)
            status = outcome_of(
                states,
                allowed=set(self.allowed_states),
                failed=set(self.failed_states),
                skipped=set(self.skipped_states),
            )
            if status is not None:
                yield TriggerEvent({"status": status, "states": sorted(states or ())})
                return
            await asyncio.sleep(self.poke_interval)

    def _states(self) -> set[str] | None:
        from engine.execution.metadata import metadata_session

        with metadata_session() as session:
            return watched_states(
                session,
                dag_id=self.external_dag_id,
                when=self.logical_date,
                task_ids=self.external_task_ids,
                group_id=self.external_task_group_id,
            )


class DagStateTrigger(BaseTrigger):
    """Fire once run ``run_id`` of ``dag_id`` is in one of ``states``, with
    ``{"run_id": ..., "state": ...}``."""

    def __init__(
        self, *, dag_id: str, run_id: str, states: list[str], poll_interval: float = 60.0
    ) -> None:
        super().__init__()
        self.dag_id = dag_id
        self.run_id = run_id
        self.states = list(states)
        self.poll_interval = float(poll_interval)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return classpath_of(DagStateTrigger), {
            "dag_id": self.dag_id,
            "run_id": self.run_id,
            "states": self.states,
            "poll_interval": self.poll_interval,
        }

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from engine.execution.metadata import run_state

        while True:
            state = await asyncio.to_thread(run_state, self.dag_id, self.run_id)
            if state in self.states:
                yield TriggerEvent({"run_id": self.run_id, "state": state})
                return
            await asyncio.sleep(self.poll_interval)
