// The chaos harness's record of every message: what was sent (and answered 2xx by the sender's
// connector), what reached which agent webhook, and which receipts came back to the sender.
// The invariants of RELIABILITY.md are computed from this record only, never from product logs.

/** Receipt statuses that end a message (PROTOCOL.md §7); `processed` only arrives when asked for. */
export const TERMINAL_RECEIPTS = new Set(["processed", "failed", "expired", "shed", "dead_lettered"]);
const LANES = ["critical", "normal", "low"];

/**
 * @typedef {object} SentMessage
 * @property {number} n           harness-wide sequence number, also in the payload
 * @property {string} from        sender agent id
 * @property {string} to          recipient agent id
 * @property {string} priority
 * @property {string} fault       fault under test when it was sent
 * @property {number} cycle
 * @property {string} outboundId  from the sender connector's POST /v1/outbound answer
 * @property {string} correlationId
 * @property {number} sentAt
 */

/**
 * @typedef {object} Delivery
 * @property {string} hook        which webhook (one per connector process lineage)
 * @property {string} agent       the recipient agent the hook belongs to
 * @property {string} messageId
 * @property {string} correlationId
 * @property {string} priority
 * @property {number} seq
 * @property {number} at
 */

export class Ledger {
  /** @type {Map<string, SentMessage>} by correlationId */
  messages = new Map();
  /** Sends the sender's connector did not answer 2xx (not covered by any guarantee). */
  refused = 0;
  /** @type {Delivery[]} every message call to a webhook, in arrival order */
  deliveries = [];
  /** @type {Map<string, {status: string, receiptId: string, to: string}[]>} receipts by correlationId; `to` is the agent whose hook got it */
  receipts = new Map();
  /** Calls that carried something the harness did not send (must stay 0). */
  strangers = 0;
  /**
   * hook name → message ids whose webhook call was in flight when that hook's connector was
   * stopped and killed: the hook may have taken them unrecorded, so one repeat each is allowed.
   */
  killedMidCall = new Map();
  #n = 0;

  nextN() {
    return ++this.#n;
  }

  /** @param {SentMessage} message */
  sent(message) {
    this.messages.set(message.correlationId, message);
  }

  /**
   * Attach to a StandInHook: message calls are deliveries of `agent` through hook `name`;
   * receipt calls are receipts for messages `agent` sent.
   */
  watch(hook, name, agent) {
    hook.onCall = (call) => {
      const { body } = call;
      if (body.type === "clawrelay.message.v1" && body.item) {
        const { item } = body;
        if (typeof item.payload !== "object" || item.payload === null || !("chaos" in item.payload)) {
          this.strangers++;
          return;
        }
        this.deliveries.push({
          hook: name,
          agent,
          messageId: item.id,
          correlationId: item.correlationId ?? "",
          priority: item.priority ?? "normal",
          seq: item.seq ?? -1,
          at: call.at,
        });
      } else if (body.type === "clawrelay.receipt.v1" && body.receipt) {
        const { receipt } = body;
        const list = this.receipts.get(receipt.correlationId) ?? [];
        list.push({ status: String(receipt.status), receiptId: String(receipt.receiptId), to: agent });
        this.receipts.set(receipt.correlationId, list);
      }
    };
  }

  /** The connector behind hook `name` is being killed while these ids' webhook calls were under way. */
  excuseKilledMidCall(name, ids) {
    const excused = this.killedMidCall.get(name) ?? new Set();
    for (const id of ids) excused.add(id);
    this.killedMidCall.set(name, excused);
  }

  /** The first terminal receipt for a message that reached the receipt hook of its own sender. */
  terminalReceipt(message) {
    const list = this.receipts.get(message.correlationId) ?? [];
    return list.find((r) => r.to === message.from && TERMINAL_RECEIPTS.has(r.status)) ?? null;
  }

  /** Messages answered 2xx that reached no webhook of their recipient and have no terminal receipt. */
  lost() {
    const delivered = new Set(this.deliveries.map((d) => `${d.agent}\u0000${d.correlationId}`));
    return [...this.messages.values()].filter(
      (m) => !delivered.has(`${m.to}\u0000${m.correlationId}`) && this.terminalReceipt(m) === null,
    );
  }

  /**
   * The figures and violations of RELIABILITY.md, over everything recorded so far, in total and
   * by the fault under way when each message was sent (`byFault`).
   */
  check() {
    const faultOf = (correlationId) => this.messages.get(correlationId)?.fault ?? "unknown";
    const byFault = new Map();
    const figuresFor = (fault) => {
      let figures = byFault.get(fault);
      if (!figures) {
        figures = { messages: 0, delivered: 0, lost: 0, sameConnectorDuplicates: 0, killedMidCallRepeats: 0 };
        Object.assign(figures, { crossConnectorDuplicates: 0, terminalReceipts: 0, laneViolations: 0 });
        byFault.set(fault, figures);
      }
      return figures;
    };
    const perHook = new Map();
    for (const d of this.deliveries) {
      const list = perHook.get(d.hook) ?? [];
      list.push(d);
      perHook.set(d.hook, list);
    }
    const duplicateExamples = [];
    const laneExamples = [];
    /** agent → messageId → set of hooks that got it */
    const hooksByMessage = new Map();
    for (const [hook, list] of perHook) {
      const seen = new Set();
      const excused = new Set(this.killedMidCall.get(hook) ?? []);
      const lastSeq = Object.fromEntries(LANES.map((lane) => [lane, -1]));
      for (const d of list) {
        const figures = figuresFor(faultOf(d.correlationId));
        if (seen.has(d.messageId)) {
          if (excused.delete(d.messageId)) {
            figures.killedMidCallRepeats++;
            continue;
          }
          figures.sameConnectorDuplicates++;
          if (duplicateExamples.length < 5) duplicateExamples.push({ hook, messageId: d.messageId });
          continue;
        }
        seen.add(d.messageId);
        // Lane order: within a lane, each webhook sees first deliveries in the relay's arrival order.
        if (d.seq <= lastSeq[d.priority]) {
          figures.laneViolations++;
          if (laneExamples.length < 5)
            laneExamples.push({ hook, lane: d.priority, seq: d.seq, after: lastSeq[d.priority] });
        } else {
          lastSeq[d.priority] = d.seq;
        }
        const byMessage = hooksByMessage.get(d.agent) ?? new Map();
        const hooks = byMessage.get(d.messageId) ?? { correlationId: d.correlationId, names: new Set() };
        hooks.names.add(hook);
        byMessage.set(d.messageId, hooks);
        hooksByMessage.set(d.agent, byMessage);
      }
    }
    for (const byMessage of hooksByMessage.values()) {
      for (const { correlationId, names } of byMessage.values()) {
        if (names.size > 1) figuresFor(faultOf(correlationId)).crossConnectorDuplicates += names.size - 1;
      }
    }
    const delivered = new Set(this.deliveries.map((d) => `${d.agent}\u0000${d.correlationId}`));
    const lost = [];
    const terminalByStatus = {};
    for (const m of this.messages.values()) {
      const figures = figuresFor(m.fault);
      figures.messages++;
      const receipt = this.terminalReceipt(m);
      if (receipt) {
        figures.terminalReceipts++;
        terminalByStatus[receipt.status] = (terminalByStatus[receipt.status] ?? 0) + 1;
      }
      if (delivered.has(`${m.to}\u0000${m.correlationId}`)) figures.delivered++;
      else if (!receipt) {
        figures.lost++;
        lost.push(m);
      }
    }
    const total = { messages: 0, delivered: 0, lost: 0, sameConnectorDuplicates: 0, killedMidCallRepeats: 0 };
    Object.assign(total, { crossConnectorDuplicates: 0, terminalReceipts: 0, laneViolations: 0 });
    for (const figures of byFault.values()) for (const key of Object.keys(total)) total[key] += figures[key];
    return {
      ...total,
      byFault: Object.fromEntries(byFault),
      refused: this.refused,
      lostExamples: lost.slice(0, 5),
      duplicateExamples,
      laneExamples,
      terminalByStatus,
      strangers: this.strangers,
    };
  }
}
