/**
 * The dashboard's browser code, bundled by apps/proxy/scripts/build-dashboard.mjs into
 * apps/proxy/src/dashboard/client-script.ts and served as /dashboard/assets/app.js (the CSP
 * allows no inline script). Each page's shell (pages.ts) names itself in `data-page`.
 */
import { startAgent } from "./agent.js";
import { startOverview } from "./overview.js";
import { startSearch } from "./search.js";
import { startTrace } from "./trace.js";

const PAGES: Record<string, () => void> = {
  overview: startOverview,
  agent: startAgent,
  search: startSearch,
  trace: startTrace,
};

PAGES[document.body.dataset.page ?? ""]?.();
