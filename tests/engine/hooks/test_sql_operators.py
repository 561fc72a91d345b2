"""SQLExecuteQueryOperator and SqlSensor in a DAG run, on SQLite and PostgreSQL: templated
SQL (a .sql file too), Airflow's XCom shape, the sensor's criteria."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from engine import DAG, DbApiHook, SQLExecuteQueryOperator, SqlSensor, task
from engine.authoring.validation import validate_dag
from engine.errors import HookError
from engine.execution.dagtest import DagTestRun
from engine.state import TaskInstanceState as S

START = datetime(2026, 1, 1, tzinfo=UTC)


def run(dag: DAG, **kwargs: Any) -> dict[str, tuple[S, str | None]]:
    report = DagTestRun(dag, retry_delay_scale=0, echo=lambda _: None, **kwargs).run()
    return {tid: (r.state, r.error) for tid, r in report.tasks.items()}


@pytest.fixture
def orders(warehouse: str) -> DbApiHook:
    hook = DbApiHook("warehouse")
    hook.run(
        "CREATE TABLE orders (id INTEGER, item VARCHAR(20), day VARCHAR(10));"
        "INSERT INTO orders VALUES (1, 'tea', '2026-01-01');"
        "INSERT INTO orders VALUES (2, 'jam', '2026-01-01');",
        split_statements=True,
    )
    return hook


def test_query_results_flow_as_lists_of_rows(orders: DbApiHook, tmp_path: Path) -> None:
    (tmp_path / "by_day.sql").write_text(
        "SELECT id, item FROM orders WHERE day = '{{ ds }}' ORDER BY id"
    )
    seen: dict[str, Any] = {}
    mark = "?" if orders.dialect_name == "sqlite" else "%s"
    with DAG("sql", schedule=None, start_date=START, template_searchpath=str(tmp_path)) as dag:
        from_file = SQLExecuteQueryOperator(
            task_id="from_file", conn_id="warehouse", sql="by_day.sql"
        )
        several = SQLExecuteQueryOperator(
            task_id="several",
            conn_id="{{ params.conn }}",
            sql=[
                f"SELECT count(*) FROM orders WHERE id > {mark}",
                f"SELECT max(id) FROM orders WHERE id >= {mark}",
            ],
            parameters=["{{ params.floor }}"],
            params={"conn": "warehouse", "floor": 1},
            show_return_value_in_logs=True,
        )
        write = SQLExecuteQueryOperator(
            task_id="write", conn_id="warehouse", sql="DELETE FROM orders WHERE id = 2"
        )

        @task
        def record(rows: Any, counts: Any, written: Any) -> None:
            seen.update(rows=rows, counts=counts, written=written)

        record(from_file.output, several.output, write.output)
        several >> write

    states = run(dag, logical_date=START)
    assert states["several"] == (S.SUCCESS, None)
    assert {tid: state for tid, (state, _) in states.items()} == dict.fromkeys(states, S.SUCCESS)
    assert seen == {"rows": [[1, "tea"], [2, "jam"]], "counts": [[[1]], [[2]]], "written": None}
    assert orders.get_records("SELECT id FROM orders") == [(1,)]


def test_a_failing_statement_fails_the_task(orders: DbApiHook) -> None:
    with DAG("bad_sql", schedule=None, start_date=START) as dag:
        SQLExecuteQueryOperator(task_id="q", conn_id="warehouse", sql="SELECT * FROM nowhere")
    state, error = run(dag)["q"]
    assert state == S.FAILED
    assert error is not None
    assert "nowhere" in error


def test_operator_arguments_are_checked_at_import() -> None:
    with DAG("args", schedule=None, start_date=START) as dag:
        SQLExecuteQueryOperator(task_id="q", conn_id="w", sql="")
        SQLExecuteQueryOperator(task_id="r", conn_id="w", sql="SELECT 1", databse="x")
        SqlSensor(task_id="s", conn_id="w", sql="SELECT 1", success="yes")
    assert [p.message for p in validate_dag(dag)] == [
        "task 'q': sql must be a string or a list of strings, got ''",
        "task 'r': unknown argument 'databse' to SQLExecuteQueryOperator",
        "task 's': success must be callable, got 'yes'",
    ]


def sensor(sql: str, **kwargs: Any) -> SqlSensor:
    return SqlSensor(task_id="wait", conn_id="warehouse", sql=sql, poke_interval=0, **kwargs)


def test_sensor_criteria(orders: DbApiHook) -> None:
    count = "SELECT count(*), max(item) FROM orders WHERE item = 'fig'"
    assert sensor(count).poke({}) is False  # 0 is not done
    assert sensor("SELECT item FROM orders WHERE id = 9").poke({}) is False  # no row yet
    with pytest.raises(HookError, match="No rows returned"):
        sensor("SELECT item FROM orders WHERE id = 9", fail_on_empty=True).poke({})
    assert sensor("SELECT id, item FROM orders", selector=lambda row: row[1] == "tea").poke({})
    assert not sensor("SELECT id FROM orders", success=lambda cell: cell > 5).poke({})
    with pytest.raises(HookError, match=r"Failure criteria met. failure\(1\)"):
        sensor("SELECT id FROM orders", failure=lambda cell: cell == 1, success=bool).poke({})
    orders.run("INSERT INTO orders VALUES (3, 'fig', '2026-01-02')")
    assert sensor(count).poke({}) is True


def test_sensor_waits_in_a_run_until_the_row_exists(orders: DbApiHook) -> None:
    pokes: list[int] = []

    def arrived(cell: Any) -> bool:
        pokes.append(cell)
        if len(pokes) == 2:  # another system writes the row between two pokes
            orders.run("INSERT INTO orders VALUES (3, 'fig', '2026-01-02')")
        return bool(cell)

    with DAG("wait_sql", schedule=None, start_date=START) as dag:
        sensor("SELECT count(*) FROM orders WHERE item = 'fig'", success=arrived)
    assert run(dag)["wait"] == (S.SUCCESS, None)
    assert pokes == [0, 0, 1]
