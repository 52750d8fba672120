// The counted pass of the cost model: each live shape again on the clawrelay side, with its
// connectors linked through a counting TCP proxy (bench/lib/frame-count.mjs) so that the
// WebSocket frames each way are counted, by type, without a counter in product code. A pass of
// its own, so that the proxy's hop never touches the live figures.

import { FrameCountingProxy } from "../lib/frame-count.mjs";
import { fetchOnceMore } from "../lib/http.mjs";
import { runLive } from "./live.mjs";

/** Frames still on their way after the last webhook call (acks, processed reports) settle within this. */
const SETTLE_QUIET_MS = 500;
const SETTLE_MAX_MS = 5_000;

/** Receipts queued at each of `agentIds`' sessions: { id: items }. */
async function receiptItems(side, agentIds) {
  const out = {};
  for (const id of agentIds) {
    const res = await fetchOnceMore(() => side.relay.admin("GET", `/v1/agents/${id}/status`));
    const json = await res.json();
    out[id] = json.queue?.receipts?.items ?? 0;
  }
  return out;
}

/** Waits until nothing more crosses the proxy for SETTLE_QUIET_MS (at most SETTLE_MAX_MS). */
async function settle(proxy) {
  const seen = () => proxy.counts.up.dataFrames + proxy.counts.down.dataFrames;
  const deadline = performance.now() + SETTLE_MAX_MS;
  let last = seen();
  while (performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, SETTLE_QUIET_MS));
    if (seen() === last) return;
    last = seen();
  }
}

/**
 * `shapes`: { key: { senderCount, agentCount } }. Returns { key: live result + frames (what
 * crossed the proxy after the warm-up), receipts (receipts queued at the senders' sessions over
 * the pass: one acceptReceipt RPC each), sessions (recipients, and the senders that got receipts) }.
 */
export async function runCost(side, { shapes, total }) {
  const proxy = await FrameCountingProxy.start(Number(new URL(side.relay.url).port));
  const out = {};
  try {
    for (const [key, shape] of Object.entries(shapes)) {
      const senderIds = Array.from({ length: shape.senderCount }, (_, i) => `bs-${i}`);
      let receiptsBefore = {};
      const r = await runLive(side, {
        key: `cost-${key}`,
        ...shape,
        total,
        receiverOptions: { relayUrl: proxy.url },
        onMeasureStart: async () => {
          // The warm-up's acks, reports and receipts first, so that none is counted in the pass.
          await settle(proxy);
          receiptsBefore = await receiptItems(side, senderIds);
          proxy.reset();
        },
        onMeasureEnd: () => settle(proxy),
      });
      const receiptsAfter = await receiptItems(side, senderIds);
      const gained = senderIds.map((id) => receiptsAfter[id] - (receiptsBefore[id] ?? 0));
      out[key] = {
        ...r,
        frames: structuredClone(proxy.counts),
        receipts: gained.reduce((a, b) => a + b, 0),
        // A sender's session does work in the pass only when receipts reach it.
        sessions: shape.agentCount + gained.filter((g) => g > 0).length,
      };
    }
  } finally {
    await proxy.close();
  }
  return out;
}
