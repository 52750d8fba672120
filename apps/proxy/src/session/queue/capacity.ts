import { RelayError } from "@clawrelay/protocol";
import type { RelayConfig } from "../../config.js";
import type { Sql } from "../../platform/sql.js";
import type { ItemRow } from "../storage/items.js";

/** How long a 507 asks the sender to wait: queues drain at connector speed, so not too eagerly. */
const QUEUE_FULL_RETRY_SECONDS = 30;

export interface Usage {
  items: number;
  bytes: number;
}

const ZERO: Usage = { items: 0, bytes: 0 };

/**
 * Queue accounting from counters kept beside the rows (lane_usage, sender_usage), so admission
 * costs the same at 10 items as at 100,000. Receipts are counted apart: they never count
 * against the caps and are never shed (PROTOCOL.md §5).
 *
 * This is the only writer of those tables, so it keeps a copy of them in memory, read once (on
 * first use: the schema is migrated after the owners are built) and updated after each write it
 * makes: admission reads no counter from SQLite. The tables stay the truth a restarted session
 * reads again. The sender map holds one entry per sender with queued items (the table's rows),
 * so it is bounded by the queue's item cap.
 */
export class Capacity {
  private lanes: Usage[] | null = null;
  private receipts: Usage = { ...ZERO };
  private senders: Map<string, Usage> | null = null;

  constructor(
    private readonly sql: Sql,
    private readonly config: Pick<
      RelayConfig,
      "RELAY_QUEUE_MAX_ITEMS" | "RELAY_QUEUE_MAX_BYTES" | "RELAY_LOW_LANE_ADMIT_RATIO"
    >,
  ) {}

  private laneUsage(): Usage[] {
    if (this.lanes) return this.lanes;
    const lanes = [0, 1, 2].map(() => ({ ...ZERO }));
    const rows = this.sql.all<{ lane: number; items: number; bytes: number }>(
      "SELECT lane, items, bytes FROM lane_usage UNION ALL SELECT -1, items, bytes FROM receipt_usage WHERE id = 0",
    );
    for (const { lane, items, bytes } of rows) {
      const usage = lane === -1 ? this.receipts : lanes[lane];
      if (usage) Object.assign(usage, { items, bytes });
    }
    this.lanes = lanes;
    return lanes;
  }

  private senderUsage(): Map<string, Usage> {
    if (this.senders) return this.senders;
    const rows = this.sql.all<{ sender: string; items: number; bytes: number }>(
      "SELECT sender, items, bytes FROM sender_usage",
    );
    this.senders = new Map(rows.map((r) => [r.sender, { items: r.items, bytes: r.bytes }]));
    return this.senders;
  }

  /** Messages queued or in flight, over all lanes (receipts not counted). */
  total(): Usage {
    const total = { ...ZERO };
    for (const lane of this.laneUsage()) {
      total.items += lane.items;
      total.bytes += lane.bytes;
    }
    return total;
  }

  /** Every item queued or in flight: messages and receipts. */
  liveItems(): number {
    return this.total().items + this.receipts.items;
  }

  lane(rank: number): Usage {
    return { ...(this.laneUsage()[rank] ?? ZERO) };
  }

  sender(sender: string): Usage {
    return { ...(this.senderUsage().get(sender) ?? ZERO) };
  }

  /** Count an item in or out (delta +1 or −1): each table first, then its copy. */
  account(row: Pick<ItemRow, "kind" | "lane" | "sender" | "bytes">, delta: 1 | -1): void {
    const bytes = row.bytes * delta;
    const lanes = this.laneUsage();
    if (row.kind === "receipt") {
      this.sql.run("UPDATE receipt_usage SET items = items + ?, bytes = bytes + ? WHERE id = 0", delta, bytes);
      this.receipts.items += delta;
      this.receipts.bytes += bytes;
      return;
    }
    this.sql.run("UPDATE lane_usage SET items = items + ?, bytes = bytes + ? WHERE lane = ?", delta, bytes, row.lane);
    const lane = lanes[row.lane];
    if (lane) {
      lane.items += delta;
      lane.bytes += bytes;
    }
    const senders = this.senderUsage();
    const own = senders.get(row.sender) ?? { ...ZERO };
    const next = { items: own.items + delta, bytes: own.bytes + bytes };
    if (next.items <= 0) {
      // The row would be upserted only to be deleted (a sender with nothing queued has no row).
      this.sql.run("DELETE FROM sender_usage WHERE sender = ?", row.sender);
      senders.delete(row.sender);
      return;
    }
    this.sql.run(
      `INSERT INTO sender_usage (sender, items, bytes) VALUES (?, ?, ?)
       ON CONFLICT (sender) DO UPDATE SET items = items + excluded.items, bytes = bytes + excluded.bytes`,
      row.sender,
      delta,
      bytes,
    );
    senders.set(row.sender, next);
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
