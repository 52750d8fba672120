import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

/** A test-only plugin whose one tool reports the caller's session (ctx) to a test server. */
export const PROBE_PLUGIN_DIR = join(here, "probe-plugin");
