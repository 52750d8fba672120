import { describe, expect, it } from "vitest";
import {
  adminCall,
  errorCode,
  makeAgent,
  registry,
  sendMessage,
  signedCall,
  type TestAgent,
} from "./support/agents.js";
import { knownAgent, uniqueId } from "./support/session.js";

/** An agent id belongs to the registry that first made it known, unless an admin allows others. */

const status = (agent: TestAgent) => signedCall(agent, "GET", `/v1/agents/${agent.id}/status`);
const connect = (agent: TestAgent) =>
  signedCall(agent, "GET", `/v1/agents/${agent.id}/connect`, { mutate: (i) => (i.headers.upgrade = "websocket") });
const setRegistries = (id: string, body: unknown) => adminCall("PUT", `/v1/admin/agents/${id}/registries`, body);

async function expectRefused(res: Promise<Response>, status: number, code: string): Promise<void> {
  const answer = await res;
  expect(answer.status).toBe(status);
  expect(await errorCode(answer)).toBe(code);
}

describe("registry binding", () => {
  it("a token for a known id from another trusted registry is refused invalid_token, for every route", async () => {
    const [alice, bob] = [await knownAgent("alice"), await knownAgent("bob")];
    const impostor = await makeAgent(alice.id, { registry: "trusted2" });
    await expectRefused(status(impostor), 401, "invalid_token");
    await expectRefused(connect(impostor), 401, "invalid_token");
    await expectRefused(sendMessage(impostor, bob.id, { payload: "as alice" }), 401, "invalid_token");
    expect((await status(alice)).status).toBe(200);
    expect((await sendMessage(alice, bob.id, { payload: "really alice" })).status).toBe(202);
  });

  it("before an id is known any trusted registry may send as it; its first request to itself binds it", async () => {
    const bob = await knownAgent("bob");
    const id = uniqueId("dave");
    const [fromOne, fromTwo] = [await makeAgent(id), await makeAgent(id, { registry: "trusted2" })];
    expect((await sendMessage(fromTwo, bob.id, { payload: 1 })).status).toBe(202);
    expect((await sendMessage(fromOne, bob.id, { payload: 2 })).status).toBe(202);
    expect((await status(fromTwo)).status).toBe(200);
    await expectRefused(status(fromOne), 401, "invalid_token");
    await expectRefused(sendMessage(fromOne, bob.id, { payload: 3 }), 401, "invalid_token");
    expect((await sendMessage(fromTwo, bob.id, { payload: 4 })).status).toBe(202);
  });

  it("an admin sets which registries may issue an id", async () => {
    const alice = await knownAgent("alice");
    const second = await makeAgent(alice.id, { registry: "trusted2" });
    const both = await setRegistries(alice.id, { registries: [registry("trusted2").iss, registry().iss] });
    expect(both.status).toBe(200);
    expect(await both.json()).toEqual({
      agentId: alice.id,
      registries: [registry().iss, registry("trusted2").iss].sort(),
    });
    expect((await status(second)).status).toBe(200);
    expect((await status(alice)).status).toBe(200);
    expect((await setRegistries(alice.id, { registries: [registry("trusted2").iss] })).status).toBe(200);
    await expectRefused(status(alice), 401, "invalid_token");
    expect((await status(second)).status).toBe(200);
  });

  it("the admin route checks its caller, the id and that every registry is trusted", async () => {
    const id = uniqueId("erin");
    await expectRefused(setRegistries(id, { registries: ["rogue-registry"] }), 400, "invalid_request");
    await expectRefused(setRegistries(id, { registries: [] }), 400, "invalid_request");
    await expectRefused(setRegistries(id, { registry: registry().iss }), 400, "invalid_request");
    await expectRefused(setRegistries("NOT_AN_ID", { registries: [registry().iss] }), 400, "invalid_request");
    const anonymous = await signedCall(await makeAgent(id), "PUT", `/v1/admin/agents/${id}/registries`, {
      body: JSON.stringify({ registries: [registry().iss] }),
    });
    expect(anonymous.status).toBe(401);
    await expectRefused(adminCall("GET", `/v1/admin/agents/${id}/registries`), 405, "method_not_allowed");
  });
});
