import { PRIORITIES } from "@clawrelay/protocol";
import { type Command, Option } from "commander";
import { callLocalApi, type LocalTargetOptions, localTarget } from "../daemon/local-client.js";
import { action, integer, list, report } from "./command-kit.js";
import { addTargetOptions } from "./target-options.js";

/** `clawrelay send`: one message through the local connector's `POST /v1/outbound`. */
export function registerSendCommand(program: Command): void {
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
    .option("--conversation <id>", "conversation id (default with --reply-to: that message's conversation)");
  addTargetOptions(send).action(
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
        } & LocalTargetOptions,
      ) => {
        // One argument is the payload alone: the recipient comes from --reply-to's message.
        const [to, json] = second === undefined ? [undefined, first] : [first, second];
        if (json === undefined) throw new Error("missing the payload (JSON)");
        if (to === undefined && !options.replyTo) throw new Error("missing the recipient: give <to> or --reply-to");
        let payload: unknown;
        try {
          payload = JSON.parse(json);
        } catch {
          throw new Error(`payload is not valid JSON: ${json.slice(0, 80)}`);
        }
        const body = {
          ...(to !== undefined ? { to } : {}),
          payload,
          ...(options.priority ? { priority: options.priority } : {}),
          ...(options.ttl !== undefined ? { ttlSeconds: options.ttl } : {}),
          ...(options.notify ? { notify: options.notify } : {}),
          ...(options.toRelay ? { toRelay: options.toRelay } : {}),
          ...(options.correlationId ? { correlationId: options.correlationId } : {}),
          ...(options.idempotencyKey ? { idempotencyKey: options.idempotencyKey } : {}),
          ...(options.replyTo ? { inReplyTo: options.replyTo } : {}),
          ...(options.conversation ? { conversationId: options.conversation } : {}),
        };
        report(await callLocalApi(await localTarget(options), "POST", "/v1/outbound", body));
      },
    ),
  );
}
