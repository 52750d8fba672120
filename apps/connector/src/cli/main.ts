import { Command, CommanderError } from "commander";
import { registerAdminCommands } from "./admin-command.js";
import { registerConnectorCommands } from "./connector-commands.js";
import { CliError } from "./errors.js";
import { registerIdentityCommands } from "./identity-commands.js";
import { resolveHome } from "./identity-files.js";
import { registerOpenClawCommands } from "./openclaw-command.js";
import { registerRelayCommands } from "./relay-command.js";
import { registerRequestCommand } from "./request-command.js";
import { registerTraceCommand } from "./trace-command.js";
import { CLAWRELAY_VERSION } from "./version.js";

const program = new Command("clawrelay")
  .description("clawrelay: identities, signed requests and the connector daemon")
  .version(CLAWRELAY_VERSION, "-V, --version", "print the version")
  .option("--home <dir>", "where identities live (default $CLAWRELAY_HOME or ~/.clawrelay)")
  .showHelpAfterError()
  .exitOverride();

const home = () => resolveHome(program.opts<{ home?: string }>().home);
registerIdentityCommands(program);
registerRequestCommand(program, home);
registerConnectorCommands(program);
registerTraceCommand(program, home);
registerOpenClawCommands(program);
registerAdminCommands(program);
registerRelayCommands(program);

// `clawrelay status | head -1`: the reader went away; that is the end of the output, not a crash.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
  process.stderr.write(`clawrelay: cannot write to stdout: ${error.message}\n`);
  process.exit(1);
});

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // commander already printed its message (help, usage errors).
    process.exit(err.exitCode === 0 ? 0 : 2);
  }
  if (err instanceof CliError) {
    process.stderr.write(`clawrelay: ${err.message}\n`);
    process.exit(err.exitCode);
  }
  // Never a stack trace: name the failure, keep secrets out.
  process.stderr.write(`clawrelay: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
