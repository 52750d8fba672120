// Summaries of V8 .cpuprofile files (node --cpu-prof, or the inspector's Profiler domain):
// self and inclusive time per function, heaviest first, for BENCHMARKS.md.
import { readFileSync } from "node:fs";

function frameName(node) {
  const f = node.callFrame;
  const file = f.url ? f.url.replace(/^.*\/(node_modules\/(\.pnpm\/)?)?/, "").slice(-60) : "";
  return `${f.functionName || "(anonymous)"}${file ? ` ${file}:${f.lineNumber + 1}` : ""}`;
}

/** { totalMs, self: [{ name, ms, share }], inclusive: [...] } for one profile. */
export function summarizeProfile(profile, top = 15) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // Each sample counts one median interval. Summing timeDeltas instead would hand the long gaps
  // in which workerd's isolate sat idle (and was not sampled) to whichever frame came next.
  const deltas = [...(profile.timeDeltas ?? [])].sort((a, b) => a - b);
  const intervalMs = (deltas[Math.floor(deltas.length / 2)] ?? 1000) / 1000;
  const selfMs = new Map();
  for (const id of profile.samples) selfMs.set(id, (selfMs.get(id) ?? 0) + intervalMs);
  const totalMs = [...selfMs.values()].reduce((a, b) => a + b, 0);
  const self = new Map();
  const inclusive = new Map();
  for (const [id, ms] of selfMs) {
    const name = frameName(byId.get(id));
    self.set(name, (self.get(name) ?? 0) + ms);
    const seen = new Set();
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const n = frameName(byId.get(cur));
      if (seen.has(n)) continue;
      seen.add(n);
      inclusive.set(n, (inclusive.get(n) ?? 0) + ms);
    }
  }
  const rank = (map) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, ms]) => ({ name, ms, share: totalMs ? ms / totalMs : 0 }));
  return { totalMs, self: rank(self), inclusive: rank(inclusive) };
}

export function summarizeProfileFile(path, top) {
  return summarizeProfile(JSON.parse(readFileSync(path, "utf8")), top);
}

/** Markdown lines of a summary (idle and GC samples included, so shares add up to wall time sampled). */
export function profileMarkdown(title, summary, { inclusive = false } = {}) {
  const rows = inclusive ? summary.inclusive : summary.self;
  const lines = [
    `${title} — ${(summary.totalMs / 1000).toFixed(1)} s sampled, ${inclusive ? "inclusive" : "self"} time:`,
    "",
  ];
  lines.push("| function | ms | share |", "|---|---:|---:|");
  for (const row of rows)
    lines.push(`| \`${row.name.replaceAll("|", "\\|")}\` | ${row.ms.toFixed(0)} | ${(row.share * 100).toFixed(1)} % |`);
  return lines.join("\n");
}
