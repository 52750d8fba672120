import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { CONNECTOR_DEFAULTS } from "@clawrelay/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { ConfigError, ENV_OVERRIDES, loadConnectorConfig, parseConnectorConfig } from "../../src/daemon/config.js";
import { tempDir } from "./helpers/common.js";

const MINIMAL = {
  agentId: "bob-agent",
  identityDir: "/srv/bob/identity",
  relayUrls: ["https://relay.example.com"],
  dataDir: "/srv/bob/data",
  hookUrl: "http://127.0.0.1:8080/clawrelay",
};

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function problems(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  throw new Error("expected a ConfigError");
}

describe("connector config", () => {
  it("fills every default from CONNECTOR_DEFAULTS and the receipt hook from the hook", () => {
    const config = parseConnectorConfig(MINIMAL);
    expect(config).toMatchObject({
      listen: { host: CONNECTOR_DEFAULTS.listenHost, port: CONNECTOR_DEFAULTS.listenPort },
      receiptHookUrl: MINIMAL.hookUrl,
      takeover: false,
      reconnectMinMs: CONNECTOR_DEFAULTS.reconnectMinMs,
      reconnectMaxMs: CONNECTOR_DEFAULTS.reconnectMaxMs,
      reconnectResetAfterMs: CONNECTOR_DEFAULTS.reconnectResetAfterMs,
      pingIntervalMs: CONNECTOR_DEFAULTS.pingIntervalMs,
      pongTimeoutMs: CONNECTOR_DEFAULTS.pongTimeoutMs,
      hookBreakerFailures: CONNECTOR_DEFAULTS.hookBreakerFailures,
      hookBreakerOpenMs: CONNECTOR_DEFAULTS.hookBreakerOpenMs,
      outboxBreakerFailures: CONNECTOR_DEFAULTS.outboxBreakerFailures,
      outboxBreakerOpenMs: CONNECTOR_DEFAULTS.outboxBreakerOpenMs,
    });
    expect(config.connectorId).toBeUndefined();
    expect(config.hookToken).toBeUndefined();
  });

  it("applies CLAWRELAY_* overrides over the file", () => {
    const config = parseConnectorConfig(MINIMAL, {
      env: {
        CLAWRELAY_RELAY_URLS: "https://a.example.com, https://b.example.com",
        CLAWRELAY_LISTEN_PORT: "19555",
        CLAWRELAY_TAKEOVER: "true",
        CLAWRELAY_HOOK_TOKEN: "s3cret",
        CLAWRELAY_PING_INTERVAL_MS: "15000",
        CLAWRELAY_RECEIPT_HOOK_URL: "http://127.0.0.1:8080/receipts",
      },
    });
    expect(config).toMatchObject({
      relayUrls: ["https://a.example.com", "https://b.example.com"],
      listen: { host: "127.0.0.1", port: 19_555 },
      takeover: true,
      hookToken: "s3cret",
      pingIntervalMs: 15_000,
      receiptHookUrl: "http://127.0.0.1:8080/receipts",
    });
  });

  it("names every bad field, and the variable it came from", () => {
    const found = problems(() =>
      parseConnectorConfig(
        { ...MINIMAL, agentId: "Bad Id", relayUrls: ["ftp://relay"], hookUrl: "nope", extra: 1 },
        { env: { CLAWRELAY_LISTEN_PORT: "http", CLAWRELAY_TAKEOVER: "maybe" } },
      ),
    );
    const fields = found.map((problem) => problem.split(":")[0]);
    expect(fields).toEqual(
      expect.arrayContaining([
        "agentId",
        "relayUrls.0",
        "hookUrl",
        "(root)",
        "listen.port (from CLAWRELAY_LISTEN_PORT)",
        "takeover (from CLAWRELAY_TAKEOVER)",
      ]),
    );
  });

  it("refuses an empty relay list and non-positive timings", () => {
    const found = problems(() => parseConnectorConfig({ ...MINIMAL, relayUrls: [], pongTimeoutMs: 0 }));
    expect(found.map((problem) => problem.split(":")[0])).toEqual(["relayUrls", "pongTimeoutMs"]);
  });

  it("resolves relative paths against the config file's folder and reports unreadable files", async () => {
    const dir = tempDir();
    cleanups.push(dir.remove);
    const file = join(dir.path, "connector.json");
    writeFileSync(file, JSON.stringify({ ...MINIMAL, identityDir: "./identity", dataDir: "data" }));
    const config = await loadConnectorConfig(file, {});
    expect(config.identityDir).toBe(join(dir.path, "identity"));
    expect(config.dataDir).toBe(join(dir.path, "data"));
    writeFileSync(file, "{not json");
    await expect(loadConnectorConfig(file, {})).rejects.toThrow(ConfigError);
    await expect(loadConnectorConfig(join(dir.path, "missing.json"), {})).rejects.toThrow(/ENOENT/);
  });

  it("has one variable per documented field", () => {
    const variables = ENV_OVERRIDES.map((override) => override.variable);
    expect(new Set(variables).size).toBe(variables.length);
    expect(variables).toEqual(expect.arrayContaining(["CLAWRELAY_AGENT_ID", "CLAWRELAY_HOOK_MAX_ATTEMPTS"]));
  });
});
