import { describe, expect, it } from "vitest";
import { Store } from "../../src/daemon/store.js";
import { SCHEMA_VERSION } from "../../src/daemon/store-schema.js";
import { messageItem } from "./helpers/common.js";
import { TEST_STORE_OPTIONS, tempStores } from "./helpers/store.js";

const NOW = 1_700_000_000_000;
const DAY = 86_400_000;
const { open: openStore, atVersion, cleanups } = tempStores();

function reopen(dir: string): Store {
  const store = Store.open(dir, TEST_STORE_OPTIONS);
  cleanups.push(() => store.close());
  return store;
}

const outbound = (outboundId: string, extra: Record<string, string> = {}) => ({
  outboundId,
  to: "carol-agent",
  toRelay: null,
  body: '{"payload":1}',
  priority: "normal" as const,
  idempotencyKey: `ob-${outboundId}`,
  correlationId: `corr-${outboundId}`,
  expiresAt: NOW + 3_600_000,
  ...extra,
});

describe("store: conversations (migration 4)", () => {
  it("migrates a version-3 store: old outbox rows read with no conversation, received messages still pending or dead-lettered are remembered", () => {
    const pending = messageItem({ from: "alice-agent", conversationId: "conv-00000001" });
    const delivered = messageItem({ from: "dave-agent" });
    const dead = messageItem({ from: "erin-agent" });
    const dir = atVersion(3, (db) => {
      const inbox = db.prepare(
        `INSERT INTO inbox (id, kind, correlation_id, message_id, priority_rank, json, state, next_attempt_at, received_at)
         VALUES (?, 'message', ?, ?, 1, ?, ?, ?, ?)`,
      );
      inbox.run(pending.id, pending.correlationId, pending.id, JSON.stringify(pending), "pending", NOW, NOW);
      // Delivered rows drop their JSON: nothing to remember them by.
      inbox.run(delivered.id, delivered.correlationId, delivered.id, null, "delivered", NOW, NOW);
      db.prepare(
        `INSERT INTO dead_letters (id, kind, correlation_id, message_id, priority_rank, json, reason, attempts, received_at, dead_at)
         VALUES (?, 'message', ?, ?, 1, ?, 'retries exhausted', 3, ?, ?)`,
      ).run(dead.id, dead.correlationId, dead.id, JSON.stringify(dead), NOW, NOW);
      db.prepare(
        `INSERT INTO outbox (outbound_id, to_agent, body, priority_rank, idempotency_key, correlation_id, state,
           next_attempt_at, created_at, updated_at, expires_at)
         VALUES ('01OLD', 'carol-agent', '{"payload":1}', 1, 'ob-01OLD', 'corr-01OLD', 'queued', ?, ?, ?, ?)`,
      ).run(NOW, NOW, NOW, NOW + 3_600_000);
      db.exec(`INSERT INTO outbox_streams (to_agent, priority_rank, head_id) VALUES ('carol-agent', 1, '01OLD')`);
    });
    const store = reopen(dir);
    expect(store.outbox.get("01OLD")).toMatchObject({ conversationId: null, inReplyTo: null, sessionKey: null });
    expect(store.outbox.due(NOW, 10).map((record) => record.outboundId)).toEqual(["01OLD"]);
    expect(store.inbox.received.find(pending.id)).toMatchObject({
      from: "alice-agent",
      conversationId: "conv-00000001",
      correlationId: pending.correlationId,
    });
    expect(store.inbox.received.find(dead.id)).toMatchObject({ from: "erin-agent", conversationId: null });
    expect(store.inbox.received.find(delivered.id)).toBeUndefined();
    // New rows carry the new columns.
    store.outbox.enqueue(outbound("01NEW", { conversationId: "conv-00000002", sessionKey: "hook:s1" }), NOW);
    expect(store.outbox.get("01NEW")).toMatchObject({ conversationId: "conv-00000002", sessionKey: "hook:s1" });
    expect(SCHEMA_VERSION).toBe(4);
  });

  it("remembers a received message by id and by correlation id after delivery and after dead-lettering, until its dedup window ends", () => {
    const { store } = openStore();
    const first = messageItem({ correlationId: "corr-shared-01", from: "alice-agent", inReplyTo: "01MINE0000" });
    const second = messageItem({ correlationId: "corr-shared-01", from: "bob-agent", conversationId: "conv-0000000b" });
    store.storeInbound([first], NOW);
    store.storeInbound([second], NOW + 1);
    const [a, b] = store.inbox.due(NOW + 1, 10, new Set());
    if (!a || !b) throw new Error("expected two inbox entries");
    store.inbox.markDelivered(a, 1, NOW + 2);
    store.inbox.deadLetter(b, 3, "retries exhausted", "dead_lettered", NOW + 2);
    expect(store.inbox.received.find(first.id)).toMatchObject({ from: "alice-agent", inReplyTo: "01MINE0000" });
    // A correlation id shared by two messages names the latest.
    expect(store.inbox.received.find("corr-shared-01")).toMatchObject({ messageId: second.id, from: "bob-agent" });
    store.prune(NOW + 7 * DAY);
    expect(store.inbox.received.find(first.id)).toBeDefined();
    store.prune(NOW + 7 * DAY + 2);
    expect(store.inbox.received.find(first.id)).toBeUndefined();
    expect(store.inbox.received.find("corr-shared-01")).toBeUndefined();
  });

  it("finds the session key of an outbound message by relay message id, outbound id and correlation id", () => {
    const { store } = openStore();
    store.outbox.enqueue(outbound("01A", { sessionKey: "hook:clawrelay:alice:conv-1" }), NOW);
    store.outbox.enqueue(outbound("01B", { correlationId: "corr-01A" }), NOW);
    store.outbox.enqueue(outbound("01C"), NOW);
    const a = store.outbox.get("01A");
    if (!a) throw new Error("expected 01A");
    store.outbox.markSent(a, "msg-relay-a", 1, NOW);
    expect(store.sessionKeyForMessage("msg-relay-a")).toBe("hook:clawrelay:alice:conv-1");
    expect(store.sessionKeyForMessage("01A")).toBe("hook:clawrelay:alice:conv-1");
    // 01B shares the correlation id but has no key: the one that has a key answers.
    expect(store.sessionKeyForMessage("corr-01A")).toBe("hook:clawrelay:alice:conv-1");
    expect(store.sessionKeyForMessage("01C")).toBeUndefined();
    expect(store.sessionKeyForMessage("corr-01C")).toBeUndefined();
    expect(store.sessionKeyForMessage("nothing-like-it")).toBeUndefined();
  });
});
