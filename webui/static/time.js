// Timestamps. The server writes each as <time datetime="2026-01-05T10:00:00Z">2026-01-05
// 10:00:00 UTC</time>. With the "local" preference (the header's selector, kept in
// localStorage), each reads in the browser's time zone instead, with the zone named; the
// UTC value stays in the tooltip. Parts drawn later (live refresh) are converted too.
(() => {
  const KEY = "loom.timeZone";
  const pad = (n) => String(n).padStart(2, "0");

  function choice() {
    try { return window.localStorage.getItem(KEY) === "local" ? "local" : "utc"; } catch (error) { return "utc"; }
  }

  function parse(iso) {
    // A value without a zone is UTC (SQLite keeps naive times), never the browser's zone.
    const zoned = /([zZ]|[+-]\d\d:?\d\d)$/.test(iso) ? iso : `${iso}Z`;
    const date = new Date(zoned);
    return Number.isNaN(date.getTime()) ? null : date;
  }

  function zoneName(date) {
    const part = new Intl.DateTimeFormat(undefined, { timeZoneName: "short" })
      .formatToParts(date).find((p) => p.type === "timeZoneName");
    return part ? part.value : Intl.DateTimeFormat().resolvedOptions().timeZone;
  }

  function utcText(date) {
    return `${date.getUTCFullYear()}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())} `
      + `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} UTC`;
  }

  function localText(date) {
    return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} `
      + `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())} ${zoneName(date)}`;
  }

  // The text of an ISO timestamp in the chosen zone ("—" for none).
  function text(iso) {
    if (!iso) return "—";
    const date = parse(iso);
    if (date === null) return iso;
    return choice() === "local" ? localText(date) : utcText(date);
  }

  function render(root) {
    root.querySelectorAll("time[datetime]").forEach((element) => {
      const date = parse(element.getAttribute("datetime"));
      if (date === null) return;
      element.textContent = choice() === "local" ? localText(date) : utcText(date);
      element.title = choice() === "local" ? utcText(date) : "";
    });
  }

  window.loomTime = { text };

  document.addEventListener("DOMContentLoaded", () => {
    const selector = document.getElementById("time-zone");
    if (selector) {
      selector.value = choice();
      selector.addEventListener("change", () => {
        try { window.localStorage.setItem(KEY, selector.value); } catch (error) { /* private mode */ }
        render(document);
      });
    }
    render(document);
    new MutationObserver((changes) => {
      changes.forEach((change) => change.addedNodes.forEach((node) => {
        if (node.nodeType !== Node.ELEMENT_NODE) return;
        if (node.matches("time[datetime]")) render(node.parentNode || node);
        else render(node);
      }));
    }).observe(document.body, { childList: true, subtree: true });
  });
})();
