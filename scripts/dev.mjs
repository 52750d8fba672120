#!/usr/bin/env node
// `pnpm dev`: the relay alone on http://127.0.0.1:8787 under `wrangler dev`, with local
// persistence in .clawrelay/dev/state. On first run it makes a dev registry, an admin token and
// a receipt key, writes .dev.vars (never committed) and an `alice` and a `bob` identity.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { ensureAgent, prepareRelayHome, ROOT, startRelay } from "./lib/relay.mjs";

const port = Number(process.env.PORT ?? 8787);
const home = join(ROOT, ".clawrelay/dev");
const origin = `http://127.0.0.1:${port}`;
const vars = await prepareRelayHome({ home, origin });
writeFileSync(
  join(ROOT, ".dev.vars"),
  `${Object.entries(vars)
    .map(([k, v]) => `${k}='${v}'`)
    .join("\n")}\n`,
  { mode: 0o600 },
);
for (const id of ["alice", "bob"]) ensureAgent(home, id, origin);

const relay = await startRelay({ home, port, vars, logLevel: "info", stdio: "inherit" });
console.log(`
clawrelay is running at ${relay.url}  (state: .clawrelay/dev/state)
  identities:  .clawrelay/dev/agents/{alice,bob}   admin token: .clawrelay/dev/admin-token
  try:         node apps/connector/bin/clawrelay.mjs --home .clawrelay/dev request GET ${relay.url}/v1/agents/alice/status --agent alice
`);
const stop = async () => {
  await relay.stop();
  process.exit(0);
};
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
await relay.exited;
