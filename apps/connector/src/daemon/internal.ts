// The daemon without the CLI, for this repository's own harnesses (chaos/connector-entry.mjs):
// build.mjs bundles it as dist/daemon-internal.mjs, which the published package does not carry.
export { loadConnectorConfig } from "./config.js";
export { type ConnectorDeps, type RunningConnector, startConnector } from "./daemon.js";
export type { StopPoint, StopPointItem, StopPoints } from "./stop-points.js";
