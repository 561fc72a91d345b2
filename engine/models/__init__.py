"""Loom's database models (SQLAlchemy 2, typed), re-exported from one place.

``Base.metadata`` describes the whole schema; the Alembic migrations in ``migrations/``
create exactly it.
"""

from __future__ import annotations

from engine.models.base import Base as Base
from engine.models.base import JSONType as JSONType
from engine.models.base import StrEnumType as StrEnumType
from engine.models.base import UtcDateTime as UtcDateTime
from engine.models.dags import Dag as Dag
from engine.models.dags import DagFile as DagFile
from engine.models.dags import DagVersion as DagVersion
from engine.models.dags import DagWarning as DagWarning
from engine.models.dags import ParseImportError as ParseImportError
from engine.models.dags import SerializedDag as SerializedDag
from engine.models.heartbeats import SchedulerHeartbeat as SchedulerHeartbeat
from engine.models.operations import DeadLetter as DeadLetter
from engine.models.operations import DeadLetterState as DeadLetterState
from engine.models.operations import DeliveryStatus as DeliveryStatus
from engine.models.operations import NotificationDelivery as NotificationDelivery
from engine.models.operations import OutboxKind as OutboxKind
from engine.models.operations import OutboxMessage as OutboxMessage
from engine.models.runs import DagRun as DagRun
from engine.models.runs import DagRunType as DagRunType
from engine.models.runs import Pool as Pool
from engine.models.runs import TaskAttempt as TaskAttempt
from engine.models.runs import TaskInstance as TaskInstance
from engine.models.runs import TaskMap as TaskMap
from engine.models.runs import XCom as XCom
from engine.models.security import AuditLog as AuditLog
from engine.models.security import LoginFailure as LoginFailure
from engine.models.security import Permission as Permission
from engine.models.security import RevokedSession as RevokedSession
from engine.models.security import Role as Role
from engine.models.security import User as User
from engine.models.security import role_permission as role_permission
from engine.models.security import user_role as user_role

__all__ = [
    "AuditLog",
    "Base",
    "Dag",
    "DagFile",
    "DagRun",
    "DagRunType",
    "DagVersion",
    "DagWarning",
    "DeadLetter",
    "DeadLetterState",
    "DeliveryStatus",
    "JSONType",
    "LoginFailure",
    "NotificationDelivery",
    "OutboxKind",
    "OutboxMessage",
    "ParseImportError",
    "Permission",
    "Pool",
    "RevokedSession",
    "Role",
    "SchedulerHeartbeat",
    "SerializedDag",
    "StrEnumType",
    "TaskAttempt",
    "TaskInstance",
    "TaskMap",
    "User",
    "UtcDateTime",
    "XCom",
    "role_permission",
    "user_role",
]
