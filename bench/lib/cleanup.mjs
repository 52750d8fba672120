// Whatever the bench started must end with it, even on Ctrl-C or a CI timeout: `wrangler dev`
// runs detached (its own process group, so workerd goes with it) and would otherwise outlive us.
const groups = new Set();
const processes = new Set();

/** A process group leader (a detached wrangler) to SIGKILL if the bench dies first. */
export function trackGroup(pid) {
  if (pid) groups.add(pid);
  return () => groups.delete(pid);
}

/** A child process (a connector) to SIGKILL if the bench dies first; `pidOf()` reads it late. */
export function trackProcess(pidOf) {
  processes.add(pidOf);
  return () => processes.delete(pidOf);
}

function killAll() {
  for (const pid of groups) {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  for (const pidOf of processes) {
    const pid = pidOf();
    if (!pid) continue;
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

let installed = false;
export function installCleanup() {
  if (installed) return;
  installed = true;
  process.on("exit", killAll);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
    process.on(signal, () => {
      killAll();
      process.exit(130);
    });
  }
}
