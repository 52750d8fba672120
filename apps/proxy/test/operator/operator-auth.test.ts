import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { DASHBOARD_COOKIE, issueSessionValue } from "../../src/dashboard/session-cookie.js";
import { ADMIN_TOKEN, errorCode, ORIGIN, signedCall } from "../support/agents.js";
import { knownAgent } from "../support/session.js";

const call = (path: string, init: RequestInit = {}) => exports.default.fetch(new Request(`${ORIGIN}${path}`, init));
const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });
const withCookie = (value: string) => ({ headers: { cookie: `${DASHBOARD_COOKIE}=${value}` } });

async function login(token: string): Promise<Response> {
  return call("/dashboard/login", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token }).toString(),
    redirect: "manual",
  });
}

function cookieValue(res: Response): string {
  const header = res.headers.get("set-cookie") ?? "";
  const match = new RegExp(`${DASHBOARD_COOKIE}=([^;]*)`).exec(header);
  if (!match?.[1]) throw new Error(`no session cookie in ${JSON.stringify(header)}`);
  return match[1];
}

const ADMIN_ROUTES = ["/v1/status", "/v1/metrics"];
const DASHBOARD_DATA_ROUTES = ["/dashboard/api/overview", "/dashboard/api/messages/bob/01JAAAAAAAAAAAAAAAAAAAAAAA"];

describe("operator routes: admin bearer only", () => {
  for (const path of ADMIN_ROUTES) {
    it(`${path}: no credentials → 401 missing_credentials, wrong token → 401 invalid_token`, async () => {
      const none = await call(path);
      expect(none.status).toBe(401);
      expect(await errorCode(none)).toBe("missing_credentials");
      const wrong = await call(path, bearer(`${ADMIN_TOKEN}x`));
      expect(wrong.status).toBe(401);
      expect(await errorCode(wrong)).toBe("invalid_token");
    });

    it(`${path}: a signed agent request is not an admin`, async () => {
      const agent = await knownAgent("op");
      const res = await signedCall(agent, "GET", path);
      expect(res.status).toBe(401);
      expect(await errorCode(res)).toBe("invalid_token");
    });

    it(`${path}: the dashboard cookie does not open the admin API`, async () => {
      const value = await issueSessionValue(ADMIN_TOKEN, Date.now());
      const res = await call(path, withCookie(value));
      expect(res.status).toBe(401);
      expect(await errorCode(res)).toBe("missing_credentials");
    });

    it(`${path}: the admin token opens it`, async () => {
      const res = await call(path, bearer(ADMIN_TOKEN));
      expect(res.status).toBe(200);
    });

    it(`${path}: other methods get 405 with Allow`, async () => {
      const res = await call(path, { method: "POST", ...bearer(ADMIN_TOKEN) });
      expect(res.status).toBe(405);
      expect(res.headers.get("allow")).toBe("GET");
      expect(await errorCode(res)).toBe("method_not_allowed");
    });
  }
});

describe("dashboard login", () => {
  it("serves the login form, never data, without a session", async () => {
    const res = await call("/dashboard");
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('action="/dashboard/login"');
    expect(html).not.toContain('data-page="overview"');
    expect(res.headers.get("content-security-policy")).toContain("script-src 'self'");
    const trace = await call("/dashboard/trace?agent=bob&message=x", { redirect: "manual" });
    expect(trace.status).toBe(303);
  });

  it("refuses a wrong token with 401 and sets no cookie", async () => {
    for (const token of ["", "nope", `${ADMIN_TOKEN} `]) {
      const res = await login(token);
      expect(res.status).toBe(401);
      expect(res.headers.get("set-cookie")).toBeNull();
    }
  });

  it("sets an HttpOnly, Secure, SameSite=Strict cookie that never contains the token, then serves the dashboard", async () => {
    const res = await login(ADMIN_TOKEN);
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/dashboard");
    const header = res.headers.get("set-cookie") ?? "";
    expect(header).toMatch(/; HttpOnly/);
    expect(header).toMatch(/; Secure/);
    expect(header).toMatch(/; SameSite=Strict/);
    expect(header).not.toContain(ADMIN_TOKEN);
    const value = cookieValue(res);
    const page = await call("/dashboard", withCookie(value));
    expect(await page.text()).toContain('data-page="overview"');
    const overview = await call("/dashboard/api/overview", withCookie(value));
    expect(overview.status).toBe(200);
    const logout = await call("/dashboard/logout", { method: "POST", redirect: "manual", ...withCookie(value) });
    expect(logout.status).toBe(303);
    expect(logout.headers.get("set-cookie")).toMatch(new RegExp(`^${DASHBOARD_COOKIE}=;.*Max-Age=0`));
  });

  for (const path of DASHBOARD_DATA_ROUTES) {
    it(`${path}: refuses no cookie, a forged one, an expired one and one made with another admin token`, async () => {
      const none = await call(path);
      expect(none.status).toBe(401);
      expect(await errorCode(none)).toBe("missing_credentials");
      const real = await issueSessionValue(ADMIN_TOKEN, Date.now());
      const [, expiry, mac] = real.split(".");
      const forged = [
        `v1.${Number(expiry) + 3600}.${mac}`,
        `v1.${expiry}.${"A".repeat(43)}`,
        await issueSessionValue(ADMIN_TOKEN, Date.now() - 9 * 3600 * 1000),
        await issueSessionValue("another-admin-token-0123456789", Date.now()),
        "garbage",
      ];
      for (const value of forged) {
        const res = await call(path, withCookie(value));
        expect(res.status, value).toBe(401);
        expect(await errorCode(res)).toBe("missing_credentials");
      }
    });
  }

  it("dashboard data also opens to the admin bearer token (for scripts)", async () => {
    const res = await call("/dashboard/api/overview", bearer(ADMIN_TOKEN));
    expect(res.status).toBe(200);
  });
});
