import { makeAgent, type TestAgent } from "../support/agents.js";
import { captureWrapper, flattenWrapper } from "../support/flat-wrappers.js";
import { uniqueId } from "../support/session.js";
import { sessionStub } from "../support/socket.js";

/** The model's reads and its policy go to the session as an admin. */
export const ADMIN = { kind: "admin" as const, correlationId: "model-test-admin" };

/**
 * The model's agents' tokens outlive the pinned clock (a day ahead) plus every advance of a run:
 * the model calls the Worker directly (`fetchDirect`), so it checks them on that clock.
 */
const TOKEN_LIFETIME = { lifetimeSeconds: 60 * 86_400 };

/** Agents for the senders of a file's runs; the first one's session hands over the wrapper class (see flat-wrappers.ts). */
export async function makeSenders(count: number): Promise<TestAgent[]> {
  const senders = await Promise.all(
    Array.from({ length: count }, (_, i) => makeAgent(uniqueId(`model-s${i}`), TOKEN_LIFETIME)),
  );
  const first = senders[0];
  if (first) await captureWrapper(sessionStub(first.id));
  return senders;
}

/**
 * Registered recipients, one per run, the next one made while the current run goes on (creating
 * a session runs its schema migrations, the bulk of a short run's cost).
 */
export class RecipientPool {
  private next: Promise<TestAgent> | null = null;

  take(): Promise<TestAgent> {
    const taken = this.next ?? RecipientPool.make();
    this.next = RecipientPool.make();
    // A failure here surfaces when the next run takes it.
    this.next.catch(() => undefined);
    return taken;
  }

  private static async make(): Promise<TestAgent> {
    const recipient = await makeAgent(uniqueId("model-rcpt"), TOKEN_LIFETIME);
    flattenWrapper();
    const registered = await sessionStub(recipient.id).register(recipient.id, ADMIN.correlationId);
    if (!registered.ok) throw new Error(`registering ${recipient.id} failed: ${registered.code}`);
    return recipient;
  }
}
