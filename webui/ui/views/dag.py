"""One DAG's pages: the graph, the code and the run history (the grid is
:mod:`webui.ui.views.grid`, the trigger form :mod:`webui.ui.views.trigger`).

Everything comes from the database (the serialized graph, never the DAG's code) through
the engine services the API uses; the trigger form calls ``engine.services.runs.trigger_dag``, as
the API does, so conf is checked against the params in one place.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import render_template, request, url_for
from markupsafe import Markup
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer
from werkzeug.exceptions import BadRequest

from engine.authoring.serialization import SerializedDAG, SerializedTask
from engine.durations import seconds_between
from engine.errors import NotFoundError
from engine.models import Dag, DagRun
from engine.security.roles import Action, Resource
from engine.services.dags import dag_source, load_serialized_dag
from engine.services.dagversions import list_versions, load_run_dag, version_source
from engine.services.runs import get_run, list_runs
from engine.services.taskinstances import task_states
from engine.state import RUN_UNFINISHED, DagRunState, TaskInstanceState
from engine.timeutil import utcnow
from webui import db
from webui.auth import allows_dag, check_dag
from webui.ui.blueprint import bp
from webui.ui.paging import offset_arg
from webui.ui.present import state_label
from webui.ui.session import page
from webui.ui.viewmodels.calendar import day_bounds
from webui.ui.viewmodels.graph_layout import EdgeRoute, Layout, layered_layout
from webui.ui.viewmodels.groups import (
    GroupBox,
    aggregate_state,
    group_boxes,
    grouped_graph,
    members,
    parse_expanded,
)
from webui.ui.viewmodels.mapped import MappedSummary, mapped_task_ids, run_summaries
from webui.ui.views import history

RUNS_PAGE_SIZE = 50
RUN_CHOICES = 50
"""Latest runs offered by the graph's run selector (the chosen one is always offered)."""
FRAGMENT_HEADER = "X-Loom-Fragment"


# -- graph -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _GraphRun:
    """The run whose states colour the graph, and the runs the selector offers."""

    run: DagRun | None
    states: dict[str, TaskInstanceState]
    choices: list[DagRun]


@bp.route("/dags/<dag_id>/graph")
@page(Action.READ, Resource.DAGS)
def dag_graph(dag_id: str) -> str:
    """The graph, groups collapsed unless ``?expand=g1,g2`` (or ``*``) opens them."""
    dag = check_dag(dag_id)
    chosen = _graph_run(dag, request.args.get("run_id", "").strip())
    serialized = (  # the chosen run's own version: its states fit that graph
        load_serialized_dag(session=db.session(), dag_id=dag_id)
        if chosen.run is None
        else load_run_dag(session=db.session(), run=chosen.run).dag
    )
    folded = grouped_graph(serialized, parse_expanded(request.args.get("expand"), serialized))
    layout = layered_layout(
        {node: _node_width(serialized, node) for node in folded.nodes}, folded.edges
    )
    held = members(serialized)
    groups = {n: held[n] for n in folded.nodes if n not in serialized.tasks}
    summaries = (
        {}
        if chosen.run is None
        else run_summaries(session=db.session(), run=chosen.run, dag=serialized)
    )
    shown = {**chosen.states, **{t: s.state for t, s in summaries.items() if s.state}}
    states: dict[str, TaskInstanceState | None] = {**shown}
    for group_id, task_ids in groups.items():
        states[group_id] = aggregate_state(shown.get(t) for t in task_ids)
    mapped = {t: summaries.get(t) for t in mapped_task_ids(serialized) | summaries.keys()}
    run_id = chosen.run.run_id if chosen.run else None
    boxes = group_boxes(serialized, folded, layout)

    def graph_url(expanded: Iterable[str]) -> str:
        wanted = ",".join(sorted(set(expanded))) or None
        return url_for("ui.dag_graph", dag_id=dag_id, run_id=run_id, expand=wanted)

    def collapse_url(group_id: str) -> str:
        """Closes ``group_id`` and the groups inside it."""
        kept = [
            g for g in folded.expanded if g != group_id and group_id not in serialized.group_path(g)
        ]
        return graph_url(kept)

    context: dict[str, Any] = {
        "dag": dag,
        "serialized": serialized,
        "layout": layout,
        "folded": folded,
        "groups": groups,
        "boxes": boxes,
        "frame": _frame(layout, boxes),
        "labels": [
            (folded.labels[(e.source, e.target)], *_label_spot(e))
            for e in layout.edges
            if (e.source, e.target) in folded.labels
        ],
        "states": states,
        "chosen": chosen,
        "titles": {
            t: _node_title(task, chosen, states.get(t), mapped.get(t))
            for t, task in serialized.tasks.items()
        },
        "badges": {t: "[ ]" if s is None else s.badge for t, s in mapped.items()},
        "live": chosen.run is not None and chosen.run.state in RUN_UNFINISHED,
        "graph_url": graph_url,
        "expand_url": lambda group_id: graph_url([*folded.expanded, group_id]),
        "collapse_url": collapse_url,
    }
    if request.headers.get(FRAGMENT_HEADER):
        return render_template("ui/dag_graph_figure.html", **context)
    return render_template("ui/dag_graph.html", **context)


def _frame(layout: Layout, boxes: list[GroupBox]) -> tuple[float, float, float, float]:
    """The SVG's view box: the layout, and room for open groups' boxes and labels."""
    x0 = min([0.0, *(box.x - 4 for box in boxes)])
    y0 = min([0.0, *(box.y - 16 for box in boxes)])
    return x0, y0, layout.width - x0, layout.height - y0


def _label_spot(edge: EdgeRoute) -> tuple[float, float]:
    """Where an edge's label goes: halfway along it."""
    points = edge.points
    if len(points) % 2:
        return points[len(points) // 2]
    (x0, y0), (x1, y1) = points[len(points) // 2 - 1], points[len(points) // 2]
    return (x0 + x1) / 2, (y0 + y1) / 2


def _graph_run(dag: Dag, run_id: str) -> _GraphRun:
    """The run asked for (404 when it does not exist), else the latest, with its states."""
    if not allows_dag(dag, Action.READ, Resource.DAG_RUNS):
        return _GraphRun(None, {}, [])
    session, dag_id = db.session(), dag.dag_id
    choices = list_runs(session=session, dag_id=dag_id, limit=RUN_CHOICES).items
    run = get_run(session=session, dag_id=dag_id, run_id=run_id) if run_id else None
    if run is not None and run not in choices:
        choices.append(run)
    run = run or (choices[0] if choices else None)
    if run is None:
        return _GraphRun(None, {}, choices)
    return _GraphRun(run, task_states(session=session, run=run), choices)


def _node_width(dag: SerializedDAG, node: str) -> float:
    """Room for the node's two lines (the task id or the group's label; the operator or
    the group's size, and the state)."""
    task = dag.tasks.get(node)
    if task is None:
        first = len(dag.task_groups[node].label) + 4
        second = len("9999 tasks") + len("upstream failed") + 3
    else:
        first, second = len(task.task_id) + 2, len(task.operator) + len("upstream failed") + 3
        first += len(" [9999]") if task.mapped is not None else 0
    return max(96.0, 16.0 + 7.0 * max(first, second))


def _node_title(
    task: SerializedTask,
    chosen: _GraphRun,
    state: TaskInstanceState | None,
    summary: MappedSummary | None,
) -> str:
    """What hovering a node tells: the task's settings and its state in the chosen run
    (a mapped task's instances summed up)."""
    lines = [
        task.task_id,
        f"operator: {task.operator}",
        f"trigger rule: {task.trigger_rule.value}",
        f"priority weight: {task.priority_weight} ({task.priority} queue)",
        f"state: {state_label(state) if chosen.run else 'no run chosen'}",
    ]
    if summary is not None:
        lines.append(summary.text)
    elif task.mapped is not None:
        lines.append("mapped" + (", not expanded yet" if chosen.run else ""))
    return "\n".join(lines)


# -- code ------------------------------------------------------------------------------------


@bp.route("/dags/<dag_id>/code")
@page(Action.READ, Resource.DAGS)
def dag_code(dag_id: str) -> tuple[str, int]:
    """The DAG's file as it is now, or as parsed into ``?version=N``."""
    dag = check_dag(dag_id)
    session = db.session()
    version = _version_arg()
    versions = list_versions(session=session, dag_id=dag_id, limit=CODE_VERSIONS).items
    page = functools.partial(
        render_template, "ui/dag_code.html", dag=dag, versions=versions, version=version
    )
    try:
        if version is None:
            source = dag_source(session=session, dag_id=dag_id)
        else:
            source = version_source(session=session, dag_id=dag_id, version_number=version)
    except NotFoundError as exc:
        return page(source=None, problem=str(exc)), 404
    return page(source=source, code=_highlighted(source.content)), 200


CODE_VERSIONS = 100
"""Newest versions the code page offers to choose from (older ones by ``?version=N``)."""


def _version_arg() -> int | None:
    text = request.args.get("version", "")
    if not text:
        return None
    if not text.isdigit() or int(text) < 1:
        raise BadRequest(f"version: must be a version number (1, 2, ...), not {text!r}")
    return int(text)


def _highlighted(source: str) -> Markup:
    """The Python source as HTML (pygments escapes it), lines numbered and anchored."""
    formatter = HtmlFormatter(
        linenos="table", lineanchors="line", anchorlinenos=True, cssclass="highlight"
    )
    return Markup(str(highlight(source, PythonLexer(), formatter)))


# -- run history -----------------------------------------------------------------------------


@bp.route("/dags/<dag_id>/runs")
@page(Action.READ, Resource.DAG_RUNS)
def dag_runs(dag_id: str) -> str:
    dag = check_dag(dag_id)
    state = request.args.get("state", "").strip()
    if state and state not in {s.value for s in DagRunState}:
        allowed = ", ".join(s.value for s in DagRunState)
        raise BadRequest(f"state: {state!r} is not one of {allowed}")
    day = history.day_arg()
    listed = list_runs(
        session=db.session(),
        dag_id=dag_id,
        state=state or None,
        limit=RUNS_PAGE_SIZE,
        offset=offset_arg(),
        logical_dates=None if day is None else day_bounds(day),
    )
    now = utcnow()
    seconds = {run.id: _seconds(run, now) for run in listed.items}
    longest = max((s for s in seconds.values() if s is not None), default=0.0)
    return render_template(
        "ui/dag_runs.html",
        dag=dag,
        page=listed,
        state=state,
        states=list(DagRunState),
        day=day,
        seconds=seconds,
        longest=longest,
        now=now,
    )


def _seconds(run: DagRun, now: datetime) -> float | None:
    """How long the run took (or has been running)."""
    end = run.end_date or (now if run.state in RUN_UNFINISHED else None)
    return seconds_between(run.start_date, end)
