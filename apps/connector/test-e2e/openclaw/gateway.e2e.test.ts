import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StandInHook } from "../../../../scripts/lib/hook.mjs";
import { OpenClawGateway } from "../../../../scripts/openclaw/gateway.mjs";
import { ensureOpenClaw } from "../../../../scripts/openclaw/install.mjs";
import { StandInModel } from "../../../../scripts/openclaw/stand-in-model.mjs";
import { PROBE_PLUGIN_DIR } from "./support/plugins.js";

// One real OpenClaw gateway, a test-only plugin tool and the scripted stand-in model: the facts
// the connector's OpenClaw format builds on, checked on the pinned OpenClaw version.
const report = new StandInHook();
const model = new StandInModel({
  // Once per turn: call the probe while no tool result follows the turn's text.
  script: (r) => (r.toolResults.length === 0 ? { tool: "clawrelay_probe", args: { note: "hi" } } : { text: "done" }),
  maxToolCalls: 5,
});
let gateway: OpenClawGateway;

beforeAll(async () => {
  ensureOpenClaw();
  await report.start();
  await model.start(); // before the gateway: it caches a failed model probe for 5 minutes
  gateway = new OpenClawGateway({
    model,
    name: "probe",
    plugins: [{ id: "clawrelay-probe", dir: PROBE_PLUGIN_DIR, config: { reportUrl: report.url } }],
  });
  await gateway.start();
});

afterAll(async () => {
  await gateway?.close();
  await model.close();
  await report.close();
});

describe("a real OpenClaw gateway", () => {
  it("runs a hook turn in the named session, calls the plugin tool there, and hands its result back", async () => {
    const answer = await gateway.userTurn("hook:test:alice-user", "Please greet bob", { waitForCompletion: true });
    expect(answer).toMatchObject({ status: 200, json: { ok: true, completion: { status: "ok" } } });
    await report.waitFor((h) => h.calls.length >= 1, 30_000, "the probe tool's report");
    // What the connector relies on to post a reply back into this session: the tool's context
    // names the session as `agent:<agentId>:<the hook's sessionKey>`.
    expect(report.calls[0]?.body).toMatchObject({
      params: { note: "hi" },
      sessionKey: "agent:main:hook:test:alice-user",
      agentId: "main",
    });
    const turn = model.requests.filter((r) => r.userText.includes("Please greet bob"));
    expect(turn.map((r) => r.sessionKey)).toEqual([
      "agent:main:hook:test:alice-user",
      "agent:main:hook:test:alice-user",
    ]);
    expect(turn[1]?.toolResults).toEqual(["probe reported (204)"]);
  });

  it("keeps one history per persistent session key, and a fresh one for another key", async () => {
    await gateway.userTurn("hook:test:alice-user", "second turn", { waitForCompletion: true });
    await gateway.userTurn("hook:clawrelay:bob", "other session", { waitForCompletion: true });
    const second = model.requests.find((r) => r.userText.includes("second turn"));
    expect(second?.sessionKey).toBe("agent:main:hook:test:alice-user");
    // The earlier turn is in this session's history.
    expect(JSON.stringify(second?.messages)).toContain("Please greet bob");
    const other = model.requests.find((r) => r.userText.includes("other session"));
    expect(other?.sessionKey).toBe("agent:main:hook:clawrelay:bob");
    expect(JSON.stringify(other?.messages)).not.toContain("Please greet bob");
  });

  it("answers a wrong hooks token with 401 and starts no turn", async () => {
    const before = model.requests.length;
    const res = await fetch(gateway.hooksUrl, {
      method: "POST",
      headers: { authorization: "Bearer wrong-token", "content-type": "application/json" },
      body: JSON.stringify({ message: "nope", sessionKey: "hook:test:alice-user" }),
      signal: AbortSignal.timeout(10_000),
    });
    expect(res.status).toBe(401);
    expect(model.requests.length).toBe(before);
  });
});
