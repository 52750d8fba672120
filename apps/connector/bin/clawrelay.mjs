#!/usr/bin/env node
// The `clawrelay` command: runs the bundle build.mjs makes. In a checkout the bundle is
// git-ignored, so say how to make it instead of failing with a module-resolution stack.
import { existsSync } from "node:fs";

const bundle = new URL("../dist/clawrelay.mjs", import.meta.url);
if (!existsSync(bundle)) {
  process.stderr.write("clawrelay: dist/clawrelay.mjs is missing; run pnpm run build (in the clawrelay checkout)\n");
  process.exit(1);
}
try {
  await import(bundle.href);
} catch (error) {
  // The bundle handles its own errors; this is only reached when it cannot load at all, e.g.
  // better-sqlite3 (native, installed beside it) is missing or was built for another Node.
  const reason = error instanceof Error ? error.message.split("\n")[0] : String(error);
  process.stderr.write(`clawrelay: cannot load dist/clawrelay.mjs: ${reason}\n`);
  process.exit(1);
}
