import { afterAll, afterEach } from "vitest";
import { resetClock } from "./clock.js";
import { closeOpenSockets } from "./socket.js";

// Setup file of the workerd projects: every test ends on the real clock (support/clock.ts), and
// every test file with no socket left open.
afterEach(resetClock);
afterAll(closeOpenSockets);
