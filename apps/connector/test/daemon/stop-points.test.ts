import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
// The chaos harness's implementation (plain JS, no types of its own).
// @ts-expect-error
import { parseStopSpec } from "../../../../chaos/stop-points.mjs";
import { parseConnectorConfig } from "../../src/daemon/config.js";
import { startConnector } from "../../src/daemon/daemon.js";
import type { StopPoint, StopPoints } from "../../src/daemon/stop-points.js";
import { captureLogger, messageItem, receiptItem, tempDir, waitUntil } from "./helpers/common.js";
import { FakeRelay } from "./helpers/fake-relay.js";
import { HookServer } from "./helpers/hook-server.js";
import { testIdentity } from "./helpers/signer.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

type Seen =
  | { kind: "reached"; point: StopPoint; ids: string[]; committed: number; inFlight: readonly string[] }
  | { kind: "ackSent"; ids: string[] };

describe("stop points injected through startConnector's deps", () => {
  it("are told before and after the commit, the ack frames written, and each item about to go to the hook", async () => {
    const dir = tempDir();
    cleanups.push(dir.remove);
    const relay = await new FakeRelay().start();
    cleanups.push(() => relay.close());
    const hook = await new HookServer(() => ({ status: 200 })).start();
    cleanups.push(() => hook.close());
    const config = parseConnectorConfig({
      agentId: "bob-agent",
      identityDir: dir.path,
      dataDir: dir.path,
      relayUrls: [relay.url],
      hookUrl: hook.url(),
      listen: { host: "127.0.0.1", port: 0 },
      shutdownGraceMs: 100,
    });
    const seen: Seen[] = [];
    let reader: Database.Database | null = null;
    const committed = (ids: string[]) => {
      if (!reader) return -1;
      const marks = ids.map(() => "?").join(", ");
      return (reader.prepare(`SELECT COUNT(*) AS n FROM seen WHERE id IN (${marks})`).get(...ids) as { n: number }).n;
    };
    const stopPoints: StopPoints = {
      reached: (point, items, hookCallsInFlight) => {
        const ids = items.map((item) => item.id);
        seen.push({ kind: "reached", point, ids, committed: committed(ids), inFlight: hookCallsInFlight() });
      },
      ackSent: (ids) => seen.push({ kind: "ackSent", ids: [...ids] }),
    };
    const identity = await testIdentity();
    const connector = await startConnector(config, {
      signer: identity.signer,
      logger: captureLogger().logger,
      stopPoints,
    });
    cleanups.push(() => connector.close());
    reader = new Database(connector.store.path, { readonly: true });
    cleanups.push(() => {
      reader?.close();
    });

    const connection = await relay.connections.waitFor(() => true, 0);
    await connection.frame("reconnect");
    connection.ack("active");
    const [message, receipt] = [messageItem(), receiptItem()];
    connection.send({ type: "deliver", items: [message, receipt] });
    await connection.frame("processed");
    await waitUntil(
      () => seen.filter((s) => s.kind === "reached" && s.point === "after_ack").length === 2,
      5_000,
      "both items at after_ack",
    );

    const both = [message.id, receipt.id];
    expect(seen.slice(0, 2)).toEqual([
      { kind: "reached", point: "before_commit", ids: both, committed: 0, inFlight: [] },
      { kind: "reached", point: "after_commit", ids: both, committed: 2, inFlight: [] },
    ]);
    // Acks wait a few ms to go in bulk, so an item may reach after_ack before its ack is written.
    expect(seen.flatMap((s) => (s.kind === "ackSent" ? s.ids : []))).toEqual(both);
    const afterAck = seen.flatMap((s) => (s.kind === "reached" && s.point === "after_ack" ? s.ids : []));
    expect(afterAck.sort()).toEqual([...both].sort());
  });
});

const HARNESS = resolve(import.meta.dirname, "../../../../chaos/stop-points.mjs");

describe("the chaos harness's stop points (chaos/stop-points.mjs)", () => {
  it("arm a known point, at the first occurrence unless told otherwise", () => {
    expect(parseStopSpec("before_commit")).toEqual({ point: "before_commit", occurrence: 1 });
    expect(parseStopSpec("after_commit:3")).toEqual({ point: "after_commit", occurrence: 3 });
    expect(parseStopSpec(" after_ack:12 ")).toEqual({ point: "after_ack", occurrence: 12 });
    for (const raw of [undefined, "", "after_ack:0", "after_ack:-1", "during_hook", "after_ack:x", "after_ack:1:2"]) {
      expect(parseStopSpec(raw)).toBeNull();
    }
  });

  it("stop the process at the n-th occurrence with a message in hand, naming the hook calls in flight", async () => {
    const stopped = await runStopping(
      "after_commit:2",
      `const inFlight = () => ["m-in-flight", "m-2"];
stops.reached("after_commit", [{ kind: "receipt", id: "r-1" }], inFlight); // no message: not counted
stops.reached("before_commit", [{ kind: "message", id: "m-1" }], inFlight); // another point
stops.reached("after_commit", [{ kind: "message", id: "m-1" }], inFlight); // occurrence 1
stops.reached("after_commit", [{ kind: "message", id: "m-2" }], inFlight); // occurrence 2: stop`,
    );
    expect(stopped).toMatchObject({ point: "after_commit", messageIds: ["m-2"], hookCallsInFlight: ["m-in-flight"] });
  });

  it("after_ack counts only messages whose ack frame went to the socket", async () => {
    const stopped = await runStopping(
      "after_ack",
      `stops.reached("after_ack", [{ kind: "message", id: "m-not-acked-yet" }], () => []);
stops.ackSent(["m-acked"]);
stops.reached("after_ack", [{ kind: "message", id: "m-acked" }], () => []);`,
    );
    expect(stopped).toMatchObject({ point: "after_ack", messageIds: ["m-acked"], hookCallsInFlight: [] });
  });
});

/**
 * Run `body` (with `stops` armed with `spec` in scope) in a real process; expect it to stop
 * itself (state T) after one chaos_stop line, kill it, and return that line.
 */
async function runStopping(spec: string, body: string): Promise<Record<string, unknown>> {
  const script = `import { armedStopPoints, parseStopSpec } from ${JSON.stringify(HARNESS)};
const stops = armedStopPoints(parseStopSpec(${JSON.stringify(spec)}));
${body}
process.stdout.write("not stopped\\n");`;
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "pipe"] });
  cleanups.push(() => {
    child.kill("SIGKILL");
  });
  const exited = new Promise<NodeJS.Signals | null>((done) => child.once("exit", (_code, signal) => done(signal)));
  let stdout = "";
  child.stdout.on("data", (chunk) => {
    stdout += String(chunk);
  });
  const line = await new Promise<string>((done) => {
    let stderr = "";
    child.stderr.on("data", (chunk) => {
      stderr += String(chunk);
      if (stderr.includes("\n")) done(stderr.split("\n")[0] ?? "");
    });
  });
  const parsed = JSON.parse(line) as Record<string, unknown>;
  expect(parsed).toMatchObject({ event: "chaos_stop", pid: child.pid });
  // Stopped, not running on: the harness kills it here.
  const state = () => {
    const stat = readFileSync(`/proc/${child.pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
  };
  const deadline = Date.now() + 5_000;
  while (state() !== "T" && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  expect(state()).toBe("T");
  child.kill("SIGKILL");
  expect(await exited).toBe("SIGKILL");
  expect(stdout).toBe("");
  return parsed;
}
