import { afterAll } from "vitest";
import { closeOpenSockets } from "./socket.js";

// Setup file of the workerd projects: every test file ends with no socket left open.
afterAll(closeOpenSockets);
