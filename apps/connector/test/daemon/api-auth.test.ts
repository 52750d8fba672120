import { chmodSync, existsSync, readFileSync, statSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { join } from "node:path";
import { errorBodySchema } from "@clawrelay/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { API_TOKEN_FILE_NAME } from "../../src/daemon/api-token.js";
import { parseConnectorConfig } from "../../src/daemon/config.js";
import { messageItem, tempDir } from "./helpers/common.js";
import { startTestConnector, type TestConnector } from "./helpers/connector.js";
import { deadPort } from "./helpers/fake-relay.js";

// PROTOCOL.md §8: every route but GET /healthz needs the API token; browsers and foreign Hosts
// get 403 forbidden_origin before anything else is looked at.
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function start(dataDir?: string, extra: Record<string, unknown> = {}): Promise<TestConnector & { dir: string }> {
  let dir = dataDir;
  if (dir === undefined) {
    const made = tempDir();
    cleanups.push(made.remove);
    dir = made.path;
  }
  const started = await startTestConnector({
    dataDir: dir,
    relayUrls: [`http://127.0.0.1:${await deadPort()}`],
    hookUrl: `http://127.0.0.1:${await deadPort()}/hook`,
    ...extra,
  });
  cleanups.push(() => started.connector.close());
  return { ...started, dir };
}

interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  code: string | undefined;
  body: unknown;
}

/** Raw HTTP: fetch will not send every header a browser or an attacker would (Host, Origin). */
function raw(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      { host: "127.0.0.1", port, method, path, headers: { host: `127.0.0.1:${port}`, ...headers } },
      (response) => {
        let text = "";
        response.on("data", (chunk: Buffer) => {
          text += chunk.toString();
        });
        response.on("end", () => {
          const parsedBody: unknown = text ? JSON.parse(text) : null;
          const error = errorBodySchema.safeParse(parsedBody);
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            code: error.success ? error.data.error.code : undefined,
            body: parsedBody,
          });
        });
      },
    );
    request.on("error", reject);
    request.end(body);
  });
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe("API token", () => {
  it("401 missing_credentials without a bearer token, 401 invalid_token with a wrong one; /healthz is open", async () => {
    const { connector, token } = await start();
    const { port } = connector;
    const unauthenticated: Record<string, string>[] = [
      {},
      { authorization: `Basic ${token}` },
      { authorization: "Bearer" },
    ];
    for (const headers of unauthenticated) {
      const answer = await raw(port, "GET", "/v1/status", headers);
      expect({ status: answer.status, code: answer.code }, JSON.stringify(headers)).toEqual({
        status: 401,
        code: "missing_credentials",
      });
      expect(answer.headers["www-authenticate"]).toBe("Bearer");
    }
    for (const wrong of [`${token}x`, token.slice(0, -1), "x".repeat(token.length), token.toUpperCase()]) {
      expect((await raw(port, "GET", "/v1/status", bearer(wrong))).code).toBe("invalid_token");
    }
    expect((await raw(port, "GET", "/v1/status", bearer(token))).status).toBe(200);
    expect((await raw(port, "GET", "/v1/status", { authorization: `bearer  ${token}` })).status).toBe(200);
    expect((await raw(port, "GET", "/healthz")).status).toBe(200);
    // A write without the token stores nothing.
    const post = await raw(
      port,
      "POST",
      "/v1/outbound",
      { "content-type": "application/json" },
      '{"to":"carol-agent","payload":1}',
    );
    expect(post.code).toBe("missing_credentials");
    expect(connector.store.counts().outbox.queued).toBe(0);
  });

  it("is made on first start in <dataDir>/api-token (0600, 32 random bytes base64url) and reused on restart", async () => {
    const first = await start();
    const file = join(first.dir, API_TOKEN_FILE_NAME);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(first.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(readFileSync(file, "utf8").trim()).toBe(first.token);
    await first.connector.close();
    // Someone loosened it: the next start is refused, naming the file (SECURITY.md); once it is
    // private again the same token is used.
    chmodSync(file, 0o644);
    await expect(start(first.dir)).rejects.toMatchObject({ code: "loose_permissions", path: file });
    chmodSync(file, 0o600);
    const second = await start(first.dir);
    expect(second.token).toBe(first.token);
    expect((await raw(second.connector.port, "GET", "/v1/status", bearer(first.token))).status).toBe(200);
    // Another connector's data dir gets a token of its own.
    expect((await start()).token).not.toBe(first.token);
  });

  it("a token named in the config (or CLAWRELAY_API_TOKEN) is used instead, and no file is made", async () => {
    const configured = "configured-api-token-0123456789";
    const { connector, dir } = await start(undefined, { apiToken: configured });
    expect(existsSync(join(dir, API_TOKEN_FILE_NAME))).toBe(false);
    expect((await raw(connector.port, "GET", "/v1/status", bearer(configured))).status).toBe(200);
    const base = {
      agentId: "bob-agent",
      identityDir: "/x",
      relayUrls: ["https://r.example"],
      dataDir: "/d",
      hookUrl: "http://h.example",
    };
    expect(parseConnectorConfig(base, { env: { CLAWRELAY_API_TOKEN: configured } }).apiToken).toBe(configured);
    expect(() => parseConnectorConfig({ ...base, apiToken: "short" })).toThrow(/apiToken/);
  });
});

describe("origin guard: 403 forbidden_origin before anything else", () => {
  it("refuses an Origin header, Sec-Fetch-Site cross-site and same-site, even with the token and on /healthz", async () => {
    const { connector, token } = await start();
    const { port } = connector;
    const refused: Record<string, string>[] = [
      { origin: "https://evil.example" },
      { origin: "null" },
      { origin: `http://127.0.0.1:${port}` },
      { "sec-fetch-site": "cross-site" },
      { "sec-fetch-site": "same-site" },
    ];
    for (const headers of refused) {
      for (const path of ["/v1/status", "/healthz"]) {
        const answer = await raw(port, "GET", path, { ...bearer(token), ...headers });
        expect({ status: answer.status, code: answer.code }, `${path} ${JSON.stringify(headers)}`).toEqual({
          status: 403,
          code: "forbidden_origin",
        });
      }
    }
    // Checked before the token: no token and an Origin is still 403.
    expect((await raw(port, "GET", "/v1/status", { origin: "https://evil.example" })).code).toBe("forbidden_origin");
    expect((await raw(port, "GET", "/v1/status", { ...bearer(token), "sec-fetch-site": "none" })).status).toBe(200);
  });

  it("refuses a Host that is not the listen address (DNS rebinding); localhost:<port> is the listen address too", async () => {
    const { connector, token } = await start();
    const { port } = connector;
    for (const host of [
      "evil.example.com",
      `evil.example.com:${port}`,
      `127.0.0.1:${port + 1}`,
      "127.0.0.1",
      `[::1]:${port}`,
    ]) {
      const answer = await raw(port, "GET", "/healthz", { host });
      expect({ status: answer.status, code: answer.code }, host).toEqual({ status: 403, code: "forbidden_origin" });
    }
    expect((await raw(port, "GET", "/healthz", { host: `localhost:${port}` })).status).toBe(200);
    expect((await raw(port, "GET", "/v1/status", { ...bearer(token), host: `LOCALHOST:${port}` })).status).toBe(200);
  });

  it("a no-cors POST /v1/dead-letters/replay from a page (Origin, no body, no content type) replays nothing", async () => {
    const { connector, token } = await start();
    const { store } = connector;
    const item = messageItem();
    store.storeInbound([item], Date.now());
    const entry = store.inbox.due(Date.now(), 10, new Set()).find((row) => row.id === item.id);
    if (!entry) throw new Error("expected the stored item");
    store.inbox.deadLetter(entry, 3, "retries exhausted: hook_unreachable", "dead_lettered", Date.now());

    for (const headers of [{ origin: "https://evil.example" }, { origin: "https://evil.example", ...bearer(token) }]) {
      const answer = await raw(connector.port, "POST", "/v1/dead-letters/replay", headers);
      expect({ status: answer.status, code: answer.code }).toEqual({ status: 403, code: "forbidden_origin" });
    }
    expect(store.counts()).toMatchObject({ deadLetters: 1, inboxPending: 0 });
    // The same request from a local client with the token does replay.
    const replayed = await raw(connector.port, "POST", "/v1/dead-letters/replay", bearer(token));
    expect(replayed).toMatchObject({ status: 200, body: { replayed: 1, ids: [item.id] } });
  });
});
