import { errorBodySchema } from "@clawrelay/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { Store, type StoreOptions } from "../../src/daemon/store.js";
import { localTraceSchema } from "../../src/daemon/trace-wire.js";
import { eventually, messageItem, receiptItem, tempDir } from "./helpers/common.js";
import { postJson, startTestConnector } from "./helpers/connector.js";
import { deadPort } from "./helpers/fake-relay.js";

const OPTIONS: StoreOptions = { inboxMaxItems: 100, outboxMaxItems: 100, dedupWindowMs: 7 * 86_400_000 };
const NOW = 1_700_000_000_000;
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function openStore(): Store {
  const dir = tempDir();
  const store = Store.open(dir.path, OPTIONS);
  cleanups.push(dir.remove, () => store.close());
  return store;
}

function firstDue(store: Store, now: number) {
  const entry = store.inbox.due(now, 1, new Set())[0];
  if (!entry) throw new Error("expected a due inbox entry");
  return entry;
}

describe("trace store: local hops by correlation, message or outbound id", () => {
  it("the sender's side: outbox, each send attempt, the relay's answer and the receipt, under all three ids", () => {
    const store = openStore();
    const enqueued = store.outbox.enqueue(
      {
        outboundId: "01OUTBOUND0000000000000001",
        to: "bob-agent",
        toRelay: null,
        body: '{"payload":1}',
        priority: "normal",
        idempotencyKey: "ob-01OUTBOUND",
        correlationId: "corr-trace-0001",
        expiresAt: NOW + 60_000,
      },
      NOW,
    );
    if (!enqueued.ok) throw new Error("enqueue refused");
    store.outbox.markSending("01OUTBOUND0000000000000001", NOW + 1);
    store.outbox.reschedule(enqueued.record, 1, NOW + 2, "unavailable (503)", NOW + 2);
    store.outbox.markSending("01OUTBOUND0000000000000001", NOW + 3);
    store.outbox.markSent(enqueued.record, "01RELAYMSG0000000000000001", 2, NOW + 4);
    const receipt = receiptItem({
      messageId: "01RELAYMSG0000000000000001",
      correlationId: "corr-trace-0001",
      status: "processed",
    });
    store.storeInbound([receipt], NOW + 5);
    store.inbox.markDelivered(firstDue(store, NOW + 6), 1, NOW + 6);

    const expected = [
      ["sender", "outbox_queued"],
      ["sender", "relay_send"],
      ["sender", "relay_retry"],
      ["sender", "relay_send"],
      ["sender", "relay_accepted"],
      ["sender", "receipt_processed"],
      // The receipt reaching alice's hook is not the message reaching bob's agent.
      ["sender", "receipt_hook_delivered"],
    ];
    for (const id of ["01OUTBOUND0000000000000001", "01RELAYMSG0000000000000001", "corr-trace-0001"]) {
      const found = store.trace.lookup(id);
      expect(found?.hops.map((h) => [h.role, h.hop])).toEqual(expected);
      expect(found?.outbound).toEqual([
        expect.objectContaining({
          outboundId: "01OUTBOUND0000000000000001",
          messageId: "01RELAYMSG0000000000000001",
          to: "bob-agent",
          state: "sent",
          attempts: 2,
        }),
      ]);
      expect(found?.inbound).toEqual([]);
    }
    expect(store.trace.lookup("corr-unknown-0001")).toBeUndefined();
  });

  it("the recipient's side: stored, hook retried, dead-lettered, with the sender and the reason", () => {
    const store = openStore();
    const item = messageItem({ from: "alice-agent", correlationId: "corr-trace-0002" });
    store.storeInbound([item], NOW);
    store.inbox.reschedule(firstDue(store, NOW), 1, NOW + 1, "hook_status_500", NOW + 1);
    store.inbox.deadLetter(firstDue(store, NOW + 1), 2, "retries exhausted: hook_status_500", "dead_lettered", NOW + 2);

    for (const id of [item.id, "corr-trace-0002"]) {
      const found = store.trace.lookup(id);
      expect(found?.hops.map((h) => [h.role, h.hop, h.detail])).toEqual([
        ["recipient", "inbox_stored", null],
        ["recipient", "hook_retry", "hook_status_500"],
        ["recipient", "dead_lettered", "retries exhausted: hook_status_500"],
      ]);
      expect(found?.inbound).toEqual([
        {
          messageId: item.id,
          correlationId: "corr-trace-0002",
          from: "alice-agent",
          state: "dead_lettered",
          attempts: 2,
          receivedAt: NOW,
          finishedAt: NOW + 2,
          nextAttemptAt: null,
          lastError: "retries exhausted: hook_status_500",
        },
      ]);
    }
  });
});

describe("GET /v1/trace/{id}", () => {
  it("answers what the connector knows, who it is and how its links stand; 404 for an unknown id", async () => {
    const dir = tempDir();
    const started = await startTestConnector({
      dataDir: dir.path,
      relayUrls: [`http://127.0.0.1:${await deadPort()}`],
      hookUrl: `http://127.0.0.1:${await deadPort()}/hook`,
    });
    cleanups.push(dir.remove, () => started.connector.close());
    const sent = await started.api(
      "/v1/outbound",
      postJson({ to: "carol-agent", payload: { a: 1 }, correlationId: "corr-api-trace-1" }),
    );
    expect(sent.status).toBe(202);
    const { outboundId } = sent.body as { outboundId: string };

    // The relay is down: the send is tried and fails, and the trace shows both.
    const answer = await eventually(
      () => started.api(`/v1/trace/${outboundId}`),
      (a) => (a.body as { hops?: { hop: string }[] }).hops?.some((h) => h.hop === "relay_retry") === true,
      5_000,
      "a failed send attempt in the trace",
    );
    expect(answer.status).toBe(200);
    const trace = localTraceSchema.parse(answer.body);
    expect(trace).toMatchObject({
      query: outboundId,
      agentId: "bob-agent",
      connectorId: started.connector.connectorId,
      hookBreaker: "closed",
      outbound: [{ outboundId, correlationId: "corr-api-trace-1", to: "carol-agent", messageId: null }],
    });
    expect(trace.link.state).not.toBe("connected");
    expect(trace.hops.slice(0, 3).map((h) => h.hop)).toEqual(["outbox_queued", "relay_send", "relay_retry"]);

    const unknown = await started.api("/v1/trace/corr-nobody-knows");
    expect(unknown.status).toBe(404);
    expect(errorBodySchema.parse(unknown.body).error.code).toBe("not_found");
    const wrongMethod = await started.api(`/v1/trace/${outboundId}`, postJson({}));
    expect(wrongMethod.status).toBe(405);
  });
});
