import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CLIENT_MODULE, renderClientModule } from "../../proxy/scripts/build-dashboard.mjs";

// The Worker serves the dashboard's client from a committed module (neither wrangler nor the
// workers test pool runs a build step); this rebuilds it from the TypeScript sources in memory.
describe("dashboard client bundle", () => {
  it("apps/proxy/src/dashboard/client-script.ts is what its sources build to (else: node apps/proxy/scripts/build-dashboard.mjs)", async () => {
    const fresh = await renderClientModule();
    expect(readFileSync(CLIENT_MODULE, "utf8") === fresh).toBe(true);
  });
});
