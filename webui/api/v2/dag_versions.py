"""``/api/v2/dags/{dag_id}/dagVersions``: a DAG's versions (one per change of its
serialized graph), listed oldest first as in Airflow, and one by its number."""

from __future__ import annotations

from typing import Any

from marshmallow import fields, validate

from engine.security.roles import Action, Resource
from engine.services.dags import require_dag
from engine.services.dagversions import VERSION_ORDER, get_version, version_query
from webui import db
from webui.api.v2.common import V2PageArgs, page, v2_blueprint
from webui.api.v2.schemas_runs import DagVersionSchema
from webui.auth import check_dag

blp = v2_blueprint("dag_versions", "/dags/<dag_id>/dagVersions", "DagVersion", Resource.DAGS)


class VersionListArgs(V2PageArgs):
    version_number = fields.Integer(load_default=None, validate=validate.Range(min=1))
    bundle_name = fields.String(
        load_default=None,
        validate=validate.Length(max=250),
        metadata={"description": "Loom has no bundles: any name matches no version"},
    )
    bundle_version = fields.String(
        load_default=None,
        validate=validate.Length(max=250),
        metadata={"description": "Loom has no bundles: any version matches no version"},
    )


@blp.listing("", "dag_versions", DagVersionSchema, query=VersionListArgs)
def list_dag_versions(args: dict[str, Any], dag_id: str) -> Any:
    """The DAG's versions (filter by ``version_number``; order by ``id`` or
    ``version_number``)."""
    check_dag(dag_id)
    require_dag(session=db.session(), dag_id=dag_id)
    stmt = version_query(
        dag_id=dag_id,
        version_number=args["version_number"],
        bundle_name=args["bundle_name"],
        bundle_version=args["bundle_version"],
    )
    return page("dag_versions", stmt, args, VERSION_ORDER, "id")


@blp.operation("GET", "/<int:version_number>", Action.READ, returns=DagVersionSchema)
def get_dag_version(dag_id: str, version_number: int) -> Any:
    """One version of the DAG, by its number."""
    check_dag(dag_id)
    return get_version(session=db.session(), dag_id=dag_id, version_number=version_number)
