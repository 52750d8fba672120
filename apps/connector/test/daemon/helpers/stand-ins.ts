import { tempDir } from "./common.js";
import { startTestConnector } from "./connector.js";
import { deadPort, FakeRelay } from "./fake-relay.js";
import { HookServer } from "./hook-server.js";

/** Teardown a test registers; the test file runs them newest first after each test (or the suite). */
export type Cleanup = () => Promise<void> | void;

/** A temp data dir, a fake relay and a stand-in hook for a connector to run between, all torn down through `cleanups`. */
export async function standIns(
  cleanups: Cleanup[],
  answer: HookServer["answer"] = () => ({ status: 200 }),
): Promise<{ dir: string; relay: FakeRelay; hook: HookServer }> {
  const dir = tempDir();
  cleanups.push(dir.remove);
  const relay = await new FakeRelay().start();
  cleanups.push(() => relay.close());
  const hook = await new HookServer(answer).start();
  cleanups.push(() => hook.close());
  return { dir: dir.path, relay, hook };
}

/** A connector on a temp data dir, linked to a fake relay, its hook unreachable; torn down through `cleanups`. */
export async function connectorWithDeadHook(cleanups: Cleanup[]) {
  const dir = tempDir();
  cleanups.push(dir.remove);
  const relay = await new FakeRelay().start();
  cleanups.push(() => relay.close());
  const { connector } = await startTestConnector({
    dataDir: dir.path,
    relayUrls: [relay.url],
    hookUrl: `http://127.0.0.1:${await deadPort()}/hook`,
  });
  cleanups.push(() => connector.close());
  return { dir, relay, connector };
}
