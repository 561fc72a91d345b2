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
