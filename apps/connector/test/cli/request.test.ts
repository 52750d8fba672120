import { readFileSync, writeFileSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { HEADERS, SIGNATURE_VERSION } from "@clawrelay/protocol";
import {
  canonicalString,
  contentDigest,
  issueIdentityToken,
  parsePrivateJwk,
  tokenHash,
  verifyCanonical,
} from "@clawrelay/signing";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { tempDir } from "../daemon/helpers/common.js";
import { deadPort } from "../daemon/helpers/fake-relay.js";
import { CLI_TEST_TIMEOUT_MS, cliBuilt, expectCleanFailure, runCli } from "./helpers/run-cli.js";

// `clawrelay request` against a stand-in relay (node:http on port 0) that checks what a real
// relay checks: the digest from the bytes received, then the signature over the canonical string.
interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

let home: ReturnType<typeof tempDir>;
let server: Server;
let origin: string;
let received: Received[] = [];
let answer: { status: number; body: string } = { status: 200, body: '{"ok":true}' };

const cli = (...args: string[]) => runCli(["--home", home.path, ...args]);
const agentFile = (name: string) => join(home.path, "agents", "alice-agent", name);
const header = (headers: IncomingHttpHeaders, name: string) => {
  const value = headers[name];
  return typeof value === "string" ? value : "";
};

/** What the relay does (PROTOCOL.md §3): recompute digest and canonical string, verify with the token's key. */
async function verifyLikeARelay(request: Received): Promise<{ canonical: string; valid: boolean; digestOk: boolean }> {
  const token = header(request.headers, HEADERS.authorization).replace(/^Claw /, "");
  const sentDigest = header(request.headers, HEADERS.contentDigest);
  const digestOk = request.body.length === 0 ? sentDigest === "" : sentDigest === (await contentDigest(request.body));
  const canonical = canonicalString({
    method: request.method,
    host: header(request.headers, "host"),
    pathAndQuery: request.url,
    timestamp: header(request.headers, HEADERS.timestamp),
    nonce: header(request.headers, HEADERS.nonce),
    contentDigest: sentDigest,
    tokenHash: await tokenHash(token),
    correlationId: header(request.headers, HEADERS.correlationId),
    idempotencyKey: header(request.headers, HEADERS.idempotencyKey),
  });
  const publicJwk = JSON.parse(readFileSync(agentFile("agent.public.jwk.json"), "utf8"));
  const valid = await verifyCanonical(publicJwk, canonical, header(request.headers, HEADERS.signature));
  return { canonical, valid, digestOk };
}

beforeAll(async () => {
  cliBuilt();
  home = tempDir("clawrelay-cli-request-");
  expect((await cli("registry", "init", "--iss", "test-registry")).code).toBe(0);
  expect((await cli("agent", "create", "alice-agent", "--relay", "https://relay.example.com")).code).toBe(0);
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      received.push({
        method: request.method ?? "",
        url: request.url ?? "",
        headers: request.headers,
        body: Buffer.concat(chunks),
      });
      response.writeHead(answer.status, { "content-type": "application/json" }).end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, CLI_TEST_TIMEOUT_MS);
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  home.remove();
});
beforeEach(() => {
  received = [];
  answer = { status: 200, body: '{"ok":true}' };
});

describe("clawrelay request: signing", { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it("signs a POST with a body: digest of the exact bytes, canonical string over host, path and query, ids", async () => {
    const body = '{"payload":{"text":"héllo"},"priority":"critical"}';
    const before = Math.floor(Date.now() / 1000);
    const run = await cli(
      "request",
      "post",
      `${origin}/v1/agents/bob-agent/messages?dry=1&x=%20y`,
      "--agent",
      "alice-agent",
      "--data",
      body,
      "--correlation-id",
      "corr-cli-request-01",
      "--idempotency-key",
      "idem-cli-request-01",
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toBe("HTTP 200\n");
    expect(JSON.parse(run.stdout)).toEqual({ ok: true });

    expect(received).toHaveLength(1);
    const [request] = received as [Received];
    expect(request.method).toBe("POST");
    expect(request.url).toBe("/v1/agents/bob-agent/messages?dry=1&x=%20y");
    expect(request.body.toString("utf8")).toBe(body);
    expect(request.headers["content-type"]).toBe("application/json");
    const token = readFileSync(agentFile("identity.jwt"), "utf8").trim();
    expect(request.headers.authorization).toBe(`Claw ${token}`);
    expect(header(request.headers, HEADERS.nonce)).toMatch(/^[A-Za-z0-9_-]{16,64}$/);
    const timestamp = Number(header(request.headers, HEADERS.timestamp));
    expect(timestamp).toBeGreaterThanOrEqual(before);
    expect(timestamp).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
    expect(header(request.headers, HEADERS.correlationId)).toBe("corr-cli-request-01");
    expect(header(request.headers, HEADERS.idempotencyKey)).toBe("idem-cli-request-01");

    const checked = await verifyLikeARelay(request);
    expect(checked).toMatchObject({ valid: true, digestOk: true });
    expect(checked.canonical.split("\n")).toHaveLength(10);
    expect(checked.canonical.split("\n").slice(0, 4)).toEqual([
      SIGNATURE_VERSION,
      "POST",
      new URL(origin).host,
      "/v1/agents/bob-agent/messages?dry=1&x=%20y",
    ]);
    // The same check fails for a request that was changed on the way.
    const tampered = await verifyLikeARelay({ ...request, url: "/v1/agents/mallory/messages?dry=1&x=%20y" });
    expect(tampered.valid).toBe(false);
    const otherBody = await verifyLikeARelay({ ...request, body: Buffer.from('{"payload":2}') });
    expect(otherBody.digestOk).toBe(false);
  });

  it("signs a GET without a body: no Content-Digest, empty digest line; a fresh nonce each time", async () => {
    for (let i = 0; i < 2; i++) {
      const run = await cli("request", "GET", `${origin}/v1/agents/alice-agent/status`, "--agent", "alice-agent");
      expect(run.code, run.stderr).toBe(0);
    }
    expect(received).toHaveLength(2);
    for (const request of received) {
      expect(request.headers[HEADERS.contentDigest]).toBeUndefined();
      const checked = await verifyLikeARelay(request);
      expect(checked.valid).toBe(true);
      expect(checked.canonical.split("\n")[6]).toBe("");
    }
    expect(header(received[0]!.headers, HEADERS.nonce)).not.toBe(header(received[1]!.headers, HEADERS.nonce));
  });

  it("an agent directory works as well as an id; a relay error is shown and exits 1", async () => {
    answer = {
      status: 401,
      body: '{"error":{"code":"invalid_signature","message":"bad signature","correlationId":"c-1"}}',
    };
    const run = await cli("request", "GET", `${origin}/v1/status`, "--agent", join(home.path, "agents", "alice-agent"));
    expect(run.code).toBe(1);
    expect(run.stderr).toBe("HTTP 401\n");
    expect(JSON.parse(run.stdout).error.code).toBe("invalid_signature");
    expect((await verifyLikeARelay(received[0]!)).valid).toBe(true);
  });
});

describe("clawrelay request: refusals, without stack traces or secrets", { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it("refuses an expired token before sending anything (exit 2), naming the command that renews it", async () => {
    const tokenPath = agentFile("identity.jwt");
    const original = readFileSync(tokenPath, "utf8");
    const registryKey = parsePrivateJwk(
      JSON.parse(readFileSync(join(home.path, "registry", "registry.private.jwk.json"), "utf8")),
    );
    const publicJwk = JSON.parse(readFileSync(agentFile("agent.public.jwk.json"), "utf8"));
    const expired = await issueIdentityToken({
      registryPrivateJwk: registryKey,
      iss: "test-registry",
      sub: "alice-agent",
      aud: "clawrelay",
      relay: "https://relay.example.com",
      agentPublicJwk: publicJwk,
      lifetimeSeconds: 3600,
      now: Math.floor(Date.now() / 1000) - 7200,
    });
    writeFileSync(tokenPath, `${expired}\n`, { mode: 0o600 });
    try {
      const run = await cli("request", "GET", `${origin}/v1/status`, "--agent", "alice-agent");
      expect(run.code).toBe(2);
      expect(run.stderr).toContain("clawrelay agent token alice-agent");
      expectCleanFailure(run, [expired, JSON.parse(readFileSync(agentFile("agent.private.jwk.json"), "utf8")).d]);
      expect(received).toHaveLength(0);
    } finally {
      writeFileSync(tokenPath, original, { mode: 0o600 });
    }
  });

  it("bad input and an unreachable relay: one clean line each, with the right exit code", async () => {
    const privateD = JSON.parse(readFileSync(agentFile("agent.private.jwk.json"), "utf8")).d as string;
    const token = readFileSync(agentFile("identity.jwt"), "utf8").trim();
    const cases: [string[], number][] = [
      [["request", "GET", "not a url", "--agent", "alice-agent"], 2],
      [["request", "POST", `${origin}/v1/x`, "--agent", "alice-agent", "--data", "{not json"], 2],
      [["request", "GET", `${origin}/v1/x`, "--agent", "nobody-agent"], 2],
      [["request", "GET", `${origin}/v1/x`, "--agent", "alice-agent", "--header", "no-colon"], 2],
      [["request", "GET", `${origin}/v1/x`, "--agent", "alice-agent", "--timeout", "0"], 2],
      [["request", "GET", `http://127.0.0.1:${await deadPort()}/v1/x`, "--agent", "alice-agent"], 1],
    ];
    for (const [args, code] of cases) {
      const run = await cli(...args);
      expect(run.code, args.join(" ")).toBe(code);
      expectCleanFailure(run, [privateD, token]);
    }
    expect(received).toHaveLength(0);
  });

  it("trace with an admin token: the token never shows, whatever fails", async () => {
    const adminToken = "admin-token-that-must-stay-secret-0001";
    const dead = await deadPort();
    const args = [
      "trace",
      "01RELAYMSG0000000000000001",
      "--to",
      "bob-agent",
      "--connector",
      `http://127.0.0.1:${dead}`,
    ];
    const relayArgs = ["--relay", `http://127.0.0.1:${dead}`];
    const viaOption = await cli(...args, ...relayArgs, "--admin-token", adminToken);
    expect(viaOption.code).toBe(1);
    expectCleanFailure(viaOption, [adminToken]);
    const viaEnv = await runCli(["--home", home.path, ...args, ...relayArgs, "--json"], {
      CLAWRELAY_ADMIN_TOKEN: adminToken,
    });
    expect(viaEnv.code).toBe(1);
    expect(JSON.parse(viaEnv.stdout).sources.relay).toMatchObject({ status: "unreachable", as: "admin" });
    expect(viaEnv.stdout + viaEnv.stderr).not.toContain(adminToken);
    // The relay answers (the stand-in says 401): the code is reported, the token is not.
    answer = { status: 401, body: '{"error":{"code":"missing_credentials","message":"no","correlationId":"c-2"}}' };
    const refused = await cli(...args, "--relay", origin, "--admin-token", adminToken, "--json");
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stdout).sources.relay).toMatchObject({ status: "error", code: "missing_credentials" });
    expect(refused.stdout + refused.stderr).not.toContain(adminToken);
    expect(received[0]?.headers.authorization).toBe(`Bearer ${adminToken}`);
  });
});
