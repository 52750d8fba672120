import type { ConnectorFrame } from "@clawrelay/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { parseConnectorConfig } from "../../src/daemon/config.js";
import { startConnector } from "../../src/daemon/daemon.js";
import { AckCoalescer } from "../../src/daemon/deliver-coalescer.js";
import type { FetchLike } from "../../src/daemon/hook-client.js";
import type { StopPoints } from "../../src/daemon/stop-points.js";
import { captureLogger, messageItem, receiptItem, tempDir, waitUntil } from "./helpers/common.js";
import { FakeRelay, type RelayConnection } from "./helpers/fake-relay.js";
import { testIdentity } from "./helpers/signer.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe("AckCoalescer's fold", () => {
  function folding(reported: ReadonlySet<string>) {
    const frames: string[][] = [];
    const folded: string[][] = [];
    let folds = 0;
    const scheduled: (() => void)[] = [];
    const coalescer = new AckCoalescer(
      (ids) => frames.push(ids),
      { schedule: (run) => scheduled.push(run) },
      {
        send: () => {
          folds++;
          return reported;
        },
        folded: (ids) => folded.push([...ids]),
      },
    );
    return { coalescer, frames, folded, scheduled, folds: () => folds };
  }

  it("leaves out of the ack the ids whose processed report the fold sent", () => {
    const f = folding(new Set(["a", "elsewhere"]));
    f.coalescer.add(["a", "b"]);
    f.scheduled[0]?.();
    expect(f.frames).toEqual([["b"]]);
    expect(f.folded).toEqual([["a"]]);
  });

  it("acks every id when no report waits, and sends no empty ack when all were folded", () => {
    const none = folding(new Set());
    none.coalescer.add(["a", "b"]);
    none.scheduled[0]?.();
    expect(none.frames).toEqual([["a", "b"]]);
    const all = folding(new Set(["a"]));
    all.coalescer.add(["a"]);
    all.scheduled[0]?.();
    expect(all.frames).toEqual([]);
  });

  it("uses the ids of the processed frame about to be written instead of folding again", () => {
    const f = folding(new Set(["b"]));
    f.coalescer.add(["a", "b"]);
    f.coalescer.flush(new Set(["a"]));
    expect(f.folds()).toBe(0);
    expect(f.frames).toEqual([["b"]]);
    // Nothing waits any more: no fold, no frame.
    f.coalescer.flush();
    expect(f.folds()).toBe(0);
    expect(f.frames).toEqual([["b"]]);
  });
});

type Event = { kind: "after_commit" | "acked"; ids: string[] };

/** A connector on a fake relay whose hook answers when `answer` says so (a fetch double, no network). */
async function connectorWithHook(answer: () => Promise<void>) {
  const dir = tempDir();
  cleanups.push(dir.remove);
  const relay = await new FakeRelay().start();
  cleanups.push(() => relay.close());
  const events: Event[] = [];
  const stopPoints: StopPoints = {
    reached: (point, items) => {
      if (point === "after_commit") events.push({ kind: "after_commit", ids: items.map((item) => item.id) });
    },
    ackSent: (ids) => events.push({ kind: "acked", ids: [...ids] }),
  };
  const hookCalls: string[] = [];
  const fetch: FetchLike = async (_url, init) => {
    hookCalls.push(JSON.parse(String(init.body)).item?.id ?? "");
    await answer();
    return new Response("{}", { status: 200, headers: { "content-type": "application/json" } });
  };
  const config = parseConnectorConfig({
    agentId: "bob-agent",
    identityDir: dir.path,
    dataDir: dir.path,
    relayUrls: [relay.url],
    hookUrl: "http://127.0.0.1:9/hook",
    listen: { host: "127.0.0.1", port: 0 },
    shutdownGraceMs: 100,
  });
  const identity = await testIdentity();
  const connector = await startConnector(config, {
    signer: identity.signer,
    logger: captureLogger().logger,
    fetch,
    stopPoints,
  });
  cleanups.push(() => connector.close());
  const connection = await relay.connections.waitFor(() => true, 0);
  await connection.frame("reconnect");
  connection.ack("active");
  return { connection, events, hookCalls };
}

/** The connector's frames on `connection` that name `id`, in the order the relay got them. */
function framesNaming(connection: RelayConnection, id: string): ConnectorFrame["type"][] {
  return connection.received.items.flatMap((entry) => {
    if (entry.kind !== "frame") return [];
    const { frame } = entry;
    if (frame.type === "ack") return frame.ids.includes(id) ? ["ack"] : [];
    if (frame.type === "processed") {
      const ids = "items" in frame ? frame.items.map((item) => item.id) : [frame.id];
      return ids.includes(id) ? ["processed"] : [];
    }
    return [];
  });
}

/** Where the first event acking `id` is, after the commit that stored it (-1 when there is none). */
function ackAfterCommit(events: Event[], id: string): number {
  const committed = events.findIndex((event) => event.kind === "after_commit" && event.ids.includes(id));
  const acked = events.findIndex((event) => event.kind === "acked" && event.ids.includes(id));
  expect(committed).toBeGreaterThanOrEqual(0);
  return acked > committed ? acked : -1;
}

describe("acks folded into processed reports (PROTOCOL.md §6: a processed frame acks its items)", () => {
  it("sends only the processed report for an item the hook finished before its ack went, and acks the rest", async () => {
    // The hook answers at once: its report waits before the ack's ~10 ms are up.
    const { connection, events } = await connectorWithHook(async () => undefined);
    const [message, receipt] = [messageItem(), receiptItem()];
    connection.send({ type: "deliver", items: [message, receipt] });
    await waitUntil(() => framesNaming(connection, receipt.id).length > 0, 5_000, "the receipt acked");
    await waitUntil(() => framesNaming(connection, message.id).length > 0, 5_000, "the message reported");
    await new Promise((resolve) => setTimeout(resolve, 100));
    // One frame for the message, its report; a receipt gets no report, so its ack still goes.
    expect(framesNaming(connection, message.id)).toEqual(["processed"]);
    expect(framesNaming(connection, receipt.id)).toEqual(["ack"]);
    expect(ackAfterCommit(events, message.id)).toBeGreaterThan(0);
    expect(ackAfterCommit(events, receipt.id)).toBeGreaterThan(0);
  });

  it("acks an item whose hook has not answered at the usual time, before its processed report", async () => {
    let release: () => void = () => undefined;
    const answered = new Promise<void>((resolve) => {
      release = resolve;
    });
    const { connection, events, hookCalls } = await connectorWithHook(() => answered);
    const message = messageItem();
    connection.send({ type: "deliver", items: [message] });
    const sentAt = Date.now();
    await connection.frame("ack", 0, 2_000);
    // The ack did not wait for the hook, which still has the item.
    expect(Date.now() - sentAt).toBeLessThan(1_000);
    expect(hookCalls).toEqual([message.id]);
    expect(framesNaming(connection, message.id)).toEqual(["ack"]);
    release();
    await connection.frame("processed", 0, 5_000);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(framesNaming(connection, message.id)).toEqual(["ack", "processed"]);
    expect(ackAfterCommit(events, message.id)).toBeGreaterThan(0);
  });
});
