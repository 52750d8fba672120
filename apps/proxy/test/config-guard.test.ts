import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { errorBodySchema } from "@clawrelay/protocol";
import { beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../src/app.js";
import { isLocalOnlyHost } from "../src/config-guard.js";
import testKeys from "./fixtures/keys.json";
import { ADMIN_TOKEN, makeAgent, ORIGIN, signedCall, type TestAgent } from "./support/agents.js";

/**
 * A relay deployed with the dev defaults refuses everything but /healthz, which names each
 * problem by its var. The Durable Object bindings are traps: a refusal must not touch one.
 */
const DO_BINDINGS = ["RELAY_SESSION", "DIRECTORY", "METRICS_SHARD"] as const;

function trappedEnv(overrides: Record<string, string>): { env: Env; touched: string[] } {
  const touched: string[] = [];
  const traps = Object.fromEntries(
    DO_BINDINGS.map((name) => [
      name,
      new Proxy(
        {},
        {
          get() {
            touched.push(name);
            throw new Error(`${name} touched`);
          },
        },
      ),
    ]),
  );
  return { env: { ...env, ...traps, ...overrides } as Env, touched };
}

const app = createApp();
const call = (request: Request, target: Env) => Promise.resolve(app.fetch(request, target, createExecutionContext()));
const healthz = (origin: string, target: Env) => call(new Request(`${origin}/healthz`), target);

const healthSchemaKeys = (body: unknown) => Object.keys(body as object).sort();

let alice: TestAgent;
beforeAll(async () => {
  alice = await makeAgent("alice.guard");
});

describe("a well-configured relay", () => {
  it("answers /healthz 200 with exactly status and version, locally and deployed", async () => {
    const local = await healthz(ORIGIN, env);
    expect(local.status).toBe(200);
    expect(healthSchemaKeys(await local.json())).toEqual(["status", "version"]);
    const deployed = trappedEnv({ RELAY_ORIGIN: "https://relay.example.com" });
    const res = await healthz("https://relay.example.com", deployed.env);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok", version: expect.any(String) });
  });

  it("serves a loopback RELAY_ORIGIN on loopback and test hosts (wrangler dev, these tests)", async () => {
    for (const origin of ["http://127.0.0.1:8787", "http://localhost:9000", "http://[::1]:8787", ORIGIN]) {
      expect((await healthz(origin, env)).status, origin).toBe(200);
    }
  });
});

describe("no trusted registry", () => {
  it("/healthz is 503 misconfigured naming REGISTRY_JWKS, without any secret value", async () => {
    const { env: target } = trappedEnv({ REGISTRY_JWKS: "{}" });
    const res = await healthz(ORIGIN, target);
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
    const text = await res.text();
    const body = JSON.parse(text);
    expect(Object.keys(body).sort()).toEqual(["problems", "status", "version"]);
    expect(body.status).toBe("misconfigured");
    expect(body.problems).toHaveLength(1);
    expect(body.problems[0]).toMatch(/^REGISTRY_JWKS /);
    expect(text).not.toContain(ADMIN_TOKEN);
    expect(text).not.toContain(testKeys.relay.privateJwk.d);
  });

  it("a registry listed with no keys counts as none", async () => {
    const { env: target } = trappedEnv({ REGISTRY_JWKS: JSON.stringify({ someone: { keys: [] } }) });
    expect((await healthz(ORIGIN, target)).status).toBe(503);
  });

  it("every other request gets 503 unavailable in the error shape, and no Durable Object is touched", async () => {
    const { env: target, touched } = trappedEnv({ REGISTRY_JWKS: "{}" });
    const via = (request: Request) => call(request, target);
    const answers = [
      await signedCall(alice, "POST", "/v1/agents/bob.guard/messages", { body: '{"payload":1}', via }),
      await signedCall(alice, "GET", `/v1/agents/${alice.id}/connect`, { via }),
      await call(new Request(`${ORIGIN}/v1/status`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }), target),
      await call(new Request(`${ORIGIN}/v1/nothing`), target),
      await call(new Request(`${ORIGIN}/healthz`, { method: "POST" }), target),
    ];
    for (const res of answers) {
      expect(res.status).toBe(503);
      expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
      const body = errorBodySchema.parse(await res.json());
      expect(body.error.code).toBe("unavailable");
      expect(body.error.retryAfterSeconds).toBe(Number(res.headers.get("retry-after")));
    }
    expect(touched).toEqual([]);
  });
});

describe("a loopback RELAY_ORIGIN served on a public host", () => {
  it("/healthz names RELAY_ORIGIN and where the relay is served; requests are refused", async () => {
    const { env: target, touched } = trappedEnv({ RELAY_ORIGIN: "http://127.0.0.1:8787" });
    const res = await healthz("https://clawrelay.someone.workers.dev", target);
    expect(res.status).toBe(503);
    const body = (await res.json()) as { status: string; problems: string[] };
    expect(body.status).toBe("misconfigured");
    expect(body.problems).toHaveLength(1);
    expect(body.problems[0]).toMatch(/^RELAY_ORIGIN /);
    expect(body.problems[0]).toContain("http://127.0.0.1:8787");
    expect(body.problems[0]).toContain("https://clawrelay.someone.workers.dev");

    const refused = await signedCall(alice, "GET", `/v1/agents/${alice.id}/status`, {
      via: (request) => call(request, target),
      mutate: (init) => {
        init.url = init.url.replace(ORIGIN, "https://relay.example.com");
      },
    });
    expect(refused.status).toBe(503);
    expect(errorBodySchema.parse(await refused.json()).error.code).toBe("unavailable");
    expect(touched).toEqual([]);
  });

  it("lists both problems when both hold", async () => {
    const { env: target } = trappedEnv({ REGISTRY_JWKS: "{}", RELAY_ORIGIN: "http://localhost:8787" });
    const body = (await (await healthz("https://relay.example.com", target)).json()) as { problems: string[] };
    expect(body.problems.map((p) => p.split(" ")[0]).sort()).toEqual(["REGISTRY_JWKS", "RELAY_ORIGIN"]);
  });
});

describe("a var that does not parse", () => {
  it("/healthz names each bad var (never its value) instead of a bare 500", async () => {
    const badToken = "short-secret";
    const { env: target, touched } = trappedEnv({ RELAY_MAX_BODY_BYTES: "lots", ADMIN_TOKEN: badToken });
    const res = await healthz(ORIGIN, target);
    expect(res.status).toBe(503);
    const text = await res.text();
    expect(text).not.toContain(badToken);
    const body = JSON.parse(text) as { status: string; problems: string[] };
    expect(body.status).toBe("misconfigured");
    expect(body.problems.map((p) => p.split(":")[0]).sort()).toEqual(["ADMIN_TOKEN", "RELAY_MAX_BODY_BYTES"]);
    const refused = await call(new Request(`${ORIGIN}/v1/status`), target);
    expect(errorBodySchema.parse(await refused.json()).error.code).toBe("unavailable");
    expect(touched).toEqual([]);
  });
});

describe("isLocalOnlyHost", () => {
  it("knows loopback and the names reserved for local use from public names", () => {
    for (const host of ["127.0.0.1", "127.1.2.3", "localhost", "app.localhost", "[::1]", "relay.test", "x.invalid"]) {
      expect(isLocalOnlyHost(host), host).toBe(true);
    }
    for (const host of ["relay.example.com", "clawrelay.a.workers.dev", "128.0.0.1", "localhost.example.com"]) {
      expect(isLocalOnlyHost(host), host).toBe(false);
    }
  });
});
