import { RelayError } from "@clawrelay/protocol";
import type { RelayConfig } from "../../config.js";
import type { Sql } from "../../platform/sql.js";
import { type ItemRow, LIVE_STATES } from "../storage/items.js";

/** How long a 507 asks the sender to wait: queues drain at connector speed, so not too eagerly. */
const QUEUE_FULL_RETRY_SECONDS = 30;

export interface Usage {
  items: number;
  bytes: number;
}

const ZERO: Usage = { items: 0, bytes: 0 };

/** The states `account` counts in (Outcomes counts an item out when it leaves them). */
const LIVE = `state IN (${LIVE_STATES.map((state) => `'${state}'`).join(", ")})`;

/**
 * The live items summed as `account` sums them, read once a session: through a partial index on
 * the live states (SQLite picks items_expiry; a plan test checks it), so the
 * finished records are not read.
 * Every column is needed (kind sets receipts apart; lane, sender and bytes are what is summed);
 * an index covering them would be maintained by every send and ack for one read a session.
 */
export const LIVE_USAGE_SQL = `SELECT kind, lane, sender, COUNT(*) AS items, SUM(bytes) AS bytes FROM items
  WHERE ${LIVE} GROUP BY kind, lane, sender`;

interface Totals {
  lanes: Usage[];
  receipts: Usage;
  /** One entry per sender with messages live, so bounded by the queue's item cap. */
  senders: Map<string, Usage>;
}

/**
 * Queue accounting held in memory, so admission costs the same at 10 items as at 100,000 and
 * writes nothing (issue 18: keeping counter tables beside the rows cost a send and an ack two
 * statements each). Receipts are counted apart: they never count against the caps and are never
 * shed (PROTOCOL.md §5).
 *
 * The totals are the sum over the live items, computed on first use (the schema is migrated
 * after the owners are built) and kept by `account` after. They stay that sum because each
 * change of a row's liveness is accounted once, right after the row's write: the two inserts
 * (queue.ts, always 'queued') count in, Outcomes counts out when a row read as live is finished,
 * moves between 'queued' and 'inflight' (delivery/) change neither, and rows are deleted only
 * once finished (queue/records.ts). A restarted session so reads the same totals again.
 */
export class Capacity {
  private totals: Totals | null = null;

  constructor(
    private readonly sql: Sql,
    private readonly config: Pick<
      RelayConfig,
      "RELAY_QUEUE_MAX_ITEMS" | "RELAY_QUEUE_MAX_BYTES" | "RELAY_LOW_LANE_ADMIT_RATIO"
    >,
  ) {}

  private loaded(): Totals {
    if (this.totals) return this.totals;
    const totals: Totals = { lanes: [0, 1, 2].map(() => ({ ...ZERO })), receipts: { ...ZERO }, senders: new Map() };
    const rows = this.sql.all<{ kind: string; lane: number; sender: string; items: number; bytes: number }>(
      LIVE_USAGE_SQL,
    );
    for (const row of rows) {
      if (row.kind === "receipt") {
        add(totals.receipts, row.items, row.bytes);
        continue;
      }
      const lane = totals.lanes[row.lane];
      if (lane) add(lane, row.items, row.bytes);
      const own = totals.senders.get(row.sender) ?? { ...ZERO };
      add(own, row.items, row.bytes);
      totals.senders.set(row.sender, own);
    }
    this.totals = totals;
    return totals;
  }

  /** Messages queued or in flight, over all lanes (receipts not counted). */
  total(): Usage {
    const total = { ...ZERO };
    for (const lane of this.loaded().lanes) add(total, lane.items, lane.bytes);
    return total;
  }

  /** Every item queued or in flight: messages and receipts. */
  liveItems(): number {
    return this.total().items + this.loaded().receipts.items;
  }

  lane(rank: number): Usage {
    return { ...(this.loaded().lanes[rank] ?? ZERO) };
  }

  /** Receipts for this agent queued or in flight (counted apart from the caps). */
  receipts(): Usage {
    return { ...this.loaded().receipts };
  }

  sender(sender: string): Usage {
    return { ...(this.loaded().senders.get(sender) ?? ZERO) };
  }

  /**
   * Count an item in or out (delta +1 or −1), called right after the write that made its row
   * live or finished it. Before the first load that write is already in what the load reads,
   * so the load alone brings the totals up to date.
   */
  account(row: Pick<ItemRow, "kind" | "lane" | "sender" | "bytes">, delta: 1 | -1): void {
    if (!this.totals) {
      this.loaded();
      return;
    }
    const bytes = row.bytes * delta;
    if (row.kind === "receipt") {
      add(this.totals.receipts, delta, bytes);
      return;
    }
    const lane = this.totals.lanes[row.lane];
    if (lane) add(lane, delta, bytes);
    const senders = this.totals.senders;
    const own = senders.get(row.sender) ?? { ...ZERO };
    add(own, delta, bytes);
    // A sender with nothing live has no entry: the map stays bounded by the live items.
    if (own.items <= 0) senders.delete(row.sender);
    else senders.set(row.sender, own);
  }

  /**
   * Decide whether a message of `bytes` in lane `rank` from `sender` fits, and which queued items
   * must be shed to make room. Throws 507 queue_full when it cannot be admitted. Pure decision:
   * the caller sheds the returned victims and inserts, without awaiting in between.
   */
  plan(sender: string, rank: number, bytes: number, senderShare: number): ItemRow[] {
    const maxItems = this.config.RELAY_QUEUE_MAX_ITEMS;
    const maxBytes = this.config.RELAY_QUEUE_MAX_BYTES;
    const total = this.total();
    const full = () =>
      new RelayError("queue_full", "recipient queue is full", { retryAfterSeconds: QUEUE_FULL_RETRY_SECONDS });

    if (bytes > maxBytes) throw full();
    const ratio = this.config.RELAY_LOW_LANE_ADMIT_RATIO;
    if (rank === 2 && (total.items + 1 > ratio * maxItems || total.bytes + bytes > ratio * maxBytes)) {
      throw new RelayError("queue_full", "queue is too full for low-priority messages", {
        retryAfterSeconds: QUEUE_FULL_RETRY_SECONDS,
      });
    }

    const victims: ItemRow[] = [];
    let items = total.items;
    let used = total.bytes;
    // Lowest lane below the newcomer's first (low before normal); oldest queued first;
    // in-flight items are never shed.
    for (let lane = 2; lane > rank && (items + 1 > maxItems || used + bytes > maxBytes); lane--) {
      let after = 0;
      while (items + 1 > maxItems || used + bytes > maxBytes) {
        const victim = this.sql.one<ItemRow>(
          "SELECT * FROM items WHERE state = 'queued' AND lane = ? AND seq > ? ORDER BY seq LIMIT 1",
          lane,
          after,
        );
        if (!victim) break;
        victims.push(victim);
        after = victim.seq;
        items -= 1;
        used -= victim.bytes;
      }
    }
    if (items + 1 > maxItems || used + bytes > maxBytes) throw full();
    // The share is judged after the eviction this send causes (PROTOCOL.md §5, v1.1): a sender at
    // its share whose send sheds one of its own lower-lane items stays at its share. Refused here,
    // nothing is shed: the victims are only returned, never acted on, when the send is admitted.
    const own = this.sender(sender);
    let ownItems = own.items + 1;
    let ownBytes = own.bytes + bytes;
    for (const victim of victims) {
      if (victim.sender !== sender) continue;
      ownItems -= 1;
      ownBytes -= victim.bytes;
    }
    if (ownItems > senderShare * maxItems || ownBytes > senderShare * maxBytes) {
      throw new RelayError("queue_full", "sender holds its full share of this queue", {
        retryAfterSeconds: QUEUE_FULL_RETRY_SECONDS,
      });
    }
    return victims;
  }
}

function add(usage: Usage, items: number, bytes: number): void {
  usage.items += items;
  usage.bytes += bytes;
}
