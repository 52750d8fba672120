/**
 * The dashboard's HTML shells. They carry no data (the script fetches it), so nothing from the
 * relay is ever interpolated into markup; the one dynamic string, the login error, is fixed text.
 */
export const DASHBOARD_STYLE = `
:root { color-scheme: light dark; --fg: #1d2330; --muted: #667085; --line: #d0d5dd; --bad: #b42318; --bg: #fff; --card: #f6f7f9; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e8ec; --muted: #98a2b3; --line: #344054; --bg: #10141c; --card: #1a202b; } }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; align-items: center; gap: 16px; padding: 10px 20px; border-bottom: 1px solid var(--line); }
header h1 { font-size: 16px; margin: 0; }
header nav { margin-left: auto; display: flex; gap: 12px; align-items: center; }
main { padding: 16px 20px; max-width: 1400px; }
.state { color: var(--muted); font-size: 12px; }
.state.bad { color: var(--bad); }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: 10px; }
.card { background: var(--card); border-radius: 6px; padding: 8px 12px; }
.card .label { color: var(--muted); font-size: 12px; }
.card .value { font-size: 18px; font-variant-numeric: tabular-nums; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 16px; margin: 16px 0; }
.chart-box { margin: 0; }
.chart { width: 100%; height: auto; }
.axis { stroke: var(--line); }
.tick { fill: var(--muted); font-size: 10px; }
.line { fill: none; stroke-width: 1.8; }
.dot { fill: currentColor; stroke: none; }
.s1 { stroke: #2e90fa; color: #2e90fa; } .s2 { stroke: #12b76a; color: #12b76a; } .s3 { stroke: #f04438; color: #f04438; }
.legend { display: flex; gap: 14px; font-size: 12px; }
.legend .key::before { content: "━ "; }
table { border-collapse: collapse; width: 100%; margin: 8px 0 20px; font-variant-numeric: tabular-nums; }
caption { text-align: left; color: var(--muted); padding-bottom: 4px; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; }
tr.offline td:nth-child(2) { color: var(--bad); }
.empty { color: var(--muted); }
.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; }
.facts dt { color: var(--muted); }
form.login { max-width: 360px; margin: 12vh auto; display: grid; gap: 10px; }
form.login input { padding: 8px; font: inherit; }
form.login .error { color: var(--bad); }
button { font: inherit; padding: 6px 12px; cursor: pointer; }
`;

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

const LOGOUT_FORM = `<form method="post" action="/dashboard/logout"><button type="submit">Sign out</button></form>`;

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
    `<header><h1>clawrelay</h1><span id="state" class="state">loading…</span><nav>${LOGOUT_FORM}</nav></header>
<main>
<section id="cards"></section>
<section id="charts"></section>
<h2>Agents</h2><section id="agents"></section>
<h2>Recent failures</h2><section id="failures"></section>
</main>
<script src="/dashboard/assets/app.js" defer></script>`,
  );
}

export function tracePage(): string {
  return shell(
    "Trace",
    "trace",
    `<header><h1><a href="/dashboard">clawrelay</a> · trace</h1><span id="state" class="state">loading…</span><nav>${LOGOUT_FORM}</nav></header>
<main>
<section id="facts"></section>
<h2>Hops</h2><section id="hops"></section>
<h2>Receipts</h2><section id="receipts"></section>
</main>
<script src="/dashboard/assets/app.js" defer></script>`,
  );
}
