import type { Command } from "commander";
import { callLocalApi, type LocalTargetOptions, localTarget } from "../daemon/local-client.js";
import { action, list, report } from "./command-kit.js";
import { renderDeadLetters, renderReplay } from "./dead-letters-view.js";
import { addJsonOption, type OutputOptions } from "./output.js";
import { renderStatus } from "./status-view.js";
import { addTargetOptions } from "./target-options.js";

/** `clawrelay status` and `clawrelay dead-letters`: read (and replay) the local connector's state. */
export function registerClientCommands(program: Command): void {
  addJsonOption(
    addTargetOptions(
      program.command("status").description("show the local connector's link, role, breakers and queues"),
    ),
  ).action(
    action(async (options: LocalTargetOptions & OutputOptions) => {
      const answer = await callLocalApi(await localTarget(options), "GET", "/v1/status");
      report(answer, { options, render: renderStatus });
    }),
  );

  addJsonOption(
    addTargetOptions(
      program
        .command("dead-letters")
        .description("list the local connector's dead letters, or put them back for delivery")
        .option("--replay", "replay dead letters into the inbox (all, or those given with --ids)")
        .option("--ids <list>", "with --replay: only these item ids, comma separated", list),
    ),
  ).action(
    action(async (options: { replay?: boolean; ids?: string[] } & LocalTargetOptions & OutputOptions) => {
      const target = await localTarget(options);
      if (options.replay) {
        const body = options.ids && options.ids.length > 0 ? { ids: options.ids } : {};
        const answer = await callLocalApi(target, "POST", "/v1/dead-letters/replay", body);
        report(answer, { options, render: (replayed, _now, palette) => renderReplay(replayed, palette) });
      } else {
        report(await callLocalApi(target, "GET", "/v1/dead-letters"), { options, render: renderDeadLetters });
      }
    }),
  );
}
