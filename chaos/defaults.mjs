// The relay's and the connector's defaults as packages/protocol states them (defaults.ts), read
// from that file rather than copied, so a fault that checks a bound "at the defaults" follows
// any change of them. Used by the chaos harness and the benchmarks (plain Node, no TypeScript).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../scripts/lib/relay.mjs";

const SOURCE = readFileSync(join(ROOT, "packages/protocol/src/defaults.ts"), "utf8");

/** The numeric fields of `export const <name> = { … }` in defaults.ts. */
function numbers(name) {
  const start = SOURCE.indexOf(`export const ${name} = {`);
  if (start < 0) throw new Error(`${name} not found in packages/protocol/src/defaults.ts`);
  const body = SOURCE.slice(start, SOURCE.indexOf("} as const", start));
  const found = {};
  for (const [, key, value] of body.matchAll(/^\s*(\w+):\s*([\d_.]+),/gm))
    found[key] = Number(value.replaceAll("_", ""));
  return found;
}

export const RELAY_DEFAULTS = numbers("RELAY_DEFAULTS");
export const CONNECTOR_DEFAULTS = numbers("CONNECTOR_DEFAULTS");
