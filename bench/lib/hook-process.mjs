// The stand-in agent webhook as a child process (hook-child.mjs); its calls land in a tally here.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { ROOT } from "../../scripts/lib/relay.mjs";
import { trackProcess } from "./cleanup.mjs";

export class HookProcess {
  url = "";
  #child = null;
  #exited = null;

  /**
   * Start it in `mode` ("ok", or "hold": calls wait for `release()`). Every message call becomes
   * `tally.arrive(itemId, payload t, arrival)`, the arrival on this process's performance clock.
   */
  static async start(tally, mode = "ok") {
    const hook = new HookProcess();
    const child = spawn(process.execPath, [join(ROOT, "bench/lib/hook-child.mjs"), mode], {
      stdio: ["pipe", "pipe", "inherit"],
    });
    hook.#child = child;
    trackProcess(() => (child.exitCode === null ? child.pid : undefined));
    hook.#exited = new Promise((resolve) => child.once("exit", resolve));
    let buffered = "";
    await new Promise((resolve, reject) => {
      child.once("exit", (code) => reject(new Error(`stand-in hook exited (${code})`)));
      child.stdout.on("data", (chunk) => {
        buffered += chunk;
        for (let end = buffered.indexOf("\n"); end >= 0; end = buffered.indexOf("\n")) {
          const line = buffered.slice(0, end);
          buffered = buffered.slice(end + 1);
          if (line.startsWith("url ")) {
            hook.url = line.slice(4);
            resolve();
            continue;
          }
          const [id, t, arrivedAt] = line.split(" ");
          if (!id || !arrivedAt) continue;
          // Both processes read one wall clock: map the child's arrival onto this process's clock.
          tally.arrive(id, t === "-" ? null : Number(t), Number(arrivedAt) - performance.timeOrigin);
        }
      });
    });
    return hook;
  }

  get pid() {
    return this.#child?.pid;
  }

  /** Answer the held calls and go back to answering at once. */
  release() {
    this.#child.stdin.write("release\n");
  }

  async close() {
    if (this.#child.exitCode !== null) return;
    this.#child.stdin.end();
    const timer = setTimeout(() => this.#child.kill("SIGKILL"), 3_000);
    await this.#exited;
    clearTimeout(timer);
  }
}
