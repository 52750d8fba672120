// Talking to a relay's admin routes (PROTOCOL.md §4) as its operator: the relay from --relay or
// CLAWRELAY_RELAY_URL, the bearer token from CLAWRELAY_ADMIN_TOKEN or a private file. Never from
// argv: a command line is visible to every local user (ps, /proc) and lands in shell history.
import { z } from "zod";
import { CliError, EXIT } from "./errors.js";
import { readPrivateText } from "./files.js";
import { normalizeRelayOrigin } from "./identity-files.js";

export interface AdminTarget {
  relay: string;
  token: string;
}

export interface AdminTargetOptions {
  relay?: string;
  adminTokenFile?: string;
}

/** Long enough to read through a relay under load; short enough that a hung one is named. */
const ADMIN_CALL_TIMEOUT_MS = 20_000;

/** Printable ASCII without spaces: what fits a bearer header and what `relay init` makes. */
const TOKEN_PATTERN = /^[\x21-\x7e]+$/;

export async function resolveAdminTarget(
  options: AdminTargetOptions,
  env: NodeJS.ProcessEnv = process.env,
): Promise<AdminTarget> {
  const relayOption = options.relay ?? (env.CLAWRELAY_RELAY_URL || undefined);
  if (relayOption === undefined) throw new CliError("no relay: pass --relay <url> or set CLAWRELAY_RELAY_URL");
  const relay = normalizeRelayOrigin(relayOption);
  let token: string;
  if (options.adminTokenFile !== undefined) {
    token = (
      await readPrivateText(options.adminTokenFile, {
        what: "admin token",
        createdBy: "clawrelay relay init",
      })
    ).trim();
  } else if (env.CLAWRELAY_ADMIN_TOKEN) {
    token = env.CLAWRELAY_ADMIN_TOKEN.trim();
  } else {
    throw new CliError("no admin token: set CLAWRELAY_ADMIN_TOKEN or pass --admin-token-file <file> (mode 0600)");
  }
  // Never echo it: a token pasted with a stray character is still mostly the secret.
  if (!TOKEN_PATTERN.test(token)) throw new CliError("the admin token is empty or has spaces or control characters");
  return { relay, token };
}

export interface AdminAnswer {
  status: number;
  body: unknown;
}

/** The relay's error shape, loosely: a code this CLI does not know yet is still worth printing. */
const relayErrorSchema = z.object({
  error: z.object({ code: z.string(), message: z.string().optional(), correlationId: z.string().optional() }),
});

/** A relay refusal as one line: status, code, and the relay's own message (it carries no secret). */
export function refusalLine(answer: AdminAnswer): string {
  const parsed = relayErrorSchema.safeParse(answer.body);
  if (!parsed.success) return `the relay answered ${answer.status} without an error code`;
  const { code, message, correlationId } = parsed.data.error;
  const detail = message ? `: ${message}` : "";
  const trace = correlationId ? ` (correlation id ${correlationId})` : "";
  return `the relay refused (${answer.status} ${code})${detail}${trace}`;
}

function causeOf(error: unknown): string {
  if (error instanceof Error && error.name === "TimeoutError") return `no answer within ${ADMIN_CALL_TIMEOUT_MS} ms`;
  const cause = error instanceof Error ? (error.cause as { code?: unknown } | undefined) : undefined;
  return typeof cause?.code === "string" ? cause.code : error instanceof Error ? error.message : "unknown error";
}

export async function adminCall(
  target: AdminTarget,
  method: string,
  path: string,
  body?: unknown,
): Promise<AdminAnswer> {
  let response: Response;
  try {
    response = await fetch(`${target.relay}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${target.token}`,
        accept: "application/json",
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(ADMIN_CALL_TIMEOUT_MS),
    });
  } catch (error) {
    throw new CliError(`cannot reach the relay at ${target.relay}: ${causeOf(error)}`, EXIT.failed);
  }
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text === "" ? null : JSON.parse(text);
  } catch {
    throw new CliError(
      `${target.relay} answered ${response.status} with something other than JSON; is it a clawrelay relay?`,
      EXIT.failed,
    );
  }
  return { status: response.status, body: parsed };
}
