// Loom's UI needs no build step: this file is all its JavaScript, and every page works
// without it (it adds confirmations, live refresh and log following).
"use strict";

document.addEventListener("submit", (event) => {
  const message = event.target.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});

// An element with data-live="URL" is replaced by a fresh copy of itself from URL every
// few seconds, until the copy no longer carries data-live (the run or task finished), or
// until something else replaced it (the graph's expand links): a detached element's loop
// would otherwise go on polling for nothing.
function refreshLive(element) {
  const url = element.dataset.live;
  const seconds = Number(element.dataset.liveSeconds || 2);
  setTimeout(async () => {
    if (!element.isConnected) return;
    try {
      const reply = await fetch(url, { headers: { "X-Loom-Fragment": "1" }, credentials: "same-origin" });
      if (reply.redirected) {  // signed out meanwhile: show the login page, not inside this one
        window.location.assign(reply.url);
        return;
      }
      if (!reply.ok) return;
      const holder = document.createElement("div");
      holder.innerHTML = await reply.text();
      const fresh = holder.firstElementChild;
      if (!fresh || !element.isConnected) return;
      element.replaceWith(fresh);
      dimLogTimes(fresh);
      fresh.querySelectorAll("pre[data-log]").forEach(followLog);
      if (fresh.dataset.live) refreshLive(fresh);
    } catch (error) {
      refreshLive(element);  // the server may be back on the next try
    }
  }, seconds * 1000);
}

// A log line starts with the time it was written, in UTC ("2026-12-05 07:42:11,123 "):
// shown dimmer than what the task wrote, so the eye goes to the text. The time stays in
// the text, so a copied log keeps it. The grid's panel (grid.js) shows logs this way too.
const LOG_TIME = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}(?= )/;

function logFragment(text) {
  const fragment = document.createDocumentFragment();
  for (const line of text.split(/(?<=\n)/)) {
    const time = LOG_TIME.exec(line);
    if (!time) {
      fragment.append(line);
      continue;
    }
    const stamp = document.createElement("span");
    stamp.className = "log-time";
    stamp.textContent = time[0];
    fragment.append(stamp, line.slice(time[0].length));
  }
  return fragment;
}

function dimLogTimes(root) {
  root.querySelectorAll("pre.log").forEach((pre) => pre.replaceChildren(logFragment(pre.textContent)));
}

// A <pre data-log="URL" data-offset="N"> keeps appending a running try's log.
function followLog(pre) {
  let offset = Number(pre.dataset.offset || 0);
  const poll = async () => {
    try {
      const url = new URL(pre.dataset.log, window.location.href); // may carry ?map_index=
      url.searchParams.set("offset", String(offset));
      const reply = await fetch(url, { credentials: "same-origin" });
      if (reply.ok) {
        const chunk = await reply.json();
        if (chunk.offset > offset) pre.append(`[... ${chunk.offset - offset} characters were cut ...]\n`);
        pre.append(logFragment(chunk.content));
        offset = chunk.next_offset;
        if (chunk.complete) {
          pre.removeAttribute("data-log");
          pre.closest("[data-log-state]")?.setAttribute("data-log-state", chunk.state);
          return;
        }
      }
    } catch (error) { /* try again */ }
    setTimeout(poll, 1000);
  };
  setTimeout(poll, 1000);
}

// The DAG list's "Latest runs" column follows new runs while the page is open: it polls
// the small JSON at data-latest-runs (a DAG id to its squares, oldest first) and redraws
// each listed DAG's squares; a hidden tab skips its turns.
function followLatestRuns(list) {
  const seconds = Number(list.dataset.liveSeconds || 3);
  const poll = async () => {
    if (!list.isConnected) return;
    if (!document.hidden) {
      try {
        const reply = await fetch(list.dataset.latestRuns, { credentials: "same-origin", headers: { Accept: "application/json" } });
        if (reply.redirected) {  // signed out meanwhile: the page itself goes to the login
          window.location.reload();
          return;
        }
        if (reply.ok) drawLatestRuns(list, await reply.json());
      } catch (error) { /* the server may be back on the next turn */ }
    }
    setTimeout(poll, seconds * 1000);
  };
  setTimeout(poll, seconds * 1000);
}

function drawLatestRuns(list, runs) {
  for (const [dagId, squares] of Object.entries(runs)) {
    const cell = list.querySelector(`tr[data-dag="${CSS.escape(dagId)}"] td.runs`);
    if (!cell) continue;
    const fresh = squares.map((run) => {
      const square = document.createElement("a");
      square.className = `sq state-${run.state}`;
      square.href = run.url;
      square.title = run.label;
      square.setAttribute("aria-label", run.label);
      square.textContent = run.glyph;
      return square;
    });
    if (fresh.length === 0) {
      const none = document.createElement("span");
      none.className = "muted";
      none.textContent = "no runs";
      fresh.push(none);
    }
    cell.replaceChildren(...fresh);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  dimLogTimes(document);
  document.querySelectorAll("[data-live]").forEach(refreshLive);
  document.querySelectorAll("[data-latest-runs]").forEach(followLatestRuns);
  document.querySelectorAll("pre[data-log]").forEach(followLog);
});

// Task groups in the graph: a link marked data-graph-link (expand or collapse a group)
// replaces the figure with the server's fresh drawing instead of reloading the page (the
// grid is grid.js).
document.addEventListener("click", async (event) => {
  const link = event.target.closest?.("a[data-graph-link]");
  if (!link || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
  const figure = link.closest(".graph-figure");
  if (!figure) return;
  event.preventDefault();
  // An SVG <a> has no string href (it is an SVGAnimatedString): resolve the attribute.
  const target = new URL(link.getAttribute("href") || link.getAttribute("xlink:href"), window.location.href).href;
  try {
    const reply = await fetch(target, { headers: { "X-Loom-Fragment": "1" }, credentials: "same-origin" });
    if (!reply.ok || reply.redirected) { window.location.assign(target); return; }
    const holder = document.createElement("div");
    holder.innerHTML = await reply.text();
    const fresh = holder.firstElementChild;
    if (!fresh) return;
    figure.replaceWith(fresh);
    window.history.replaceState(null, "", target);
    if (fresh.dataset.live) refreshLive(fresh);
  } catch (error) {
    window.location.assign(target);
  }
});

// A param's JSON field (textarea[data-json]) says at once whether it reads as JSON; the
// server checks it again on submit.
document.addEventListener("input", (event) => {
  const area = event.target;
  if (!(area instanceof HTMLTextAreaElement) || !area.hasAttribute("data-json")) return;
  const status = area.parentElement.querySelector(".json-status");
  try {
    if (area.value.trim()) JSON.parse(area.value);
    area.removeAttribute("aria-invalid");
    if (status) status.textContent = "JSON.";
  } catch (error) {
    area.setAttribute("aria-invalid", "true");
    if (status) status.textContent = `Not valid JSON: ${error.message}`;
  }
});
