import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";
import testKeys from "./apps/proxy/test/fixtures/keys.json" with { type: "json" };

/** Test-only registries trusted by the workers pool; `rogue-registry` stays untrusted on purpose. */
const testRegistryJwks = JSON.stringify({
  [testKeys.trusted.iss]: { keys: [testKeys.trusted.publicJwk] },
  [testKeys.trusted2.iss]: { keys: [testKeys.trusted2.publicJwk] },
});

// Two projects: the proxy Worker and its Durable Objects run inside workerd
// (vitest-pool-workers); the packages and the connector run in Node.
// The signing package's vector tests run in both.
const testBindings = {
  ADMIN_TOKEN: "test-admin-token-0123456789abcdef",
  REGISTRY_JWKS: testRegistryJwks,
  RELAY_SIGNING_JWK: JSON.stringify(testKeys.relay.privateJwk),
  // Per-message info lines are most of a test run's output and say nothing a failed assertion
  // does not; warnings and errors still print. (log-level.test.ts covers the levels themselves.)
  RELAY_LOG_LEVEL: "warn",
  // A stand-in remote relay on the discard port: trusted, and refusing connections.
  TRUSTED_RELAYS: JSON.stringify([
    { origin: testKeys.remoteRelay.origin, jwks: { keys: [testKeys.remoteRelay.publicJwk] } },
  ]),
};

/** Runs of the model-based queue test (apps/proxy/test/model); `MODEL_RUNS=20000 npx vitest …` for a long soak. */
const modelRuns = Number(process.env.MODEL_RUNS ?? "") || 1000;

/**
 * `expect.poll` waits for what a session does after the call returns (its metrics report to a
 * shard is an RPC it does not await). vitest's default 1 s is shorter than that takes on a
 * loaded 2-core machine (load 10+ seen in CI): the wait, not the condition, failed there.
 */
const WORKERD_POLL = { timeout: 4_000, interval: 50 }; // under the 5 s test timeout

export default defineConfig({
  test: {
    reporters: ["default", "./scripts/summary-reporter.ts"],
    // What a test prints (the relay's warn lines, connector logs) is shown only when that test
    // fails, beside its error; a passing run shows what ran and the summaries.
    silent: "passed-only",
    // Workerd and e2e tests take hundreds of ms by design; list only the really slow ones.
    slowTestThreshold: 2_000,
    projects: [
      {
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: testBindings,
            },
          }),
        ],
        test: {
          name: "workers",
          include: ["apps/proxy/test/**/*.test.ts", "packages/signing/test/**/*.test.ts"],
          exclude: ["apps/proxy/test/caps/**"],
          setupFiles: ["apps/proxy/test/support/teardown.ts"],
          provide: { modelRuns },
          expect: { poll: WORKERD_POLL },
        },
      },
      {
        // Small queue caps so the capacity rules can be reached with a handful of messages.
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: {
                ...testBindings,
                RELAY_QUEUE_MAX_ITEMS: "10",
                RELAY_QUEUE_MAX_BYTES: "4096",
              },
            },
          }),
        ],
        test: {
          name: "workers-caps",
          include: ["apps/proxy/test/caps/**/*.test.ts"],
          setupFiles: ["apps/proxy/test/support/teardown.ts"],
          provide: { modelRuns },
          expect: { poll: WORKERD_POLL },
        },
      },
      {
        // Real `wrangler dev` and real connector processes: one file at a time, generous timeouts.
        test: {
          name: "e2e",
          environment: "node",
          include: ["apps/connector/test-e2e/**/*.e2e.test.ts"],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
          // A failing test also shows what its relays and connectors printed during it.
          setupFiles: ["apps/connector/test-e2e/support/output-on-failure.ts"],
        },
      },
      {
        test: {
          name: "node",
          environment: "node",
          include: [
            "packages/*/test/**/*.test.ts",
            "apps/connector/test/**/*.test.ts",
            "apps/openclaw-plugin/test/**/*.test.ts",
          ],
        },
      },
    ],
  },
});
