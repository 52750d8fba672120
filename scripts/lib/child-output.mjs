// One process-wide ring of what the relays and connectors this process started have printed,
// each line tagged with its source. Nothing is echoed: a passing test, the demo or a chaos run
// stays quiet, and a failing test (apps/connector/test-e2e/support/output-on-failure.ts) or a
// failed start can show exactly the lines written since a mark.

const MAX_LINES = 20_000;
const lines = [];
/** Sequence number of `lines[0]`; grows as old lines drop out, so marks stay valid. */
let firstSeq = 0;

/** Record one line written by `source` (e.g. `relay :41234`, `connector alice`). */
export function recordChildLine(source, line) {
  lines.push(`[${source}] ${line}`);
  if (lines.length > MAX_LINES) {
    const drop = lines.length - MAX_LINES;
    lines.splice(0, drop);
    firstSeq += drop;
  }
}

/** A position to read from later: `childLinesSince(mark())` is everything recorded after it. */
export function mark() {
  return firstSeq + lines.length;
}

/** The lines recorded since `seq` (those still in the ring). */
export function childLinesSince(seq) {
  return lines.slice(Math.max(0, seq - firstSeq));
}

/**
 * A `data` handler that splits a child's chunks into lines and hands each complete one to
 * `onLine`; `flush()` passes on a last line that had no newline.
 */
export function lineSplitter(onLine) {
  let partial = "";
  const handler = (chunk) => {
    const parts = (partial + chunk.toString("utf8")).split("\n");
    partial = parts.pop() ?? "";
    for (const part of parts) if (part) onLine(part);
  };
  handler.flush = () => {
    if (partial) onLine(partial);
    partial = "";
  };
  return handler;
}
