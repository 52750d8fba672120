// Unit test of the run's own-CPU meter (bench/lib/procstat.mjs TreeMeter); run by bench/run.mjs.
// Linux only, like the machines the bench runs on: it reads /proc.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { test } from "node:test";
import { TreeMeter } from "../lib/procstat.mjs";

// Burns CPU until killed, and says so once it has used 500 ms. Started by a shell, in one process
// group, the way wrangler's node runs workerd: stopping the group ends the shell first, so the
// burner is reparented to init and reaped there, not by a process of this tree.
const BURN =
  "const s = process.cpuUsage(); let said = false; for (;;) { if (!said && process.cpuUsage(s).user >= 500000) { said = true; console.log('burned'); } }";

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

test("CPU of a descendant that its parent never reaps still counts as the tree's own", async () => {
  const meter = new TreeMeter().start(50);
  const shell = spawn("sh", ["-c", `"${process.execPath}" -e "${BURN}" & echo "pid $!"; wait`], {
    stdio: ["ignore", "pipe", "ignore"],
    detached: true,
  });
  let output = "";
  shell.stdout.on("data", (chunk) => {
    output += chunk;
  });
  while (!output.includes("burned")) await sleep(20);
  await sleep(150); // sampled at least twice since
  const burner = Number(/pid (\d+)/.exec(output)[1]);
  process.kill(-shell.pid, "SIGTERM");
  await once(shell, "exit");
  while (alive(burner)) await sleep(20);
  const seconds = meter.stop();
  assert.ok(seconds >= 0.5, `counted ${seconds} CPU seconds; the burner alone used over 0.5`);
});
