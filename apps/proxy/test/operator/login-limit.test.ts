import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { clientAddress } from "../../src/dashboard/login-limit.js";
import { ADMIN_TOKEN, errorCode, ORIGIN } from "../support/agents.js";

/** Dashboard sign-in: RELAY_LOGIN_MAX_FAILURES (10) failures per address per RELAY_LOGIN_WINDOW_SECONDS (60), then 429. */

const MAX_FAILURES = 10;

function login(token: string, address: string): Promise<Response> {
  return exports.default.fetch(
    new Request(`${ORIGIN}/dashboard/login`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", "cf-connecting-ip": address },
      body: new URLSearchParams({ token }).toString(),
      redirect: "manual",
    }),
  );
}

async function failTimes(address: string, times: number): Promise<void> {
  for (let n = 0; n < times; n++) expect((await login("wrong-token", address)).status).toBe(401);
}

async function expectLimited(res: Response): Promise<void> {
  expect(res.status).toBe(429);
  expect(await errorCode(res)).toBe("rate_limited");
  expect(Number(res.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
  expect(Number(res.headers.get("retry-after"))).toBeLessThanOrEqual(60);
  expect(res.headers.get("set-cookie")).toBeNull();
}

describe("dashboard sign-in attempt limit", () => {
  it("after 10 failures from one address every attempt is 429 rate_limited, the right token too; other addresses are not", async () => {
    await failTimes("203.0.113.7", MAX_FAILURES);
    await expectLimited(await login("wrong-token", "203.0.113.7"));
    await expectLimited(await login(ADMIN_TOKEN, "203.0.113.7"));
    expect((await login(ADMIN_TOKEN, "203.0.113.8")).status).toBe(303);
  });

  it("an IPv6 client counts by its /64", async () => {
    await failTimes("2001:db8:1:2::1", MAX_FAILURES);
    await expectLimited(await login("wrong-token", "2001:db8:1:2:ffff::9"));
    expect((await login("wrong-token", "2001:db8:1:3::1")).status).toBe(401);
  });

  it("a sign-in that works clears the address's failures", async () => {
    await failTimes("198.51.100.4", MAX_FAILURES - 1);
    expect((await login(ADMIN_TOKEN, "198.51.100.4")).status).toBe(303);
    await failTimes("198.51.100.4", MAX_FAILURES);
    await expectLimited(await login("wrong-token", "198.51.100.4"));
  });

  it("the limit ends with its window", async () => {
    const guard = env.DIRECTORY.get(env.DIRECTORY.idFromName("dashboard-login"));
    const start = 1_000_000;
    for (let n = 0; n < MAX_FAILURES; n++) await guard.loginFailed("192.0.2.50", 60_000, start + n);
    expect(await guard.loginBlockedFor("192.0.2.50", MAX_FAILURES, 60_000, start + 59_999)).toBe(1);
    expect(await guard.loginBlockedFor("192.0.2.50", MAX_FAILURES, 60_000, start + 60_000)).toBe(0);
    await guard.loginFailed("192.0.2.50", 60_000, start + 60_000);
    expect(await guard.loginBlockedFor("192.0.2.50", MAX_FAILURES, 60_000, start + 60_001)).toBe(0);
  });

  it("addresses: IPv4 as is, IPv6 by /64, none shares one bucket", () => {
    expect(clientAddress("203.0.113.7")).toBe("203.0.113.7");
    expect(clientAddress("::ffff:203.0.113.7")).toBe("203.0.113.7");
    expect(clientAddress("2001:DB8:0001:0002:0:0:0:1")).toBe("2001:db8:1:2::/64");
    expect(clientAddress("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(clientAddress(undefined)).toBe("unknown");
  });
});
