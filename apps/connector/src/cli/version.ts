import { readFileSync } from "node:fs";

declare const __CLAWRELAY_VERSION__: string | undefined;

/**
 * The package's version. The bundle gets it at build time (build.mjs `define`); run from source
 * (tests, tsx) it is read from apps/connector/package.json next to src/.
 */
export const CLAWRELAY_VERSION: string =
  typeof __CLAWRELAY_VERSION__ === "string"
    ? __CLAWRELAY_VERSION__
    : (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;
