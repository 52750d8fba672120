// Load generation shared by the scenarios: closed-loop senders and message bodies.

const PAD = "x".repeat(160);
const RETRIES_ON_503 = 5;

/** A send body of about 200 bytes; `t` (POST start on this process's clock) measures end-to-end latency. */
export function messageBody(i, withTime = true) {
  return JSON.stringify({ payload: { ...(withTime ? { t: performance.now() } : {}), i, text: PAD } });
}

/**
 * `total` POSTs from `senders` (each a closed loop: the next POST when the answer arrived);
 * sender s writes to `targets[s % targets.length]`. Resolves with { sent, accepted, errors }
 * where errors counts non-202 answers by status (a thrown network error counts as "network")
 * and `retried` the sends that were answered 503 once and then tried again.
 */
export async function sendMany(side, senders, targets, total, { withTime = true, firstIndex = 0 } = {}) {
  const errors = new Map();
  let next = 0;
  let retried = 0;
  await Promise.all(
    senders.map(async (sender, s) => {
      const to = targets[s % targets.length];
      for (;;) {
        const i = next++;
        if (i >= total) return;
        let status;
        for (let attempt = 1; ; attempt++) {
          try {
            status = await side.send(sender, to, messageBody(firstIndex + i, withTime));
          } catch (error) {
            status = error?.name === "TimeoutError" ? "timeout" : "network";
          }
          // 503 asks the client to come back (a well-behaved sender, like the connector's outbox,
          // does); under `wrangler dev` it also answers while the Worker reloads. Only a 503
          // that persists counts as an error.
          if (!String(status).startsWith("503") || attempt === RETRIES_ON_503) break;
          retried++;
          await new Promise((resolve) => setTimeout(resolve, 250 * attempt));
        }
        if (status !== 202) errors.set(status, (errors.get(status) ?? 0) + 1);
      }
    }),
  );
  const failed = [...errors.values()].reduce((a, b) => a + b, 0);
  return { sent: total, accepted: total - failed, errors: Object.fromEntries(errors), retried };
}

/**
 * One POST from `sender` to `agentId` every `everyMs` (after the answer) until `stop()`, which
 * resolves once the send under way has been answered. `accepted` counts 202s, `errors` the other
 * answers by status ("network" for a thrown error), both read after `stop()`.
 */
export function steadySender(side, sender, agentId, everyMs) {
  let sending = true;
  const out = { accepted: 0, errors: {} };
  const loop = (async () => {
    for (let i = 0; sending; i++) {
      const status = await side.send(sender, agentId, messageBody(i, false)).catch(() => "network");
      if (status === 202) out.accepted++;
      else out.errors[status] = (out.errors[status] ?? 0) + 1;
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })();
  out.stop = async () => {
    sending = false;
    await loop;
  };
  return out;
}

/** Problems a scenario found that make the run fail (CI's smoke check exits non-zero on any). */
export function problemsOf(label, { errors = {}, lost = 0 } = {}) {
  const out = [];
  for (const [status, count] of Object.entries(errors)) out.push(`${label}: ${count} sends answered ${status}`);
  if (lost > 0) out.push(`${label}: ${lost} accepted messages never reached the webhook`);
  return out;
}
