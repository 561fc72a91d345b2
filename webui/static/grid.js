// A DAG's grid, drawn from the compact JSON of /dags/<dag_id>/grid/data (the shape is in
// webui/ui/viewmodels/gridjson.py): a bar per run (height: duration, colour: state), a
// row per task in the DAG's order with task groups folding (remembered per DAG in
// localStorage), mapped tasks as counts per state, and a details panel per cell from
// /dags/<dag_id>/grid/cell. Arrow keys move between cells, Enter opens the details, Esc
// closes them. While a run is unfinished the data is fetched again every few seconds.
"use strict";

(() => {
  const root = document.getElementById("dag-grid");
  if (!root) return;

  const POLL_MS = 3000;
  const BAR_PX = 56;
  const GLYPHS = {
    success: "✓", failed: "✗", running: "▶", queued: "⋯", scheduled: "◷", up_for_retry: "↻",
    up_for_reschedule: "⧖", deferred: "⏸", upstream_failed: "⊘", skipped: "»", none: "·",
  };
  const RUN_UNFINISHED = new Set(["queued", "running"]);
  const storageKey = `loom.grid.${root.dataset.dag}.open`;

  let data = null;          // the latest JSON
  let rowsShown = [];       // indexes into data.tasks of the rows drawn, top to bottom
  let cellsOf = new Map();  // a drawn row's index -> its cells, by run
  let current = null;       // the cell that takes the focus (tabindex 0)
  let selected = null;      // {task, run}: ids, so that a refresh keeps the selection
  let panelFor = null;      // {task, run} whose details are open
  let panelFinished = true; // whether the open details can no longer change
  let pollTimer = null;
  const open = new Set(readOpenGroups());

  const status = root.querySelector(".grid-status") || document.createElement("p");
  const label = element("p", "grid-label", "Hover or select a run to read it here.");
  label.setAttribute("aria-live", "polite");
  const scroller = element("div", "grid-scroll");
  const table = element("table", "grid-table");
  table.setAttribute("role", "grid");
  table.setAttribute("aria-label", `Tasks of ${root.dataset.dag} by run, oldest run first`);
  scroller.append(table);
  const panel = element("aside", "grid-details");
  panel.id = "grid-details";
  panel.setAttribute("aria-label", "Details of the selected cell");
  panel.hidden = true;
  root.append(label, scroller, panel);

  // -- helpers ------------------------------------------------------------------------------

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function readOpenGroups() {
    try { return JSON.parse(window.localStorage.getItem(storageKey) || "[]"); } catch (error) { return []; }
  }

  function saveOpenGroups() {
    try { window.localStorage.setItem(storageKey, JSON.stringify([...open])); } catch (error) { /* private mode */ }
  }

  const words = (state) => (state || "none").replaceAll("_", " ");

  // As engine.durations.human_duration writes it on the server and in the CLI.
  function seconds(value) {
    if (value === null || value === undefined) return "—";
    const ms = Math.round(Math.max(value, 0) * 1000);
    if (ms < 1000) return `${ms}ms`;
    const tenths = Math.round(value * 10) / 10;
    if (tenths < 60) return `${tenths}s`;
    const total = Math.round(value);
    const [big, bigUnit, small, smallUnit] =
      total < 3600 ? [60, "m", 1, "s"] : total < 86400 ? [3600, "h", 60, "m"] : [86400, "d", 3600, "h"];
    const rest = Math.floor((total % big) / small);
    return rest ? `${Math.floor(total / big)}${bigUnit} ${rest}${smallUnit}` : `${Math.floor(total / big)}${bigUnit}`;
  }

  const when = (iso) => (window.loomTime ? window.loomTime.text(iso) : iso || "—");
  const shortDate = (iso) => (iso ? iso.slice(5, 16).replace("T", " ") : "");

  function runOf(index) {
    const [runId, logical, state, start, end, href] = data.runs[index];
    return { runId, logical, state, start, end, href };
  }

  function taskOf(index) {
    const [id, name, group, kind, depth] = data.tasks[index];
    return { id, name, group, kind, depth };
  }

  function runSeconds(run) {
    if (!run.start) return null;
    const end = run.end ? Date.parse(run.end) : (RUN_UNFINISHED.has(run.state) ? Date.now() : null);
    return end === null ? null : Math.max(0, (end - Date.parse(run.start)) / 1000);
  }

  function runText(run) {
    return `Run ${run.runId}, logical date ${when(run.logical)}: ${words(run.state)}, ${seconds(runSeconds(run))}`;
  }

  // A row shows when every group it is in is open.
  function visible(index, groupRow) {
    let group = taskOf(index).group;
    while (group !== null) {
      if (!open.has(group)) return false;
      group = taskOf(groupRow.get(group)).group;
    }
    return true;
  }

  // -- drawing ------------------------------------------------------------------------------

  function draw() {
    const groupRow = new Map();
    data.tasks.forEach((task, index) => { if (task[3] === "group") groupRow.set(task[0], index); });
    rowsShown = data.tasks.map((_, index) => index).filter((index) => visible(index, groupRow));
    cellsOf = new Map();
    current = null;
    table.replaceChildren(header(), body());
    table.setAttribute("aria-rowcount", String(rowsShown.length + 1));
    table.setAttribute("aria-colcount", String(data.runs.length + 1));
    const trigger = document.querySelector(".grid-trigger");
    if (trigger) trigger.hidden = data.runs.length > 0;
    status.hidden = true;
    focusSelected(false);
  }

  function header() {
    const head = element("thead");
    const row = element("tr");
    const corner = element("th", "corner", data.runs.length ? "Task \\ run" : "Task (no runs yet)");
    corner.scope = "col";
    row.append(corner);
    const longest = Math.max(1, ...data.runs.map((_, i) => runSeconds(runOf(i)) || 0));
    data.runs.forEach((_, index) => {
      const run = runOf(index);
      const cell = element("th", "run");
      cell.scope = "col";
      const bar = element("a", `run-bar state-${run.state}`);
      bar.href = run.href;
      bar.dataset.run = String(index);
      const took = runSeconds(run);
      bar.style.height = `${Math.max(4, Math.round(BAR_PX * (took || 0) / longest))}px`;
      bar.title = runText(run);
      bar.setAttribute("aria-label", runText(run));
      const box = element("span", "bar-box");
      box.append(bar);
      cell.append(box, element("span", "run-date", shortDate(run.logical) || run.runId));
      row.append(cell);
    });
    head.append(row);
    return head;
  }

  function body() {
    const tbody = element("tbody");
    const width = data.runs.length;
    for (const index of rowsShown) {
      const task = taskOf(index);
      const row = element("tr", task.kind === "group" ? "group-row" : "");
      row.dataset.task = task.id;
      row.append(rowHeader(task));
      const cells = [];
      for (let col = 0; col < width; col += 1) cells.push(cell(index, col));
      row.append(...cells);
      cellsOf.set(index, cells);
      tbody.append(row);
    }
    return tbody;
  }

  function rowHeader(task) {
    const head = element("th", "task");
    head.scope = "row";
    head.style.paddingLeft = `${0.4 + 1.1 * task.depth}rem`;
    if (task.kind === "group") {
      const toggle = element("button", "group-toggle", task.name);
      toggle.type = "button";
      toggle.dataset.group = task.id;
      toggle.setAttribute("aria-expanded", open.has(task.id) ? "true" : "false");
      toggle.title = `group ${task.id}: expand or collapse`;
      head.append(toggle);
      return head;
    }
    head.append(document.createTextNode(task.id));
    if (task.kind === "mapped") head.append(" ", element("span", "map-count", mappedBadge(task)));
    return head;
  }

  function mappedBadge(task) {
    const counts = data.mapped[String(data.tasks.findIndex((t) => t[0] === task.id))] || [];
    const latest = [...counts].reverse().find((c) => c !== null);
    if (!latest || !latest.length) return "[ ]";
    return `[${latest.reduce((sum, [, n]) => sum + n, 0)}]`;
  }

  function cell(index, col) {
    const task = taskOf(index);
    const run = runOf(col);
    const flat = index * data.runs.length + col;
    const state = data.states[data.cells[flat]];
    const td = element("td", "cell");
    td.setAttribute("role", "gridcell");
    td.tabIndex = -1;
    td.dataset.row = String(index);
    td.dataset.col = String(col);
    const what = task.kind === "group" ? `group ${task.id}` : `task ${task.id}`;
    let text = state === "missing" ? "not in this run" : words(state);
    let square;
    const counts = task.kind === "mapped" ? data.mapped[String(index)][col] : null;
    if (counts && counts.length) {
      square = mappedSquare(counts);
      const total = counts.reduce((sum, [, n]) => sum + n, 0);
      text = `${total} mapped: ${counts.map(([code, n]) => `${n} ${words(data.states[code])}`).join(", ")}`;
    } else {
      square = element("span", `sq state-${state === "missing" ? "none missing" : state}`);
      square.textContent = state === "missing" ? "" : GLYPHS[state] || "?";
      if (task.kind === "mapped" && state !== "missing") text += " (mapped, not expanded yet)";
    }
    const tries = data.tries[String(flat)];
    if (tries) {
      square.classList.add("retried");
      text += ` (try ${tries})`;
    }
    if (task.kind === "group") square.classList.add("group");
    square.setAttribute("aria-hidden", "true");
    td.append(square);
    const full = `${what}, run ${run.runId}: ${text}`;
    td.setAttribute("aria-label", full);
    td.title = full;
    return td;
  }

  function mappedSquare(counts) {
    const square = element("span", "sq mapped");
    for (const [code, n] of counts) {
      const part = element("span", `state-${data.states[code]}`);
      part.style.flexGrow = String(n);
      square.append(part);
    }
    square.append(element("span", "mapped-total", String(counts.reduce((sum, [, n]) => sum + n, 0))));
    return square;
  }

  // -- selection and keys -------------------------------------------------------------------

  function cellAt(row, col) {
    return cellsOf.get(row)?.[col] || null;
  }

  function selectedCell() {
    if (!selected || !data) return null;
    const row = data.tasks.findIndex((t) => t[0] === selected.task);
    const col = data.runs.findIndex((r) => r[0] === selected.run);
    return row < 0 || col < 0 ? null : cellAt(row, col);
  }

  function focusSelected(move) {
    if (current) {
      current.tabIndex = -1;
      current.classList.remove("selected");
    }
    current = selectedCell() || (rowsShown.length ? cellAt(rowsShown[0], 0) : null);
    if (!current) return;
    current.tabIndex = 0;
    if (selected) current.classList.add("selected");
    if (move) current.focus();
  }

  function select(td, move) {
    const row = Number(td.dataset.row);
    const col = Number(td.dataset.col);
    selected = { task: data.tasks[row][0], run: data.runs[col][0] };
    showRun(col);
    focusSelected(move);
  }

  function showRun(col) {
    label.textContent = runText(runOf(col));
  }

  table.addEventListener("click", (event) => {
    const td = event.target.closest("td.cell");
    if (td) {
      select(td, true);
      openDetails(selected);
      return;
    }
    const toggle = event.target.closest("button.group-toggle");
    if (!toggle) return;
    const group = toggle.dataset.group;
    if (open.has(group)) open.delete(group); else open.add(group);
    saveOpenGroups();
    draw();
    table.querySelector(`button.group-toggle[data-group="${CSS.escape(group)}"]`)?.focus();
  });

  table.addEventListener("mouseover", (event) => {
    const target = event.target.closest("td.cell, a.run-bar");
    if (target) showRun(Number(target.dataset.col ?? target.dataset.run));
  });

  table.addEventListener("keydown", (event) => {
    const td = event.target.closest("td.cell");
    if (!td) return;
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      openDetails(selected);
      return;
    }
    const moves = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    const move = moves[event.key];
    if (!move) return;
    event.preventDefault();
    const place = rowsShown.indexOf(Number(td.dataset.row)) + move[0];
    const col = Number(td.dataset.col) + move[1];
    if (place < 0 || place >= rowsShown.length || col < 0 || col >= data.runs.length) return;
    select(cellAt(rowsShown[place], col), true);
  });

  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !panel.hidden) {
      closeDetails();
      focusSelected(true);
    }
  });

  // -- details ------------------------------------------------------------------------------

  function closeDetails() {
    panel.hidden = true;
    panelFor = null;
  }

  async function openDetails(target) {
    if (!target) return;
    const row = data.tasks.findIndex((t) => t[0] === target.task);
    const col = data.runs.findIndex((r) => r[0] === target.run);
    if (row < 0 || col < 0) { closeDetails(); return; }
    panelFor = { ...target };
    panel.hidden = false;
    if (taskOf(row).kind === "group") {
      showGroup(row, col);
      return;
    }
    const url = new URL(root.dataset.cell, window.location.href);
    url.searchParams.set("task_id", panelFor.task);
    url.searchParams.set("run_id", panelFor.run);
    const wanted = panelFor;
    try {
      const reply = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (reply.redirected) { window.location.assign(reply.url); return; }
      const details = await reply.json();
      if (panelFor !== wanted) return;  // another cell was opened meanwhile
      if (!reply.ok) { showProblem(details.message || `HTTP ${reply.status}`); return; }
      showDetails(details);
    } catch (error) {
      showProblem(`the details could not be loaded (${error.message})`);
    }
  }

  function panelFrame(title) {
    const close = element("button", "secondary close-details", "Close");
    close.type = "button";
    close.setAttribute("aria-label", "Close details");
    close.addEventListener("click", () => { closeDetails(); focusSelected(true); });
    const heading = element("h2", "", title);
    heading.id = "grid-details-title";
    panel.setAttribute("aria-labelledby", heading.id);
    panel.replaceChildren(close, heading);
  }

  function showProblem(message) {
    panelFrame(`${panelFor.task} · ${panelFor.run}`);
    panel.append(element("p", "error-message", message));
  }

  function facts(pairs) {
    const list = element("dl", "facts");
    for (const [name, value] of pairs) list.append(element("dt", "", name), value instanceof Node ? value : element("dd", "", value));
    return list;
  }

  function badge(state) {
    const dd = element("dd", "details-state");
    dd.append(element("span", `state state-${state || "none"}`, `${GLYPHS[state || "none"] || ""} ${words(state)}`));
    return dd;
  }

  function link(href, text) {
    const a = element("a", "", text);
    a.href = href;
    return a;
  }

  function showDetails(details) {
    panelFinished = details.finished;
    panelFrame(`${details.task_id} · ${details.run_id}`);
    if (details.kind === "mapped") {
      panel.append(facts([
        ["State", badge(details.state)],
        ["Instances", String(details.count)],
        ["Summary", details.summary],
      ]));
    } else {
      panel.append(facts([
        ["State", badge(details.state)],
        ["Try", `${details.try_number} of ${details.max_tries}`],
        ["Operator", details.operator || "—"],
        ["Started", when(details.start_date)],
        ["Ended", when(details.end_date)],
        ["Duration", seconds(details.duration)],
      ]));
    }
    const links = element("p", "details-links");
    links.append(link(details.href, details.kind === "mapped" ? "All instances" : "Task instance page"), " · ", link(details.run_href, "Run page"));
    panel.append(links);
    if (details.log) {
      const head = element("h3", "", `Log of try ${details.log.try_number}${details.log.cut ? " (last lines)" : ""}`);
      const pre = element("pre", "log log-tail");
      pre.append(details.log.lines.length ? logFragment(details.log.lines.join("\n")) : "(empty)");
      panel.append(head, pre, link(details.log.href, "Whole log"));
    }
    if (details.actions.length) panel.append(actionButtons(details.actions));
  }

  function showGroup(row, col) {
    const group = taskOf(row);
    panelFrame(`group ${group.id} · ${data.runs[col][0]}`);
    const state = data.states[data.cells[row * data.runs.length + col]];
    const list = element("ul", "group-members");
    data.tasks.forEach((task, index) => {
      if (task[2] !== group.id) return;
      const code = data.cells[index * data.runs.length + col];
      list.append(element("li", "", `${task[0]}: ${code ? words(data.states[code]) : "not in this run"}`));
    });
    panel.append(facts([["State", badge(state === "missing" ? null : state)]]), list);
  }

  function actionButtons(actions) {
    const group = element("div", "action-row");
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", "Task actions");
    for (const action of actions) {
      const button = element("button", "", action.label);
      button.type = "button";
      button.addEventListener("click", () => act(action));
      group.append(button);
    }
    return group;
  }

  async function act(action) {
    if (!window.confirm(action.confirm)) return;
    const token = document.querySelector('meta[name="csrf-token"]')?.content || "";
    const form = new FormData();
    form.set("csrf_token", token);
    for (const [name, value] of Object.entries(action.fields)) form.set(name, value);
    const note = element("p", "details-note", `${action.label}…`);
    note.setAttribute("role", "status");
    panel.append(note);
    try {
      const reply = await fetch(action.url, { method: "POST", body: form, credentials: "same-origin", headers: { "X-CSRF-Token": token } });
      if (reply.redirected && new URL(reply.url).pathname.endsWith("/login")) { window.location.assign(reply.url); return; }
      note.textContent = reply.ok ? `${action.label}: done.` : `${action.label} was refused (HTTP ${reply.status}).`;
    } catch (error) {
      note.textContent = `${action.label} failed: ${error.message}`;
      return;
    }
    await load();
    if (panelFor) openDetails(panelFor);
  }

  // -- data ---------------------------------------------------------------------------------

  async function load() {
    clearTimeout(pollTimer);
    try {
      const reply = await fetch(root.dataset.grid, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (reply.redirected) { window.location.assign(reply.url); return; }  // signed out
      if (!reply.ok) throw new Error(`HTTP ${reply.status}`);
      const fresh = await reply.json();
      const before = panelFor ? panelCode() : null;
      if (!patch(fresh)) {
        data = fresh;
        draw();
      }
      if (panelFor && (before !== panelCode() || !panelFinished)) openDetails(panelFor);
      if (fresh.live) pollTimer = setTimeout(load, POLL_MS);
    } catch (error) {
      status.hidden = false;
      status.textContent = `The grid could not be loaded (${error.message}); trying again.`;
      pollTimer = setTimeout(load, POLL_MS * 2);
    }
  }

  // A refresh of the same tasks and runs replaces only the cells that changed, and the
  // run bars (a running run's grows): a redraw of 25,000 cells would block the page.
  function patch(fresh) {
    if (!data || JSON.stringify(fresh.tasks) !== JSON.stringify(data.tasks)) return false;
    if (fresh.runs.map((r) => r[0]).join("\n") !== data.runs.map((r) => r[0]).join("\n")) return false;
    const old = data;
    data = fresh;
    table.querySelector("thead").replaceWith(header());
    const width = data.runs.length;
    for (const index of rowsShown) {
      const cells = cellsOf.get(index);
      const before = JSON.stringify(old.mapped[String(index)] || null);
      const mappedChanged = before !== JSON.stringify(data.mapped[String(index)] || null);
      if (mappedChanged) cells[0]?.parentElement.firstElementChild.replaceWith(rowHeader(taskOf(index)));
      for (let col = 0; col < width; col += 1) {
        const flat = index * width + col;
        const same = old.cells[flat] === data.cells[flat] && old.tries[String(flat)] === data.tries[String(flat)];
        if (same && !mappedChanged) continue;
        const fresher = cell(index, col);
        if (cells[col] === current) {
          fresher.tabIndex = 0;
          fresher.classList.toggle("selected", Boolean(selected));
          const focused = document.activeElement === current;
          cells[col].replaceWith(fresher);
          current = fresher;
          if (focused) fresher.focus();
        } else {
          cells[col].replaceWith(fresher);
        }
        cells[col] = fresher;
      }
    }
    return true;
  }

  function panelCode() {
    if (!data || !panelFor) return null;
    const row = data.tasks.findIndex((t) => t[0] === panelFor.task);
    const col = data.runs.findIndex((r) => r[0] === panelFor.run);
    return row < 0 || col < 0 ? null : data.cells[row * data.runs.length + col];
  }

  status.hidden = false;
  load();
})();
