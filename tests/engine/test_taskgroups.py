"""Task groups and edge labels: ids, prefixing, default_args, collisions, dependencies,
labels and their serialization, with Airflow 3's semantics."""

from __future__ import annotations

import json

import pytest

from engine import DAG, EmptyOperator, Label, TaskGroup, chain, task, task_group
from engine.authoring.serialization import SerializedDAG, serialize_dag
from engine.authoring.validation import validate_dag
from engine.errors import DagDefinitionError


def ids(tasks: object) -> list[str]:
    return sorted(t.task_id for t in tasks)  # type: ignore[attr-defined]


def test_group_default_args_sit_between_the_dags_and_the_operators() -> None:
    dag = DAG("d", default_args={"retries": 1, "pool": "dag_pool", "priority_weight": 7})
    with dag, TaskGroup("outer", default_args={"retries": 3, "pool": "outer_pool"}):
        with TaskGroup("inner", default_args={"pool": "inner_pool"}):
            plain = EmptyOperator(task_id="plain")
            own = EmptyOperator(task_id="own", default_args={"pool": "own_pool"})
            explicit = EmptyOperator(task_id="explicit", retries=2, default_args={"retries": 9})
        outer_only = EmptyOperator(task_id="outer_only")
    outside = EmptyOperator(task_id="outside", dag=dag)
    assert (plain.retries, plain.pool, plain.priority_weight) == (3, "inner_pool", 7)
    assert own.pool == "own_pool"
    assert explicit.retries == 2
    assert (outer_only.retries, outer_only.pool) == (3, "outer_pool")
    assert (outside.retries, outside.pool) == (1, "dag_pool")


def test_task_ids_are_prefixed_by_the_immediate_group_only() -> None:
    with DAG("d") as dag:
        with TaskGroup("a") as a:
            with TaskGroup("b") as b:
                EmptyOperator(task_id="t")
            with TaskGroup("c", prefix_group_id=False) as c:
                EmptyOperator(task_id="u")
        with TaskGroup("x", prefix_group_id=False), TaskGroup("y"):
            EmptyOperator(task_id="v")
    assert sorted(dag.task_ids) == ["a.b.t", "u", "y.v"]
    assert list(dag.task_group.children) == ["a", "x"]
    assert list(a.children) == ["a.b", "a.c"]
    assert a["b"] is b
    assert a["c"] is c
    assert c.group_id == "a.c"
    assert list(b.children) == ["a.b.t"]
    assert b.label == "b"
    with pytest.raises(KeyError, match="Task 'nope' not found"):
        a["nope"]


@pytest.mark.parametrize(
    ("group_id", "error", "message"),
    [
        ("a.b", ValueError, "has to be made of alphanumeric characters"),
        ("x" * 201, ValueError, "less than 200 characters, not 201"),
        (5, TypeError, "has to be a string"),
    ],
)
def test_bad_group_ids_are_refused(group_id: object, error: type, message: str) -> None:
    with DAG("d"), pytest.raises(error, match=message):
        TaskGroup(group_id)  # type: ignore[arg-type]


def test_a_group_needs_a_dag() -> None:
    with pytest.raises(DagDefinitionError, match="TaskGroup can only be used inside a dag"):
        TaskGroup("g")


def test_a_taken_group_id_is_an_error_unless_suffixing_is_asked() -> None:
    with DAG("d") as dag:
        TaskGroup("g")
        with pytest.raises(DagDefinitionError, match="group_id 'g' has already been added"):
            TaskGroup("g")
        EmptyOperator(task_id="t")
        with pytest.raises(DagDefinitionError, match="group_id 't' has already"):
            TaskGroup("t")
        assert TaskGroup("g", add_suffix_on_collision=True).group_id == "g__1"
        assert TaskGroup("g", add_suffix_on_collision=True).group_id == "g__2"
        assert TaskGroup("g__1", add_suffix_on_collision=True).group_id == "g__3"
        EmptyOperator(task_id="g")
    assert [p.message for p in validate_dag(dag)] == ["task id 'g' is taken by a task group"]


def test_task_group_decorator_suffixes_and_returns_the_result_or_the_group() -> None:
    @task
    def step() -> int:
        return 1

    @task_group
    def prepare() -> None:
        """Get things ready."""
        step()
        step()

    @task_group(group_id="produce", tooltip="given")
    def produce_last() -> object:
        return step()

    with DAG("d") as dag:
        first, second = prepare(), prepare()
        result = produce_last()
        start = EmptyOperator(task_id="start")
        start >> result
    assert isinstance(first, TaskGroup)
    assert isinstance(second, TaskGroup)
    assert (first.group_id, second.group_id) == ("prepare", "prepare__1")
    assert first.tooltip == "Get things ready."
    assert sorted(dag.task_ids) == [
        "prepare.step", "prepare.step__1", "prepare__1.step", "prepare__1.step__1",
        "produce.step", "start",
    ]  # fmt: skip
    assert dag.task_group.children["produce"].tooltip == "given"  # type: ignore[union-attr]
    assert dag.get_task("produce.step").upstream_task_ids == {"start"}


def test_dependencies_to_and_from_groups_use_roots_and_leaves() -> None:
    with DAG("d") as dag:
        start, end = EmptyOperator(task_id="start"), EmptyOperator(task_id="end")
        with TaskGroup("g") as g:
            a, b, c = (EmptyOperator(task_id=n) for n in "abc")
            a >> [b, c]
        with TaskGroup("h") as h:
            EmptyOperator(task_id="x")
        start >> g >> end
        g >> h
    assert ids(g.roots) == ["g.a"]
    assert ids(g.leaves) == ["g.b", "g.c"]
    assert sorted(dag.edges) == [
        ("g.a", "g.b"), ("g.a", "g.c"), ("g.b", "end"), ("g.b", "h.x"), ("g.c", "end"),
        ("g.c", "h.x"), ("start", "g.a"),
    ]  # fmt: skip
    assert validate_dag(dag) == []


def test_lists_of_groups_and_shifts_from_the_left() -> None:
    with DAG("d") as dag:
        start, end = EmptyOperator(task_id="start"), EmptyOperator(task_id="end")
        with TaskGroup("g1"):
            EmptyOperator(task_id="t")
        with TaskGroup("g2") as g2:
            EmptyOperator(task_id="t")
        g1 = dag.task_group["g1"]
        [g1, g2] >> end
        end << start
        start >> [g1, g2]
        g2 << start
    assert sorted(dag.edges) == [
        ("g1.t", "end"), ("g2.t", "end"), ("start", "end"), ("start", "g1.t"), ("start", "g2.t"),
    ]  # fmt: skip


def test_an_empty_group_in_a_chain_passes_its_neighbours_on() -> None:
    with DAG("d") as dag:
        a, b = EmptyOperator(task_id="a"), EmptyOperator(task_id="b")
        empty = TaskGroup("empty")
        a >> empty >> b
        c, d = EmptyOperator(task_id="c"), EmptyOperator(task_id="d")
        other = TaskGroup("other")
        d << other << c
    assert dag.edges == [("a", "b"), ("c", "d")]


def test_labels_link_the_two_sides_and_record_the_label() -> None:
    with DAG("d") as dag:
        a, b, c, e = (EmptyOperator(task_id=n) for n in ("a", "b", "c", "e"))
        a >> Label("yes") >> [b, c]
        c << Label("back") << e
        a.set_downstream(e, Label("x"))
        a.set_downstream(e, Label("y"))
        b.set_upstream(e, edge_modifier=Label("z"))
    assert sorted(dag.edges) == [("a", "b"), ("a", "c"), ("a", "e"), ("e", "b"), ("e", "c")]
    assert dag.get_edge_info("a", "b") == {"label": "yes"} == dag.get_edge_info("a", "c")
    assert dag.get_edge_info("e", "c") == {"label": "back"}
    assert dag.get_edge_info("a", "e") == {"label": "y"}
    assert dag.get_edge_info("e", "b") == {"label": "z"}
    assert dag.get_edge_info("b", "c") == {}
    assert "Label" not in {t.operator_name for t in dag.tasks}
    assert len(dag.tasks) == 4


def test_labels_with_groups_xcom_args_and_chain() -> None:
    @task
    def pick() -> str:
        return "x"

    with DAG("d") as dag:
        a = EmptyOperator(task_id="a")
        with TaskGroup("g") as g:
            r = EmptyOperator(task_id="r")
        picked = pick()
        a >> Label("in") >> g
        g >> Label("out") >> picked
        x1, x2 = EmptyOperator(task_id="x1"), EmptyOperator(task_id="x2")
        chain(r, [Label("l1"), Label("l2")], [x1, x2])
    assert dag.get_edge_info("a", "g.r") == {"label": "in"}
    assert dag.get_edge_info("a", "g.upstream_join_id") == {"label": "in"}
    assert dag.get_edge_info("g.downstream_join_id", "pick") == {"label": "out"}
    assert dag.get_edge_info("g.r", "x1") == {"label": "l1"}
    assert dag.get_edge_info("g.r", "x2") == {"label": "l2"}
    assert ("g.r", "pick") in dag.edges


@pytest.mark.parametrize("operand", [5, "a_task_id", None])
def test_a_label_refuses_what_is_not_a_task_an_xcom_or_a_group(operand: object) -> None:
    with DAG("d"):
        a = EmptyOperator(task_id="a")
        with pytest.raises(TypeError, match=r"Cannot use edge labels with .*only tasks, XComArg"):
            a >> Label("x") >> operand  # type: ignore[operator]


def test_groups_and_labels_survive_serialization() -> None:
    with DAG("d") as dag:
        start = EmptyOperator(task_id="start")
        with TaskGroup("outer", tooltip="the outside"), TaskGroup("inner", prefix_group_id=False):
            EmptyOperator(task_id="deep")
        start >> Label("go") >> dag.task_group["outer"]
    data = serialize_dag(dag)
    restored = SerializedDAG.from_dict(json.loads(json.dumps(data)))
    assert restored.to_dict() == data
    assert restored == SerializedDAG.from_dict(data)
    assert restored.tasks["deep"].task_group_id == "outer.inner"
    assert restored.tasks["start"].task_group_id is None
    assert restored.group_path("deep") == ("outer", "outer.inner")
    outer, inner = restored.task_groups["outer"], restored.task_groups["outer.inner"]
    assert (outer.label, outer.tooltip, outer.children, outer.parent_group_id) == (
        "outer",
        "the outside",
        ("outer.inner",),
        None,
    )
    assert (inner.label, inner.prefix_group_id, inner.children) == ("inner", False, ("deep",))
    assert restored.edge_label("start", "deep") == "go"


def test_a_dag_serialized_before_groups_still_loads() -> None:
    with DAG("d") as dag:
        EmptyOperator(task_id="a") >> EmptyOperator(task_id="b")
    data = serialize_dag(dag)
    del data["task_groups"], data["edge_info"]
    for serialized_task in data["tasks"]:
        del serialized_task["task_group_id"]
    old = SerializedDAG.from_dict(data)
    assert old.task_groups == {}
    assert old.edge_info == {}
    assert old.tasks["a"].task_group_id is None
    assert old.group_path("b") == ()


def test_a_group_given_its_dag_places_tasks_without_a_with_dag_block() -> None:
    dag = DAG("d", default_args={"retries": 4})
    with TaskGroup("g", dag=dag, default_args={"pool": "p"}) as g:
        inside = EmptyOperator(task_id="t")
    later = EmptyOperator(task_id="u", task_group=g)
    assert (inside.task_id, inside.dag, inside.retries, inside.pool) == ("g.t", dag, 4, "p")
    assert (later.task_id, later.task_group, later.pool) == ("g.u", g, "p")
    assert list(g.children) == ["g.t", "g.u"]


def test_a_groups_teardown_does_not_hold_back_what_follows_the_group() -> None:
    with DAG("d") as dag:
        with TaskGroup("g") as g:
            create = EmptyOperator(task_id="create")
            work = EmptyOperator(task_id="work")
            delete = EmptyOperator(task_id="delete")
            create >> work >> delete.as_teardown(setups=create)
        end = EmptyOperator(task_id="end")
        g >> end
    assert ids(g.leaves) == ["g.work"]
    assert end.upstream_task_ids == {"g.work"}
    assert validate_dag(dag) == []


def test_unknown_group_default_args_are_reported_with_the_group() -> None:
    with DAG("d") as dag, TaskGroup("g", default_args={"retriez": 2}):
        EmptyOperator(task_id="t")
    (problem,) = validate_dag(dag)
    assert problem.message.startswith("task group 'g': unknown default_args key 'retriez'")
    assert problem.file == __file__
