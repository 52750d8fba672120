// Signed requests from the bench itself (the senders), with the project's own signing package.
// @clawrelay/signing ships TypeScript source; Node 20 cannot import it directly, so it is bundled
// once per run with the esbuild the connector already builds with.
import { mkdtempSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { ROOT } from "../../scripts/lib/relay.mjs";
import { fetchOnceMore } from "./http.mjs";

let signingModule = null;

async function signing() {
  if (signingModule) return signingModule;
  const require = createRequire(join(ROOT, "apps/connector/package.json"));
  const { build } = require("esbuild");
  const outfile = join(mkdtempSync(join(tmpdir(), "clawrelay-bench-signing-")), "signing.mjs");
  await build({
    stdin: {
      contents: 'export { signRequest, importPrivateKey, parsePrivateJwk } from "./src/index.ts";',
      resolveDir: join(ROOT, "packages/signing"),
      loader: "ts",
    },
    outfile,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "esm",
    logLevel: "warning",
  });
  signingModule = await import(pathToFileURL(outfile).href);
  return signingModule;
}

/**
 * A sender: an agent identity (made by the CLI under the relay's home) that signs its POSTs.
 * `post(url, bodyText)` resolves with the HTTP status and the parsed answer.
 */
export async function loadSender(agentId, identityDir) {
  const { signRequest, importPrivateKey, parsePrivateJwk } = await signing();
  const token = readFileSync(join(identityDir, "identity.jwt"), "utf8").trim();
  const privateKey = await importPrivateKey(
    parsePrivateJwk(JSON.parse(readFileSync(join(identityDir, "agent.private.jwk.json"), "utf8"))),
  );
  return {
    agentId,
    async post(url, body) {
      const res = await fetchOnceMore(async () => {
        const { headers } = await signRequest({ token, privateKey, method: "POST", url, body });
        return fetch(url, {
          method: "POST",
          headers: { ...headers, "content-type": "application/json" },
          body,
          signal: AbortSignal.timeout(30_000),
        });
      });
      const text = await res.text();
      let json = null;
      try {
        json = JSON.parse(text);
      } catch {
        json = { raw: text.slice(0, 200) };
      }
      return { status: res.status, json, retryAfter: res.headers.get("retry-after") };
    },
  };
}
