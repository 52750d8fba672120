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

/**
 * Queue accounting from counters kept beside the rows (lane_usage, sender_usage), so admission
 * costs the same at 10 items as at 100,000. Receipts are counted apart: they never count
 * against the caps and are never shed (PROTOCOL.md §5).
 */
export class Capacity {
  constructor(
    private readonly sql: Sql,
    private readonly config: Pick<
      RelayConfig,
      "RELAY_QUEUE_MAX_ITEMS" | "RELAY_QUEUE_MAX_BYTES" | "RELAY_LOW_LANE_ADMIT_RATIO"
    >,
  ) {}

  total(): Usage {
    return (
      this.sql.one<{ items: number; bytes: number }>(
        "SELECT SUM(items) AS items, SUM(bytes) AS bytes FROM lane_usage",
      ) ?? {
        items: 0,
        bytes: 0,
      }
    );
  }

  lane(rank: number): Usage {
    return (
      this.sql.one<{ items: number; bytes: number }>("SELECT items, bytes FROM lane_usage WHERE lane = ?", rank) ?? {
        items: 0,
        bytes: 0,
      }
    );
  }

  sender(sender: string): Usage {
    return (
      this.sql.one<{ items: number; bytes: number }>(
        "SELECT items, bytes FROM sender_usage WHERE sender = ?",
        sender,
      ) ?? {
        items: 0,
        bytes: 0,
      }
    );
  }

  /** Count an item in or out (delta +1 or −1). */
  account(row: Pick<ItemRow, "kind" | "lane" | "sender" | "bytes">, delta: 1 | -1): void {
    const bytes = row.bytes * delta;
    if (row.kind === "receipt") {
      this.sql.run("UPDATE receipt_usage SET items = items + ?, bytes = bytes + ? WHERE id = 0", delta, bytes);
      return;
    }
    this.sql.run("UPDATE lane_usage SET items = items + ?, bytes = bytes + ? WHERE lane = ?", delta, bytes, row.lane);
    this.sql.run(
      `INSERT INTO sender_usage (sender, items, bytes) VALUES (?, ?, ?)
       ON CONFLICT (sender) DO UPDATE SET items = items + excluded.items, bytes = bytes + excluded.bytes`,
      row.sender,
      delta,
      bytes,
    );
    if (delta < 0) this.sql.run("DELETE FROM sender_usage WHERE sender = ? AND items <= 0", row.sender);
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
