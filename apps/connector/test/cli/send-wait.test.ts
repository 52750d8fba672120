import { setTimeout as sleep } from "node:timers/promises";
import { Command } from "commander";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { registerSendCommand } from "../../src/cli/send-command.js";
import type { WaitDeps } from "../../src/cli/wait-receipt.js";
import { receiptItem } from "../daemon/helpers/common.js";
import { startTestConnector } from "../daemon/helpers/connector.js";
import type { FakeRelay, RelayConnection } from "../daemon/helpers/fake-relay.js";
import { standIns } from "../daemon/helpers/stand-ins.js";

const cleanups: (() => Promise<void> | void)[] = [];
let stdout: string[] = [];
let stderr: string[] = [];

beforeEach(() => {
  stdout = [];
  stderr = [];
  vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    stdout.push(String(chunk));
    return true;
  });
  vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
    stderr.push(String(chunk));
    return true;
  });
});
afterEach(async () => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Real time, polled often: a test waits for the connector, not for the CLI's pauses. */
const quickPolls: WaitDeps = { now: () => Date.now(), sleep: (ms) => sleep(ms), pollMs: 5, maxPollMs: 50 };

async function run(args: string[], deps: WaitDeps = quickPolls): Promise<void> {
  const program = new Command().exitOverride().option("--home <dir>");
  registerSendCommand(program, deps);
  await program.parseAsync(["node", "clawrelay", "send", ...args]);
}

/** A connector linked to a fake relay that accepts every send; the receipts come when a test says. */
async function linkedConnector() {
  const { dir, relay, hook } = await standIns(cleanups);
  const { connector } = await startTestConnector({ dataDir: dir, relayUrls: [relay.url], hookUrl: hook.url() });
  cleanups.push(() => connector.close());
  const connection = await relay.connections.waitFor();
  await connection.frame("reconnect");
  connection.ack("active");
  const target = ["--data-dir", dir, "--port", String(connector.port)];
  return { relay, connection, target };
}

/** The relay's message id for the send it took, once the connector has posted it. */
async function acceptedMessageId(relay: FakeRelay): Promise<string> {
  await relay.requests.waitFor((request) => request.method === "POST");
  return "msg-1"; // FakeRelay numbers the messages it accepts
}

function sendReceipt(connection: RelayConnection, receipt: Parameters<typeof receiptItem>[0]): void {
  connection.send({ type: "deliver", items: [receiptItem({ recipient: "carol-agent", at: Date.now(), ...receipt })] });
}

function json(): Record<string, unknown> {
  return JSON.parse(stdout.join("")) as Record<string, unknown>;
}

describe("send --wait", () => {
  it("delivered: asks for the receipt, waits for it, exits 0 with the final outbound state", async () => {
    const { relay, connection, target } = await linkedConnector();
    const sending = run(["carol-agent", '{"text":"hi"}', "--wait", "delivered", ...target]);
    const request = await relay.requests.waitFor((entry) => entry.method === "POST");
    expect(JSON.parse(request.body)).toMatchObject({ notify: ["delivered"] });
    sendReceipt(connection, { messageId: await acceptedMessageId(relay), status: "delivered" });
    await sending;

    expect(process.exitCode).toBeUndefined();
    expect(stderr).toEqual([]);
    expect(json()).toMatchObject({
      outboundId: expect.any(String),
      state: "queued",
      wait: { for: "delivered", outcome: "reached", status: "delivered" },
      outbound: { to: "carol-agent", state: "sent", messageId: "msg-1", receipts: [{ status: "delivered" }] },
    });
  });

  it("processed: a delivered receipt is not enough; --notify keeps what was asked", async () => {
    const { relay, connection, target } = await linkedConnector();
    const sending = run(["carol-agent", "1", "--wait", "processed", "--notify", "delayed", ...target]);
    const request = await relay.requests.waitFor((entry) => entry.method === "POST");
    expect(JSON.parse(request.body)).toMatchObject({ notify: ["delayed", "processed"] });
    const messageId = await acceptedMessageId(relay);
    const now = Date.now();
    sendReceipt(connection, { messageId, status: "delivered", at: now });
    sendReceipt(connection, { messageId, status: "processed", at: now + 1 });
    await sending;

    expect(process.exitCode).toBeUndefined();
    expect(json()).toMatchObject({
      wait: { for: "processed", outcome: "reached", status: "processed" },
      outbound: { receipts: [{ status: "delivered" }, { status: "processed" }] },
    });
  });

  it("a failure receipt from the relay: exit 1, one line naming its kind and reason", async () => {
    const { relay, connection, target } = await linkedConnector();
    const sending = run(["carol-agent", "1", "--wait", "processed", ...target]);
    const messageId = await acceptedMessageId(relay);
    sendReceipt(connection, { messageId, status: "dead_lettered", reason: "hook_rejected" });
    await sending;

    expect(process.exitCode).toBe(1);
    expect(json()).toMatchObject({
      wait: { outcome: "failure", status: "dead_lettered", reason: "hook_rejected" },
      outbound: { receipts: [{ status: "dead_lettered" }] },
    });
    expect(stderr).toHaveLength(1);
    expect(stderr[0]).toMatch(/^clawrelay: .*dead_lettered.*hook_rejected.*\n$/);
  });

  it("a recipient the relay does not know: the connector's local failed receipt ends the wait", async () => {
    const { relay, target } = await linkedConnector();
    // What the relay answers a send to an agent it never saw (relay-session.ts).
    relay.setHttp((request) => ({
      status: 404,
      body: {
        error: {
          code: "unknown_recipient",
          message: "recipient unknown to this relay",
          correlationId: String(request.headers["x-claw-correlation-id"]),
        },
      },
    }));
    await run(["nobody-agent", "1", "--wait", "delivered", ...target]);

    expect(process.exitCode).toBe(1);
    expect(json()).toMatchObject({
      wait: { outcome: "failure", status: "failed", reason: expect.stringContaining("unknown_recipient") },
      outbound: { state: "failed", receipts: [{ status: "failed" }] },
    });
    expect(stderr).toHaveLength(1);
    expect(stderr[0]).toMatch(/^clawrelay: .*failed.*unknown_recipient.*\n$/);
  });

  it("no receipt before --wait-timeout: exit 1 and one line, after bounded polling", async () => {
    const { target } = await linkedConnector();
    // Virtual time: the pauses move the clock, the polls still go to the real connector.
    let now = 0;
    let pauses = 0;
    const clock: WaitDeps = {
      now: () => now,
      sleep: async (ms) => {
        pauses++;
        now += ms;
      },
      pollMs: 50,
      maxPollMs: 1_000,
    };
    await run(["carol-agent", "1", "--wait", "delivered", "--wait-timeout", "30", ...target], clock);

    expect(process.exitCode).toBe(1);
    expect(now).toBe(30_000);
    expect(pauses).toBeLessThanOrEqual(40);
    expect(json()).toMatchObject({
      wait: { for: "delivered", outcome: "timeout" },
      outbound: { outboundId: expect.any(String), receipts: [] },
    });
    expect(stderr).toHaveLength(1);
    expect(stderr[0]).toMatch(/^clawrelay: .*delivered.*\n$/);
  });

  it("on a terminal: one readable line, no JSON; --json keeps JSON", async () => {
    const { relay, connection, target } = await linkedConnector();
    const wasTTY = process.stdout.isTTY;
    process.stdout.isTTY = true;
    cleanups.push(() => {
      process.stdout.isTTY = wasTTY;
    });
    vi.stubEnv("NO_COLOR", "1");
    cleanups.push(() => {
      vi.unstubAllEnvs();
    });
    const sending = run(["carol-agent", "1", "--wait", "delivered", ...target]);
    sendReceipt(connection, { messageId: await acceptedMessageId(relay), status: "delivered" });
    await sending;
    expect(process.exitCode).toBeUndefined();
    expect(stdout).toHaveLength(1);
    expect(stdout[0]).toMatch(/^sent \S+ to carol-agent, delivered \d+(\.\d)? (ms|s) later\n$/);

    stdout = [];
    await run(["carol-agent", "2", ...target]);
    expect(stdout).toHaveLength(1);
    expect(stdout[0]).toMatch(/^sent \S+ to carol-agent \(queued\)\n$/);

    stdout = [];
    await run(["carol-agent", "3", "--json", ...target]);
    expect(json()).toMatchObject({ outboundId: expect.any(String), state: "queued" });
  });

  it("--wait-timeout without --wait is a usage error", async () => {
    await expect(run(["carol-agent", "1", "--wait-timeout", "5", "--port", "1"])).rejects.toMatchObject({
      exitCode: 2,
    });
  });
});
