// The chaos harness's figures table: one row per fault and a total, as a Markdown table so that
// the figures of a long run can go into RELIABILITY.md as printed.

const COLUMNS = [
  ["fault", (row) => row.name],
  ["cycles", (row) => row.cycles],
  ["seconds", (row) => Math.round(row.seconds)],
  ["messages", (row) => row.messages],
  ["delivered", (row) => row.delivered],
  ["lost", (row) => row.lost],
  ["dup. same connector", (row) => row.sameConnectorDuplicates],
  ["repeats after a kill mid webhook call", (row) => row.killedMidCallRepeats],
  ["dup. cross connector", (row) => row.crossConnectorDuplicates],
  ["terminal receipts", (row) => row.terminalReceipts],
  ["lane order violations", (row) => row.laneViolations],
];

const EMPTY = {
  messages: 0,
  delivered: 0,
  lost: 0,
  sameConnectorDuplicates: 0,
  killedMidCallRepeats: 0,
  crossConnectorDuplicates: 0,
  terminalReceipts: 0,
  laneViolations: 0,
};

/**
 * @param {{ byFault: Record<string, typeof EMPTY> } & typeof EMPTY} figures  from Ledger.check()
 * @param {Record<string, { cycles: number, seconds: number }>} perFault  cycles run and time spent per fault
 */
export function figuresTable(figures, perFault) {
  const rows = Object.entries(perFault).map(([name, run]) => ({
    name,
    ...run,
    ...EMPTY,
    ...figures.byFault[name],
  }));
  // Messages sent while the world was being set up, if any, belong to no fault.
  const other = Object.entries(figures.byFault).filter(([name]) => !(name in perFault));
  for (const [name, counts] of other) rows.push({ name, cycles: 0, seconds: 0, ...counts });
  const total = { name: "**total**", cycles: 0, seconds: 0, ...EMPTY };
  for (const row of rows) for (const key of ["cycles", "seconds", ...Object.keys(EMPTY)]) total[key] += row[key];
  rows.push(total);
  const cells = [COLUMNS.map(([title]) => title), ...rows.map((row) => COLUMNS.map(([, read]) => String(read(row))))];
  const widths = COLUMNS.map((_, i) => Math.max(...cells.map((line) => line[i].length)));
  const line = (values) => `| ${values.map((value, i) => value.padEnd(widths[i])).join(" | ")} |`;
  const [header, ...body] = cells;
  return [line(header), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...body.map(line)].join("\n");
}
