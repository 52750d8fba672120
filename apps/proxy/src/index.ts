import { createApp } from "./app.js";

export { Directory } from "./directory/directory.js";
export { MetricsShard } from "./metrics/metrics-shard.js";
export { RelaySession } from "./session/relay-session.js";

const app = createApp();

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;
