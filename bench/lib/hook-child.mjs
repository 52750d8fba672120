// The stand-in agent webhook in its own process (started by hook-process.mjs). An agent is its own
// process; a webhook inside the bench process would answer only as fast as the 32 senders there
// leave its event loop free, and the connector calls its hook one at a time.
// stdout: "url <url>", then one line per message call: "<item id> <payload t or -> <arrival, ms since the epoch>".
// stdin: "release" answers the calls held so far and goes back to answering at once.
import { StandInHook } from "../../scripts/lib/hook.mjs";

const hook = await new StandInHook({ keepCalls: false }).start();
hook.mode = process.argv[2] ?? "ok";
let pending = "";
hook.onCall = (call) => {
  const item = call.body.item;
  if (call.body.type !== "clawrelay.message.v1" || !item) return;
  const t = typeof item.payload?.t === "number" ? item.payload.t : "-";
  pending += `${item.id} ${t} ${performance.timeOrigin + performance.now()}\n`;
  if (pending.length > 16_384) flush();
  else setImmediate(flush);
};
function flush() {
  if (!pending) return;
  process.stdout.write(pending);
  pending = "";
}
process.stdout.write(`url ${hook.url}\n`);
let input = "";
process.stdin.on("data", (chunk) => {
  input += chunk;
  for (let end = input.indexOf("\n"); end >= 0; end = input.indexOf("\n")) {
    const command = input.slice(0, end).trim();
    input = input.slice(end + 1);
    if (command === "release") hook.release();
  }
});
process.stdin.on("end", async () => {
  flush();
  await hook.close();
  process.exit(0);
});
