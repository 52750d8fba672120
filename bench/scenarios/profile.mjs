// Where the time goes: 32 → 1 once more on the clawrelay side with the Worker's V8 profiler
// attached (through wrangler's inspector) and the connector run with --cpu-prof. Its figures
// are not reported as throughput (profiling slows both); the top self-time functions are.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { summarizeProfile, summarizeProfileFile } from "../lib/cpuprofile.mjs";
import { WorkerProfiler } from "../lib/inspector.mjs";
import { runLive } from "./live.mjs";

export async function runProfile(side, { total, artifacts, top = 12 }) {
  const dir = join(artifacts, "profiles");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const profiler = await WorkerProfiler.attach(side.relay.inspectorPort);
  side.profileDir = dir;
  let live;
  let workerProfile;
  try {
    await profiler.start();
    live = await runLive(side, { key: "prof", senderCount: 32, agentCount: 1, total });
  } finally {
    workerProfile = await profiler.stop().catch(() => null);
    side.profileDir = null;
  }
  const problems = [...live.problems];
  let worker = null;
  if (workerProfile) {
    writeFileSync(join(dir, "worker.cpuprofile"), JSON.stringify(workerProfile));
    worker = summarizeProfile(workerProfile, top);
  } else problems.push("profile: the Worker's profile could not be read");
  // node --cpu-prof writes CPU.<date>.<pid>...cpuprofile when the connector exits (gracefully).
  const connectorFile = readdirSync(dir).find((f) => f.startsWith("CPU.") && f.endsWith(".cpuprofile"));
  const connector = connectorFile ? summarizeProfileFile(join(dir, connectorFile), top) : null;
  if (!connector) problems.push("profile: the connector wrote no CPU profile");
  return {
    side: side.name,
    messages: live.messages,
    msgsPerSecond: live.msgsPerSecond,
    worker,
    connector,
    dir,
    problems,
  };
}
