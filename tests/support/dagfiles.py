"""Text that test DAG files share."""

WORKER_EMPTY_OPERATOR = '''
from engine import EmptyOperator as _SchedulerEmptyOperator


class EmptyOperator(_SchedulerEmptyOperator):
    """A do-nothing task that still goes to a worker: Loom's own EmptyOperator finishes in
    the scheduler, and these tests drive the queue and the workers with it."""

    def execute(self, context):
        return None
'''
"""Put after a DAG file's imports: ``EmptyOperator`` then names a task that is queued and
run like any other (overriding ``execute`` opts out of finishing in the scheduler)."""

ASSET_DAGS = """
from datetime import datetime
from engine import DAG, Asset, AssetAlias, EmptyOperator

RAW = Asset(name="raw", uri="s3://lake/raw")
with DAG("ingest", schedule=None, start_date=datetime(2026, 1, 1), tags=["etl"]):
    EmptyOperator(task_id="land", outlets=[RAW])
with DAG("report_on_raw", schedule=[RAW], tags=["finance"]):
    EmptyOperator(task_id="report")
with DAG("on_alias", schedule=[AssetAlias("lake_alias")]):
    EmptyOperator(task_id="noop")
"""
"""A DAG file around the asset ``raw``: ``ingest`` (tagged etl) updates it,
``report_on_raw`` (tagged finance) is scheduled on it, ``on_alias`` on the alias
``lake_alias``."""

ORDERED = """
from datetime import datetime
from engine import DAG, EmptyOperator

with DAG("ordered", schedule=None, start_date=datetime(2026, 1, 1)):
    alpha = EmptyOperator(task_id="alpha")
    zeta = EmptyOperator(task_id="zeta")
    beta = EmptyOperator(task_id="beta")
    mid = EmptyOperator(task_id="mid")
    zeta >> alpha
    beta >> alpha
"""
"""A DAG file ``ordered`` whose tasks' DAG order differs from both their ids' order and
their declaration order."""

ORDERED_DAG_ORDER = ["zeta", "beta", "alpha", "mid"]
"""``ORDERED``'s tasks upstream first, ties in declaration order (by id: alpha, beta,
mid, zeta; as declared: alpha, zeta, beta, mid)."""
