import { describe, expect, it } from "vitest";
import { ConfigError, OPENCLAW_DEFAULTS, parseConnectorConfig } from "../../src/daemon/config.js";
import { groupConnectorConfig } from "../../src/daemon/config-groups.js";
import { createHookFormat } from "../../src/daemon/hook-formats/index.js";
import { messageItem } from "./helpers/common.js";

const BASE = {
  agentId: "bob-agent",
  identityDir: "/srv/bob/identity",
  relayUrls: ["https://relay.example.com"],
  dataDir: "/srv/bob/data",
};
const OPENCLAW = { url: "http://127.0.0.1:18789", token: "gateway-hooks-token" };

function problemFields(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map((problem) => problem.split(":")[0] ?? "");
    throw error;
  }
  throw new Error("expected a ConfigError");
}

describe("connector config: hook formats", () => {
  it("defaults to the clawrelay format, which needs a hookUrl", () => {
    expect(parseConnectorConfig({ ...BASE, hookUrl: "http://127.0.0.1:8080/h" }).hookFormat).toBe("clawrelay");
    expect(problemFields(() => parseConnectorConfig(BASE))).toEqual(["hookUrl"]);
  });

  it("the openclaw format needs its section, not a hookUrl, and fills its defaults", () => {
    expect(problemFields(() => parseConnectorConfig({ ...BASE, hookFormat: "openclaw" }))).toEqual(["openclaw"]);
    const config = parseConnectorConfig({ ...BASE, hookFormat: "openclaw", openclaw: OPENCLAW });
    expect(config.openclaw).toEqual({
      ...OPENCLAW,
      hooksPath: OPENCLAW_DEFAULTS.hooksPath,
      sessionKeyPrefix: OPENCLAW_DEFAULTS.sessionKeyPrefix,
      waitForCompletion: true,
      receiptTurns: OPENCLAW_DEFAULTS.receiptTurns,
    });
    const format = createHookFormat(groupConnectorConfig(config).hook.target);
    expect(format).toMatchObject({ name: "openclaw", timeoutMs: OPENCLAW_DEFAULTS.turnTimeoutMs });
    expect(format.request(messageItem())?.url).toBe("http://127.0.0.1:18789/hooks/agent");
  });

  it("takes the openclaw fields from the environment and names bad ones", () => {
    const config = parseConnectorConfig(
      { ...BASE, openclaw: { url: "http://127.0.0.1:1", token: "file-token" } },
      {
        env: {
          CLAWRELAY_HOOK_FORMAT: "openclaw",
          CLAWRELAY_OPENCLAW_TOKEN: "env-token",
          CLAWRELAY_OPENCLAW_AGENT_ID: "ops",
          CLAWRELAY_OPENCLAW_WAIT_FOR_COMPLETION: "false",
          CLAWRELAY_OPENCLAW_RECEIPT_TURNS: "failed,expired",
        },
      },
    );
    expect(config.openclaw).toMatchObject({
      token: "env-token",
      agentId: "ops",
      waitForCompletion: false,
      receiptTurns: ["failed", "expired"],
    });
    expect(createHookFormat(groupConnectorConfig(config).hook.target).timeoutMs).toBe(config.hookTimeoutMs);
    const fields = problemFields(() =>
      parseConnectorConfig(
        { ...BASE, hookFormat: "openclaw", openclaw: { ...OPENCLAW, sessionKeyPrefix: "bad prefix" } },
        { env: { CLAWRELAY_OPENCLAW_RECEIPT_TURNS: "failed,lost" } },
      ),
    );
    expect(fields).toEqual(
      expect.arrayContaining([
        "openclaw.sessionKeyPrefix",
        "openclaw.receiptTurns.1 (from CLAWRELAY_OPENCLAW_RECEIPT_TURNS)",
      ]),
    );
  });
});
