"""The scheduler applies Airflow 3's newer trigger rules from a run's real states."""

from __future__ import annotations

from tests.engine.scheduling.conftest import START, TI, Rig


def test_new_rules_decide_run_skip_and_upstream_failed(rig: Rig) -> None:
    rig.manual_dag(
        "newrules",
        """
            bad = EmptyOperator(task_id='bad')
            good = EmptyOperator(task_id='good')
            after_bad = EmptyOperator(task_id='after_bad')
            bad >> after_bad
            def t(task_id, rule, *ups):
                EmptyOperator(task_id=task_id, trigger_rule=rule) << list(ups)
            t('done_ran', 'one_done', bad, after_bad)
            t('done_none', 'one_done', after_bad)
            t('skipped_all', 'all_skipped', good)
            t('min_one', 'all_done_min_one_success', bad, good)
            t('min_one_none', 'all_done_min_one_success', bad, after_bad)
            t('setup_ok', 'all_done_setup_success', bad, good)
        """,
    )
    scheduler = rig.first_tick("newrules")
    for job in list(rig.executor.submitted):
        rig.work(job, TI.FAILED if job.task_id == "bad" else TI.SUCCESS, START)
    scheduler.tick(START)
    got = rig.states("newrules")
    assert got["after_bad"] is TI.UPSTREAM_FAILED
    assert got["done_ran"] is TI.QUEUED
    assert got["done_none"] is TI.SKIPPED
    assert got["skipped_all"] is TI.SKIPPED
    assert got["min_one"] is TI.QUEUED
    assert got["min_one_none"] is TI.UPSTREAM_FAILED
    assert got["setup_ok"] is TI.QUEUED
