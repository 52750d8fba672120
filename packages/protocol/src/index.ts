export * from "./bodies.js";
export * from "./defaults.js";
export * from "./errors.js";
export * from "./frames.js";
export * from "./headers.js";
export * from "./ids.js";
export * from "./metrics.js";
export * from "./receipts.js";
