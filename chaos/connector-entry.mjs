#!/usr/bin/env node
// A connector daemon for the chaos harness: `clawrelay connector start` with the harness's stop
// points injected (stop-points.mjs). Usage: connector-entry.mjs [--stop-at <point>[:<n>]] --config <file>
// It runs the internal bundle (apps/connector/dist/daemon-internal.mjs, made by `pnpm run build`),
// logs as the CLI does into a pipe (JSON), and stops on SIGTERM/SIGINT as the CLI does.
import { existsSync } from "node:fs";
import { parseArgs } from "node:util";
import { armedStopPoints, parseStopSpec } from "./stop-points.mjs";

const bundle = new URL("../apps/connector/dist/daemon-internal.mjs", import.meta.url);

function fail(message) {
  process.stderr.write(`clawrelay: ${message}\n`);
  process.exit(1);
}

const { values } = parseArgs({ options: { config: { type: "string" }, "stop-at": { type: "string" } } });
if (!values.config) fail("--config <file> is required");
const spec = values["stop-at"] === undefined ? null : parseStopSpec(values["stop-at"]);
if (values["stop-at"] !== undefined && spec === null) fail(`--stop-at ${values["stop-at"]}: not <point>[:<n>]`);
if (!existsSync(bundle)) fail("apps/connector/dist/daemon-internal.mjs is missing; run pnpm run build");

const { loadConnectorConfig, startConnector } = await import(bundle.href);
let running;
try {
  const config = await loadConnectorConfig(values.config);
  running = await startConnector(config, spec ? { stopPoints: armedStopPoints(spec) } : {});
} catch (error) {
  fail(error instanceof Error ? error.message : String(error));
}

// As runConnector (apps/connector/src/cli/connector-commands.ts): one line, close, exit 0 or 1.
let stopping = false;
const shutdown = (signal) => {
  if (stopping) return;
  stopping = true;
  process.stderr.write(`clawrelay: ${signal} received, stopping\n`);
  running.close().then(
    () => process.exit(0),
    (error) => {
      process.stderr.write(`clawrelay: shutdown failed: ${error.message}\n`);
      process.exit(1);
    },
  );
};
process.once("SIGTERM", () => shutdown("SIGTERM"));
process.once("SIGINT", () => shutdown("SIGINT"));
