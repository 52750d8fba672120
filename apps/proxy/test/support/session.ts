import { expect } from "vitest";
import type { SessionStatus } from "../../src/session/observation/status.js";
import { makeAgent, sendMessage, signedCall, type TestAgent } from "./agents.js";

let counter = 0;
/** A fresh agent id per call: storage is isolated per test file, not per test. */
export function uniqueId(prefix: string): string {
  counter += 1;
  return `${prefix}-${counter}-${Math.random().toString(36).slice(2, 8)}`;
}

/** A new agent that the relay knows (it read its own status once). */
export async function knownAgent(prefix: string, token: { lifetimeSeconds?: number } = {}): Promise<TestAgent> {
  const agent = await makeAgent(uniqueId(prefix), token);
  const res = await signedCall(agent, "GET", `/v1/agents/${agent.id}/status`);
  expect(res.status).toBe(200);
  return agent;
}

export async function send(from: TestAgent, to: TestAgent, body: Record<string, unknown>, options = {}) {
  const res = await sendMessage(from, to.id, body, options);
  const json = (await res.json()) as Record<string, unknown> & {
    messageId: string;
    correlationId: string;
    error?: { code: string };
  };
  return { status: res.status, json, headers: res.headers };
}

export async function sendOk(from: TestAgent, to: TestAgent, body: Record<string, unknown>, options = {}) {
  const result = await send(from, to, body, options);
  expect(result.status, JSON.stringify(result.json)).toBe(202);
  return result.json;
}

export async function statusOf(agent: TestAgent) {
  const res = await signedCall(agent, "GET", `/v1/agents/${agent.id}/status`);
  expect(res.status).toBe(200);
  return (await res.json()) as SessionStatus;
}

export async function messageRecord(reader: TestAgent, to: TestAgent, messageId: string) {
  const res = await signedCall(reader, "GET", `/v1/agents/${to.id}/messages/${messageId}`);
  return {
    status: res.status,
    json: (await res.json()) as Record<string, unknown> & {
      state: string;
      trace: { hop: string }[];
      receipts: { status: string }[];
    },
  };
}
