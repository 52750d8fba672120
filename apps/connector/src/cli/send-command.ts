import { FAILURE_RECEIPT_STATUSES, PRIORITIES } from "@clawrelay/protocol";
import { type Command, Option } from "commander";
import { z } from "zod";
import { callLocalApi, type LocalTarget, type LocalTargetOptions, localTarget } from "../daemon/local-client.js";
import { action, integer, list, print, report } from "./command-kit.js";
import { CliError } from "./errors.js";
import { addJsonOption, colours, type OutputOptions, wantsHuman } from "./output.js";
import { sentLine, waitLine } from "./send-view.js";
import { addTargetOptions } from "./target-options.js";
import {
  DEFAULT_WAIT_TIMEOUT_SECONDS,
  systemWaitDeps,
  WAIT_STAGES,
  type WaitDeps,
  type WaitOutcome,
  type WaitStage,
  waitForReceipt,
} from "./wait-receipt.js";

/** The part of the `POST /v1/outbound` answer (PROTOCOL.md §8) that --wait and the line need. */
const sentSchema = z.looseObject({ outboundId: z.string(), state: z.string(), duplicate: z.boolean().optional() });

interface WaitOptions {
  wait?: WaitStage;
  waitTimeout?: number;
}

/** `clawrelay send`: one message through the local connector's `POST /v1/outbound`. */
export function registerSendCommand(program: Command, waitDeps: WaitDeps = systemWaitDeps): void {
  const send = program
    .command("send")
    .description("send a message through the local connector (with --reply-to, <to> may be left out)")
    .usage("[options] [to] <json>")
    .argument("[to]", "recipient agent id (default with --reply-to: that message's sender)")
    .argument("[json]", "payload, as JSON")
    .addOption(new Option("--priority <priority>", "lane").choices([...PRIORITIES]))
    .addOption(new Option("--ttl <seconds>", "time to live").argParser(integer("ttl", 1, 604_800)))
    .option("--notify <list>", "receipts to ask for: delivered,processed,delayed", list)
    .option("--to-relay <url>", "the recipient's relay, when it is not ours")
    .option("--correlation-id <id>", "correlation id (default: a new ULID)")
    .option("--idempotency-key <key>", "idempotency key (default: fixed per message)")
    .option("--reply-to <id>", "the message id or correlation id of a received message this one answers")
    .option("--conversation <id>", "conversation id (default with --reply-to: that message's conversation)")
    .addOption(
      new Option(
        "--wait <stage>",
        "wait for this receipt (added to --notify); exit 0 once it or a later one came, 1 on a failure receipt " +
          `(${FAILURE_RECEIPT_STATUSES.join(", ")}) or when --wait-timeout passes`,
      ).choices([...WAIT_STAGES]),
    )
    .addOption(
      new Option(
        "--wait-timeout <seconds>",
        `with --wait: seconds to wait (default ${DEFAULT_WAIT_TIMEOUT_SECONDS}), then exit 1`,
      ).argParser(integer("wait-timeout", 1, 86_400)),
    )
    .hook("preAction", (command) => {
      const { wait, waitTimeout } = command.opts<WaitOptions>();
      if (waitTimeout !== undefined && wait === undefined) throw new CliError("--wait-timeout needs --wait");
    });
  addJsonOption(addTargetOptions(send)).action(
    action(
      async (
        first: string | undefined,
        second: string | undefined,
        options: {
          priority?: string;
          ttl?: number;
          notify?: string[];
          toRelay?: string;
          correlationId?: string;
          idempotencyKey?: string;
          replyTo?: string;
          conversation?: string;
        } & WaitOptions &
          OutputOptions &
          LocalTargetOptions,
      ) => {
        // One argument is the payload alone: the recipient comes from --reply-to's message.
        const [to, json] = second === undefined ? [undefined, first] : [first, second];
        if (json === undefined) throw new CliError("missing the payload (JSON)");
        if (to === undefined && !options.replyTo) throw new CliError("missing the recipient: give <to> or --reply-to");
        let payload: unknown;
        try {
          payload = JSON.parse(json);
        } catch {
          throw new CliError(`payload is not valid JSON: ${json.slice(0, 80)}`);
        }
        const notify = notifyFor(options);
        const body = {
          ...(to !== undefined ? { to } : {}),
          payload,
          ...(options.priority ? { priority: options.priority } : {}),
          ...(options.ttl !== undefined ? { ttlSeconds: options.ttl } : {}),
          ...(notify ? { notify } : {}),
          ...(options.toRelay ? { toRelay: options.toRelay } : {}),
          ...(options.correlationId ? { correlationId: options.correlationId } : {}),
          ...(options.idempotencyKey ? { idempotencyKey: options.idempotencyKey } : {}),
          ...(options.replyTo ? { inReplyTo: options.replyTo } : {}),
          ...(options.conversation ? { conversationId: options.conversation } : {}),
        };
        const target = await localTarget(options);
        const answer = await callLocalApi(target, "POST", "/v1/outbound", body);
        const human = wantsHuman(options);
        const sent = sentSchema.safeParse(answer.status >= 200 && answer.status < 300 ? answer.body : undefined);
        // A refusal: one line on a terminal, the error body for scripts, exit 1 (report()).
        if (!sent.success) return report(answer, { options, render: () => null });
        if (options.wait === undefined) {
          if (human) process.stdout.write(sentLine(sent.data, to, colours()));
          else print(answer.body);
          return;
        }
        const timeoutSeconds = options.waitTimeout ?? DEFAULT_WAIT_TIMEOUT_SECONDS;
        const outcome = await waitForReceipt(
          readOutbound(target, sent.data.outboundId),
          options.wait,
          timeoutSeconds * 1_000,
          waitDeps,
        );
        if (!human) print({ ...sent.data, wait: waitSummary(outcome, options.wait), outbound: outcome.view });
        const stream = outcome.kind === "reached" ? process.stdout : process.stderr;
        const line = waitLine(outcome, options.wait, timeoutSeconds, colours(stream));
        // A script reads the JSON; a failure or a timeout still gets its one line on stderr.
        if (human || line.stream === "stderr") stream.write(line.text);
        if (outcome.kind !== "reached") process.exitCode = 1;
      },
    ),
  );
}

/** --notify as given, plus the stage --wait waits for: without it asked, no such receipt comes. */
function notifyFor(options: { notify?: string[] } & WaitOptions): string[] | undefined {
  if (options.wait === undefined) return options.notify;
  const asked = options.notify ?? [];
  return asked.includes(options.wait) ? asked : [...asked, options.wait];
}

function readOutbound(target: LocalTarget, outboundId: string) {
  return (timeoutMs: number) =>
    callLocalApi(target, "GET", `/v1/outbound/${encodeURIComponent(outboundId)}`, undefined, timeoutMs);
}

/** What --wait found, for scripts: the stage, how it ended, and the receipt that ended it. */
function waitSummary(outcome: WaitOutcome, stage: WaitStage) {
  switch (outcome.kind) {
    case "reached":
      return { for: stage, outcome: "reached", status: outcome.receipt.status, receipt: outcome.receipt };
    case "failure":
      return {
        for: stage,
        outcome: "failure",
        status: outcome.status,
        reason: outcome.reason,
        ...(outcome.receipt ? { receipt: outcome.receipt } : {}),
      };
    case "timeout":
      return { for: stage, outcome: "timeout" };
  }
}
