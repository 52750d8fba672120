/**
 * The dashboard's HTML shells. They carry no data (the script fetches it), so nothing from the
 * relay is ever interpolated into markup; the one dynamic string, the login error, is fixed text.
 */
import { CHART_STYLE } from "./client-script.js";
import { cssVariables, DARK, LIGHT } from "./palette.js";

const PAGE_STYLE = `
:root { color-scheme: light dark; ${cssVariables(LIGHT)} }
@media (prefers-color-scheme: dark) { :root { ${cssVariables(DARK)} } }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
a { color: var(--link); }
header { display: flex; flex-wrap: wrap; align-items: center; gap: 8px 16px; padding: 10px 16px; border-bottom: 1px solid var(--line); }
header h1 { font-size: 16px; margin: 0; }
header h1 a { color: inherit; text-decoration: none; }
header nav { margin-left: auto; display: flex; flex-wrap: wrap; gap: 8px; align-items: center; }
form.search { display: flex; gap: 6px; flex-wrap: wrap; }
form.search input { font: inherit; padding: 5px 8px; min-width: 0; width: 16em; max-width: 100%; color: var(--fg); background: var(--bg); border: 1px solid var(--line); border-radius: 4px; }
form.search input#search-agent { width: 8em; }
main { padding: 12px 16px; max-width: 1400px; }
h2 { font-size: 15px; margin: 20px 0 8px; }
.state { color: var(--muted); font-size: 12px; }
.state.bad { color: var(--bad); }
.panel { border: 1px solid var(--line); border-radius: 6px; padding: 4px 12px 8px; margin-bottom: 12px; }
.panel.alert { border: 2px solid var(--bad); }
.panel h2 { margin-top: 8px; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 8px; }
.card { background: var(--card); border-radius: 6px; padding: 8px 12px; }
.card .label { color: var(--muted); font-size: 12px; }
.card .value { font-size: 18px; font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }
.toolbar { display: flex; align-items: center; gap: 12px; margin: 16px 0 4px; }
.range { display: inline-flex; border: 1px solid var(--line); border-radius: 6px; overflow: hidden; }
.range button { border: 0; border-radius: 0; background: var(--bg); color: var(--fg); min-width: 44px; min-height: 32px; }
.range button[aria-pressed="true"] { background: var(--fg); color: var(--bg); font-weight: 600; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 420px), 1fr)); gap: 16px; margin: 8px 0 16px; }
.chart-box { margin: 0; min-width: 0; }
.chart-box figcaption { font-weight: 600; margin-bottom: 4px; }
.plot { position: relative; width: 100%; min-height: 200px; }
.chart-tip { position: absolute; z-index: 10; pointer-events: none; background: var(--card); color: var(--fg); border: 1px solid var(--line); border-radius: 4px; padding: 4px 8px; font-size: 12px; white-space: nowrap; }
.chart-tip .tip-time { color: var(--muted); }
.legend { display: flex; flex-wrap: wrap; gap: 4px 14px; font-size: 12px; }
.key::before { content: "\\25A0  "; }
.key.s1::before { color: var(--s1); } .key.s2::before { color: var(--s2); } .key.s3::before { color: var(--s3); }
.note { color: var(--muted); font-size: 12px; margin: 4px 0; }
.table-wrap { overflow-x: auto; margin: 8px 0 16px; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
caption { text-align: left; color: var(--muted); padding-bottom: 4px; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; }
th { color: var(--muted); font-weight: 600; font-size: 12px; }
.badge { font-weight: 600; }
.badge.ok { color: var(--ok); } .badge.warn { color: var(--warn); } .badge.bad { color: var(--bad); } .badge.muted { color: var(--muted); }
.empty { color: var(--muted); }
.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; }
.facts dt { color: var(--muted); }
.facts dd { margin: 0; overflow-wrap: anywhere; }
form.login { max-width: 360px; margin: 12vh auto; padding: 0 16px; display: grid; gap: 10px; }
form.login input { padding: 8px; font: inherit; }
form.login .error { color: var(--bad); }
button { font: inherit; padding: 6px 12px; cursor: pointer; color: var(--fg); background: var(--card); border: 1px solid var(--line); border-radius: 4px; }
.uplot { font-family: inherit; }
@media (max-width: 600px) {
  header { padding: 8px 10px; }
  header nav { margin-left: 0; width: 100%; }
  form.search { flex: 1; }
  form.search input { flex: 1; width: auto; }
  form.search input#search-q { flex: 1 1 100%; }
  main { padding: 8px 10px; }
  .cards { grid-template-columns: repeat(2, minmax(0, 1fr)); }
  .card .value { font-size: 16px; }
  .facts { grid-template-columns: 1fr; }
  .facts dd { margin-bottom: 6px; }
}
`;

/** uPlot's stylesheet, then the dashboard's (which may override it). */
export const DASHBOARD_STYLE = `${CHART_STYLE}\n${PAGE_STYLE}`;

function shell(title: string, page: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>${title} · clawrelay</title>
<link rel="stylesheet" href="/dashboard/assets/app.css">
</head>
<body data-page="${page}">
${body}
</body>
</html>
`;
}

const SCRIPT = `<script src="/dashboard/assets/app.js" defer></script>`;

/** Every signed-in page's header: where you are, the search box, sign out. */
function header(where: string): string {
  return `<header><h1><a href="/dashboard">clawrelay</a>${where}</h1><span id="state" class="state" role="status">loading…</span>
<nav><form class="search" method="get" action="/dashboard/search" role="search">
<input id="search-q" name="q" type="search" placeholder="message or correlation id" aria-label="message id or correlation id" required>
<input id="search-agent" name="agent" type="search" placeholder="recipient (optional)" aria-label="recipient agent id (optional)">
<button type="submit">Search</button></form>
<form method="post" action="/dashboard/logout"><button type="submit">Sign out</button></form></nav></header>`;
}

export function loginPage(rejected: boolean): string {
  return shell(
    "Sign in",
    "login",
    `<form class="login" method="post" action="/dashboard/login" autocomplete="off">
<h1>clawrelay dashboard</h1>
<label for="token">Admin token</label>
<input id="token" name="token" type="password" required autofocus>
${rejected ? '<p class="error" role="alert">That token was not accepted.</p>' : ""}
<button type="submit">Sign in</button>
</form>`,
  );
}

export function overviewPage(): string {
  return shell(
    "Dashboard",
    "overview",
    `${header("")}
<main>
<div id="attention-slot"></div>
<section id="cards"></section>
<div class="toolbar"><h2>Traffic</h2><div id="range-slot"></div></div>
<section id="charts"></section>
<h2>Agents</h2><section id="agents"></section>
<h2>Recent failures</h2><section id="failures"></section>
</main>
${SCRIPT}`,
  );
}

export function agentPage(): string {
  return shell(
    "Agent",
    "agent",
    `${header(' · agent <span id="agent-name"></span>')}
<main>
<div id="attention-slot"></div>
<section id="facts"></section>
<div class="toolbar"><h2>Queue</h2><div id="range-slot"></div></div>
<section id="queue"></section>
<h2>Traffic</h2><section id="charts"></section>
<h2>Connections</h2><section id="connections"></section>
<h2>Recent failures</h2><section id="failures"></section>
</main>
${SCRIPT}`,
  );
}

export function searchPage(): string {
  return shell(
    "Search",
    "search",
    `${header(" · search")}\n<main>\n<section id="results"></section>\n</main>\n${SCRIPT}`,
  );
}

export function tracePage(): string {
  return shell(
    "Trace",
    "trace",
    `${header(" · trace")}
<main>
<section id="facts"></section>
<h2>Hops</h2><section id="hops"></section>
<h2>Receipts</h2><section id="receipts"></section>
</main>
${SCRIPT}`,
  );
}
