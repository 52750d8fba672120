import { agentIdSchema, revocationBodySchema } from "@clawrelay/protocol";
import type { Command } from "commander";
import {
  type AdminAnswer,
  type AdminTargetOptions,
  adminCall,
  refusalLine,
  resolveAdminTarget,
} from "./admin-client.js";
import { describeRegistered, describeRevocation, describeStatus } from "./admin-view.js";
import { CliError, EXIT } from "./errors.js";
import { addJsonOption, colours, type OutputOptions, type Palette, printJson, wantsHuman } from "./output.js";

type AdminOptions = AdminTargetOptions & OutputOptions;

/** Renders a 2xx answer for a person; null when its shape is not the expected one (JSON then). */
type Render = (body: unknown, relay: string, now: number, palette: Palette) => string | null;

/**
 * A 2xx answer: rendered on a terminal, JSON otherwise. A refusal: its JSON on stdout for
 * scripts, and always one `clawrelay:` line with the relay's code, exit 1.
 */
function show(answer: AdminAnswer, relay: string, options: OutputOptions, render: Render): void {
  const ok = answer.status >= 200 && answer.status < 300;
  const human = wantsHuman(options);
  if (!ok) {
    if (!human) printJson(answer.body);
    throw new CliError(refusalLine(answer), EXIT.failed);
  }
  const text = human ? render(answer.body, relay, Date.now(), colours()) : null;
  if (text === null) printJson(answer.body);
  else process.stdout.write(text);
}

function withTarget(command: Command): Command {
  return addJsonOption(
    command
      .option("--relay <url>", "the relay's origin (default $CLAWRELAY_RELAY_URL)")
      .option(
        "--admin-token-file <file>",
        "a file (mode 0600) holding ADMIN_TOKEN (default: $CLAWRELAY_ADMIN_TOKEN); never given on the command line",
      ),
  );
}

function checkAgentId(id: string): string {
  if (!agentIdSchema.safeParse(id).success) {
    throw new CliError(`"${id}" is not an agent id (3–64 of a-z 0-9 . _ -, starting with a letter or digit)`);
  }
  return id;
}

/** `clawrelay admin register|revoke|status`: the relay's admin routes (PROTOCOL.md §4). */
export function registerAdminCommands(program: Command): void {
  const admin = program
    .command("admin")
    .description("operate a relay: register and revoke agents, read its status (needs its ADMIN_TOKEN)");

  withTarget(
    admin
      .command("register <agentId>")
      .description("make an agent a known recipient before its connector first links (PUT /v1/admin/agents/:id)"),
  ).action(async (agentId: string, options: AdminOptions) => {
    const id = checkAgentId(agentId);
    const target = await resolveAdminTarget(options);
    const answer = await adminCall(target, "PUT", `/v1/admin/agents/${encodeURIComponent(id)}`);
    show(answer, target.relay, options, (body, relay, _now, palette) => describeRegistered(body, relay, palette));
  });

  withTarget(
    admin
      .command("revoke [agentId]")
      .description("revoke every token of an agent, or one token with --jti (POST /v1/admin/revocations)")
      .option("--jti <jti>", "revoke only the identity token with this jti")
      .option("--reason <text>", "stored with the revocation"),
  ).action(async (agentId: string | undefined, options: AdminOptions & { jti?: string; reason?: string }) => {
    if ((agentId === undefined) === (options.jti === undefined)) {
      throw new CliError("name what to revoke: an agent id, or --jti <jti> (not both)");
    }
    const subject = agentId === undefined ? { jti: options.jti } : { agentId: checkAgentId(agentId) };
    const parsed = revocationBodySchema.safeParse({
      ...subject,
      ...(options.reason === undefined ? {} : { reason: options.reason }),
    });
    if (!parsed.success) throw new CliError("--jti must be 1–128 characters and --reason at most 500");
    const target = await resolveAdminTarget(options);
    const answer = await adminCall(target, "POST", "/v1/admin/revocations", parsed.data);
    show(answer, target.relay, options, (body, _relay, now, palette) => describeRevocation(body, now, palette));
  });

  withTarget(admin.command("status").description("the relay's aggregate over all agents (GET /v1/status)")).action(
    async (options: AdminOptions) => {
      const target = await resolveAdminTarget(options);
      const answer = await adminCall(target, "GET", "/v1/status");
      show(answer, target.relay, options, describeStatus);
    },
  );
}
