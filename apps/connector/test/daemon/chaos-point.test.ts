import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { build } from "esbuild";
import { afterEach, describe, expect, it } from "vitest";
import { parseChaosSpec } from "../../src/daemon/chaos-point.js";

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

describe("CLAWRELAY_CHAOS_STOP_AT", () => {
  it("arms a known point, at the first occurrence unless told otherwise", () => {
    expect(parseChaosSpec("before_commit")).toEqual({ point: "before_commit", occurrence: 1 });
    expect(parseChaosSpec("after_commit:3")).toEqual({ point: "after_commit", occurrence: 3 });
    expect(parseChaosSpec(" after_ack:12 ")).toEqual({ point: "after_ack", occurrence: 12 });
  });

  it("stays inert when unset, empty, or not understood", () => {
    for (const raw of [undefined, "", "after_ack:0", "after_ack:-1", "during_hook", "after_ack:x", "after_ack:1:2"]) {
      expect(parseChaosSpec(raw)).toBeNull();
    }
  });

  it("stops the process at the n-th occurrence with a message in hand, naming the hook calls in flight", async () => {
    const stopped = await runStopping(
      "after_commit:2",
      `const inFlight = () => ["m-in-flight", "m-2"];
chaosPoint("after_commit", [{ kind: "receipt", id: "r-1" }], inFlight); // no message: not counted
chaosPoint("before_commit", [{ kind: "message", id: "m-1" }], inFlight); // another point
chaosPoint("after_commit", [{ kind: "message", id: "m-1" }], inFlight); // occurrence 1
chaosPoint("after_commit", [{ kind: "message", id: "m-2" }], inFlight); // occurrence 2: stop`,
    );
    expect(stopped).toMatchObject({ point: "after_commit", messageIds: ["m-2"], hookCallsInFlight: ["m-in-flight"] });
  });

  it("after_ack counts only messages whose ack frame went to the socket", async () => {
    const stopped = await runStopping(
      "after_ack",
      `chaosPoint("after_ack", [{ kind: "message", id: "m-not-acked-yet" }]);
noteAckSent(["m-acked"]);
chaosPoint("after_ack", [{ kind: "message", id: "m-acked" }]);`,
    );
    expect(stopped).toMatchObject({ point: "after_ack", messageIds: ["m-acked"], hookCallsInFlight: [] });
  });
});

/**
 * Run `body` (with chaosPoint and noteAckSent in scope) in a real process armed with `spec`;
 * expect it to stop itself (state T) after one chaos_stop line, kill it, and return that line.
 */
async function runStopping(spec: string, body: string): Promise<Record<string, unknown>> {
  const bundleDir = resolve(import.meta.dirname, "../../node_modules/.cache", `chaos-${process.pid}-${Date.now()}`);
  mkdirSync(bundleDir, { recursive: true });
  cleanups.push(() => rmSync(bundleDir, { recursive: true, force: true }));
  const entry = join(bundleDir, "child-entry.ts");
  const source = resolve(import.meta.dirname, "../../src/daemon/chaos-point.ts");
  writeFileSync(
    entry,
    `import { chaosPoint, noteAckSent } from ${JSON.stringify(source)};\n${body}\nprocess.stdout.write("not stopped\\n");\n`,
  );
  const outfile = join(bundleDir, "child.mjs");
  await build({ entryPoints: [entry], bundle: true, platform: "node", format: "esm", outfile });

  const child = spawn(process.execPath, [outfile], {
    env: { ...process.env, CLAWRELAY_CHAOS_STOP_AT: spec },
    stdio: ["ignore", "pipe", "pipe"],
  });
  cleanups.push(() => child.kill("SIGKILL"));
  const exited = new Promise<NodeJS.Signals | null>((done) => child.once("exit", (_code, signal) => done(signal)));
  let stdout = "";
  child.stdout.on("data", (chunk) => {
    stdout += String(chunk);
  });
  const line = await new Promise<string>((done) => {
    let stderr = "";
    child.stderr.on("data", (chunk) => {
      stderr += String(chunk);
      if (stderr.includes("\n")) done(stderr.split("\n")[0] ?? "");
    });
  });
  const parsed = JSON.parse(line) as Record<string, unknown>;
  expect(parsed).toMatchObject({ event: "chaos_stop", pid: child.pid });
  // Stopped, not running on: the harness kills it here.
  const state = () => {
    const stat = readFileSync(`/proc/${child.pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
  };
  const deadline = Date.now() + 5_000;
  while (state() !== "T" && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  expect(state()).toBe("T");
  child.kill("SIGKILL");
  expect(await exited).toBe("SIGKILL");
  expect(stdout).toBe("");
  return parsed;
}
