import { writeFileSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { LocalTrace } from "../../src/daemon/trace-wire.js";
import { tempDir } from "../daemon/helpers/common.js";
import { CLI_TEST_TIMEOUT_MS, cliBuilt, runCli } from "./helpers/run-cli.js";

// `clawrelay trace` hands the admin token only to a relay the user named or configured: an origin
// planted in a connector's data (an outbound row's toRelay, a link URL) never sees it.
const ADMIN_TOKEN = "admin-token-that-must-not-leak-0123456789";
const API_TOKEN = "connector-api-token-0123456789";
const MSG = "01PLANTEDMSG00000000000001";
const OUT = "01PLANTEDOUT00000000000001";

let home: ReturnType<typeof tempDir>;
let planted: Server;
let plantedOrigin: string;
let connector: Server;
let connectorUrl: string;
let seen: IncomingHttpHeaders[] = [];
/** What the stand-in connector reports: where the message went, and its own link. */
let data: { toRelay: string | null; linkUrl: string | null } = { toRelay: null, linkUrl: null };

function localTrace(): LocalTrace {
  const now = Date.now();
  return {
    query: MSG,
    agentId: "alice-agent",
    connectorId: "c-alice",
    link: { state: "connected", relayUrl: data.linkUrl },
    hookBreaker: "closed",
    outbound: [
      {
        outboundId: OUT,
        to: "bob-agent",
        toRelay: data.toRelay,
        correlationId: "corr-planted",
        messageId: MSG,
        priority: "normal",
        state: "sent",
        attempts: 1,
        lastError: null,
        createdAt: now,
        updatedAt: now,
        nextAttemptAt: now,
        expiresAt: now + 60_000,
      },
    ],
    inbound: [],
    hops: [],
  };
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  cliBuilt();
  home = tempDir("clawrelay-trace-origins-");
  // Records every request's headers; answers like a relay that has no such message.
  planted = createServer((request, response) => {
    seen.push(request.headers);
    response.writeHead(404, { "content-type": "application/json" });
    response.end(JSON.stringify({ error: { code: "not_found", message: "no such message", correlationId: "x" } }));
  });
  plantedOrigin = await listen(planted);
  connector = createServer((_request, response) => {
    response.writeHead(200, { "content-type": "application/json" });
    response.end(JSON.stringify(localTrace()));
  });
  connectorUrl = await listen(connector);
}, CLI_TEST_TIMEOUT_MS);

afterAll(async () => {
  planted.closeAllConnections();
  connector.closeAllConnections();
  await Promise.all([
    new Promise((resolve) => planted.close(resolve)),
    new Promise((resolve) => connector.close(resolve)),
  ]);
  home.remove();
});

beforeEach(() => {
  seen = [];
  data = { toRelay: null, linkUrl: null };
});

async function trace(args: string[], env: Record<string, string> = {}) {
  const run = await runCli(["--home", home.path, "trace", MSG, "--json", "--timeout", "2000", ...args], {
    CLAWRELAY_ADMIN_TOKEN: ADMIN_TOKEN,
    CLAWRELAY_API_TOKEN: API_TOKEN,
    ...env,
  });
  expect(run.code, run.stderr).toBe(0);
  const report = JSON.parse(run.stdout) as { sources: { relay: { status: string; code?: string; url: string } } };
  return report.sources.relay;
}

const tokensSeen = () => seen.filter((headers) => headers.authorization === `Bearer ${ADMIN_TOKEN}`).length;

describe("clawrelay trace: where the admin token goes", { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it("a toRelay from the sender's outbox is not asked: skipped untrusted_origin, the token never arrives", async () => {
    data.toRelay = plantedOrigin;
    const relay = await trace(["--connector", connectorUrl]);
    expect(relay).toMatchObject({ status: "skipped", code: "untrusted_origin" });
    expect(seen).toHaveLength(0);
  });

  it("a connector's link URL is not asked either", async () => {
    data.linkUrl = plantedOrigin;
    const relay = await trace(["--connector", connectorUrl]);
    expect(relay).toMatchObject({ status: "skipped", code: "untrusted_origin" });
    expect(seen).toHaveLength(0);
  });

  it("the same origin named with --relay is asked with the token", async () => {
    data.toRelay = plantedOrigin;
    const relay = await trace(["--connector", connectorUrl, "--relay", plantedOrigin]);
    expect(relay).toMatchObject({ status: "error", code: "not_found" });
    expect(tokensSeen()).toBe(1);
  });

  it("a relay in CLAWRELAY_RELAY_URLS or in a --connector config's relayUrls counts as configured", async () => {
    data.linkUrl = plantedOrigin;
    expect(await trace(["--connector", connectorUrl], { CLAWRELAY_RELAY_URLS: `${plantedOrigin}/` })).toMatchObject({
      status: "error",
    });
    const configPath = join(home.path, "connector.json");
    const port = Number(new URL(connectorUrl).port);
    writeFileSync(
      configPath,
      JSON.stringify({
        agentId: "alice-agent",
        identityDir: home.path,
        relayUrls: [plantedOrigin],
        dataDir: join(home.path, "data"),
        listen: { host: "127.0.0.1", port },
        hookUrl: "http://127.0.0.1:9/hook",
        apiToken: API_TOKEN,
      }),
      { mode: 0o600 },
    );
    expect(await trace(["--connector", configPath])).toMatchObject({ status: "error" });
    expect(tokensSeen()).toBe(2);
  });

  it("never over plain http to a host that is not loopback, even when named", async () => {
    // Unroutable: had the CLI tried, the answer would be "unreachable", not "skipped".
    const relay = await trace(["--connector", connectorUrl, "--relay", "http://10.255.255.1:9"]);
    expect(relay).toMatchObject({ status: "skipped", code: "insecure_origin" });
  });
});
