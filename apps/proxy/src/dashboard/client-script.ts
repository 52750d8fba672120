/**
 * The dashboard's browser code, served as /dashboard/assets/app.js (the CSP allows no inline
 * script). Plain ES2020 for any current browser; it builds the DOM with textContent only, so no
 * agent id, reason or correlation id from the relay is ever parsed as HTML. The headless browser
 * test (apps/connector/test-e2e/dashboard.e2e.test.ts) is what checks it.
 */
export const DASHBOARD_SCRIPT = `"use strict";
(function () {
  var REFRESH_MS = 10000;
  var SVG = "http://www.w3.org/2000/svg";

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    for (var key in attrs || {}) {
      if (key === "text") node.textContent = attrs[key];
      else node.setAttribute(key, attrs[key]);
    }
    (children || []).forEach(function (child) { if (child) node.appendChild(child); });
    return node;
  }
  function svg(tag, attrs) {
    var node = document.createElementNS(SVG, tag);
    for (var key in attrs) {
      if (key === "text") node.textContent = attrs[key];
      else node.setAttribute(key, String(attrs[key]));
    }
    return node;
  }
  function ms(value) {
    if (value === null || value === undefined) return "–";
    if (value < 1000) return Math.round(value) + " ms";
    if (value < 120000) return (value / 1000).toFixed(1) + " s";
    return Math.round(value / 60000) + " min";
  }
  function ago(at, now) {
    if (at === null || at === undefined) return "–";
    return ms(Math.max(0, now - at)) + " ago";
  }
  function time(at) { return at ? new Date(at).toISOString().replace("T", " ").slice(0, 19) + "Z" : "–"; }
  function replace(id, node) {
    var target = document.getElementById(id);
    target.replaceChildren(node);
  }
  function fetchJson(path) {
    return fetch(path, { credentials: "same-origin", headers: { accept: "application/json" } }).then(function (res) {
      if (res.status === 401) { window.location.assign("/dashboard"); throw new Error("signed out"); }
      if (!res.ok) throw new Error("HTTP " + res.status);
      return res.json();
    });
  }
  function setState(text, bad) {
    var node = document.getElementById("state");
    node.textContent = text;
    node.className = bad ? "state bad" : "state";
  }
  function traceLink(agentId, messageId, label) {
    var href = "/dashboard/trace?agent=" + encodeURIComponent(agentId) + "&message=" + encodeURIComponent(messageId);
    return el("a", { href: href, class: "trace-link", text: label });
  }

  function cards(status) {
    var t = status.totals, l = status.latency;
    var items = [
      ["agents connected", status.agents.connected + " / " + status.agents.known],
      ["messages in (48 h)", String(t.messagesIn)],
      ["delivered", String(t.delivered)],
      ["failed", String(t.failed)],
      ["refused requests (48 h)", String(status.refused.total)],
      ["in / s (last hour)", status.rates.lastHourInPerSecond.toFixed(3)],
      ["ack p50 / p95 / p99", ms(l.ackMs.p50) + " / " + ms(l.ackMs.p95) + " / " + ms(l.ackMs.p99)],
      ["open breakers", String(status.openBreakersTotal)],
      ["shards answering", status.shards.answered + " / " + status.shards.total],
      ["revocation list", status.revocations.state],
    ];
    return el("div", { class: "cards" }, items.map(function (item) {
      return el("div", { class: "card" }, [el("div", { class: "label", text: item[0] }), el("div", { class: "value", text: item[1] })]);
    }));
  }

  function chart(title, points, series, format) {
    var W = 640, H = 180, L = 56, B = 22, T = 10;
    var max = 0;
    points.forEach(function (p) { series.forEach(function (s) { var v = s.pick(p); if (v !== null && v > max) max = v; }); });
    if (max === 0) max = 1;
    var root = svg("svg", { viewBox: "0 0 " + W + " " + H, class: "chart", role: "img", "aria-label": title });
    root.appendChild(svg("line", { x1: L, y1: H - B, x2: W, y2: H - B, class: "axis" }));
    root.appendChild(svg("line", { x1: L, y1: T, x2: L, y2: H - B, class: "axis" }));
    root.appendChild(svg("text", { x: L - 6, y: T + 8, "text-anchor": "end", class: "tick", text: format(max) }));
    root.appendChild(svg("text", { x: L - 6, y: H - B, "text-anchor": "end", class: "tick", text: format(0) }));
    root.appendChild(svg("text", { x: L, y: H - 4, class: "tick", text: "-48 h" }));
    root.appendChild(svg("text", { x: W, y: H - 4, "text-anchor": "end", class: "tick", text: "now" }));
    var step = (W - L) / Math.max(1, points.length - 1);
    series.forEach(function (s) {
      var coords = [];
      var dots = [];
      points.forEach(function (p, i) {
        var v = s.pick(p);
        if (v === null) return;
        var x = (L + i * step).toFixed(1), y = (H - B - (v / max) * (H - B - T)).toFixed(1);
        coords.push(x + "," + y);
        // An hour with data stands out even when it is the only one (a lone point draws no line).
        if (v > 0) dots.push(svg("circle", { cx: x, cy: y, r: 2.5, class: "dot " + s.cls }));
      });
      if (coords.length > 0) root.appendChild(svg("polyline", { points: coords.join(" "), class: "line " + s.cls }));
      dots.forEach(function (dot) { root.appendChild(dot); });
    });
    var legend = el("div", { class: "legend" }, series.map(function (s) { return el("span", { class: "key " + s.cls, text: s.name }); }));
    return el("figure", { class: "chart-box", "data-chart": title }, [el("figcaption", { text: title }), root, legend]);
  }

  // The connectors' own hook breakers, from their health frames: the worst one, "–" before any report.
  function hookState(connections) {
    var rank = { closed: 1, half_open: 2, open: 3 };
    var worst = null;
    connections.forEach(function (c) {
      var state = c.health && c.health.hook.breaker;
      if (state && (!worst || rank[state] > rank[worst])) worst = state;
    });
    return worst || "–";
  }

  function agentsTable(agents, total, now) {
    var head = ["agent", "connection", "roles", "critical", "normal", "low", "in flight", "oldest item", "breaker", "hook", "p50", "p95", "p99"];
    var rows = agents.map(function (a) {
      var active = a.connections.some(function (c) { return c.role === "active"; });
      var roles = a.connections.map(function (c) { return c.role; }).join(", ") || "–";
      var cells = [
        a.agentId,
        active ? "connected" : "offline",
        roles,
        String(a.queue.lanes.critical.items),
        String(a.queue.lanes.normal.items),
        String(a.queue.lanes.low.items),
        String(a.queue.inFlight),
        ago(a.queue.oldestQueuedAt, now),
        a.breaker.state,
        hookState(a.connections),
        ms(a.latency.ackMs.p50),
        ms(a.latency.ackMs.p95),
        ms(a.latency.ackMs.p99),
      ];
      return el("tr", { "data-agent": a.agentId, class: active ? "" : "offline" }, cells.map(function (c) { return el("td", { text: c }); }));
    });
    var caption = el("caption", { text: agents.length < total ? "first " + agents.length + " of " + total + " agents (largest queues first)" : total + " agents" });
    return el("table", { id: "agents-table" }, [caption, el("thead", {}, [el("tr", {}, head.map(function (h) { return el("th", { text: h }); }))]), el("tbody", {}, rows)]);
  }

  function failuresTable(failures) {
    if (failures.length === 0) return el("p", { class: "empty", text: "No failures in the last 48 hours." });
    var head = ["when", "recipient", "from", "status", "reason", "correlation id"];
    var rows = failures.map(function (f) {
      return el("tr", { "data-message": f.messageId }, [
        el("td", { text: time(f.at) }), el("td", { text: f.agentId }), el("td", { text: f.from }),
        el("td", { text: f.status }), el("td", { text: f.reason || "–" }),
        el("td", {}, [traceLink(f.agentId, f.messageId, f.correlationId)]),
      ]);
    });
    return el("table", { id: "failures-table" }, [el("thead", {}, [el("tr", {}, head.map(function (h) { return el("th", { text: h }); }))]), el("tbody", {}, rows)]);
  }

  function renderOverview(data) {
    var status = data.status, now = status.generatedAt, hourly = status.rates.hourly;
    replace("cards", cards(status));
    replace("charts", el("div", { class: "charts" }, [
      chart("Throughput per hour", hourly, [
        { name: "in", cls: "s1", pick: function (p) { return p.messagesIn; } },
        { name: "delivered", cls: "s2", pick: function (p) { return p.delivered; } },
        { name: "failed", cls: "s3", pick: function (p) { return p.failed; } },
      ], function (v) { return String(Math.round(v)); }),
      chart("Ack latency per hour", hourly, [
        { name: "p50", cls: "s1", pick: function (p) { return p.ackMs.p50; } },
        { name: "p95", cls: "s2", pick: function (p) { return p.ackMs.p95; } },
        { name: "p99", cls: "s3", pick: function (p) { return p.ackMs.p99; } },
      ], ms),
    ]));
    replace("agents", agentsTable(data.agents, data.agentsTotal, now));
    replace("failures", failuresTable(status.recentFailures));
    var problems = [];
    if (status.shards.failed.length) problems.push(status.shards.failed.length + " shard(s) missing");
    if (status.revocations.state === "stale") problems.push("revocation list cannot be refreshed");
    if (status.revocations.state === "expired") problems.push("revocation list too old: agent requests refused");
    setState("updated " + time(now) + (problems.length ? " — " + problems.join("; ") : ""), problems.length > 0);
  }

  function loadOverview() {
    fetchJson("/dashboard/api/overview").then(renderOverview).catch(function (err) { setState("refresh failed: " + err.message, true); });
  }

  function renderTrace(record) {
    var facts = [
      ["message", record.messageId], ["correlation id", record.correlationId], ["from", record.from], ["to", record.to],
      ["lane", record.priority], ["state", record.state + (record.terminal ? " (" + record.terminal + ")" : "")],
      ["attempts", String(record.attempts)], ["enqueued", time(record.enqueuedAt)], ["expires", time(record.expiresAt)],
      ["finished", time(record.finishedAt)],
    ];
    replace("facts", el("dl", { class: "facts" }, facts.flatMap(function (f) { return [el("dt", { text: f[0] }), el("dd", { text: f[1] })]; })));
    var previous = null;
    var rows = record.trace.map(function (hop) {
      var gap = previous === null ? "" : "+" + ms(hop.at - previous);
      previous = hop.at;
      return el("tr", { "data-hop": hop.hop }, [el("td", { text: time(hop.at) }), el("td", { text: gap }), el("td", { text: hop.hop }), el("td", { text: hop.detail ? JSON.stringify(hop.detail) : "" })]);
    });
    replace("hops", el("table", { id: "trace-table" }, [el("thead", {}, [el("tr", {}, ["at", "gap", "hop", "detail"].map(function (h) { return el("th", { text: h }); }))]), el("tbody", {}, rows)]));
    replace("receipts", record.receipts.length === 0 ? el("p", { class: "empty", text: "No receipts." }) : el("ul", {}, record.receipts.map(function (r) {
      return el("li", { text: time(r.at) + "  " + r.status + (r.reason ? " — " + r.reason : "") });
    })));
    setState("trace of " + record.correlationId, false);
  }

  function loadTrace() {
    var params = new URLSearchParams(window.location.search);
    var agent = params.get("agent") || "", message = params.get("message") || "";
    fetchJson("/dashboard/api/messages/" + encodeURIComponent(agent) + "/" + encodeURIComponent(message))
      .then(renderTrace)
      .catch(function (err) { setState("no trace: " + err.message, true); });
  }

  var page = document.body.getAttribute("data-page");
  if (page === "overview") { loadOverview(); setInterval(loadOverview, REFRESH_MS); }
  if (page === "trace") loadTrace();
})();
`;
