import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { signRequest } from "@clawrelay/signing";
import type { Command } from "commander";
import { CliError } from "./errors.js";
import { assertTokenUnexpired, loadAgentIdentity, resolveAgentRef } from "./identity-files.js";
import { addJsonOption, colours, type OutputOptions, wantsHuman } from "./output.js";

async function bodyFrom(data: string | undefined): Promise<string | null> {
  if (data === undefined) return null;
  const text = data.startsWith("@")
    ? await readFile(resolve(data.slice(1)), "utf8").catch(() => {
        throw new CliError(`cannot read ${data.slice(1)}`);
      })
    : data;
  try {
    JSON.parse(text);
  } catch {
    throw new CliError("--data must be JSON (or @file holding JSON)");
  }
  return text;
}

/**
 * The status on stderr, so stdout is the body alone: `HTTP 200` for scripts (a pipe or --json),
 * coloured and with its reason phrase (`HTTP 404 Not Found`) for a person at a terminal.
 */
function statusLine(res: Response, failed: boolean, options: OutputOptions): string {
  if (!wantsHuman(options, process.stderr)) return `HTTP ${res.status}\n`;
  const palette = colours(process.stderr);
  const status = `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ""}`;
  return `${failed ? palette.red(status) : palette.green(status)}\n`;
}

/** `clawrelay request`: sign and send any request as an agent, the curl of clawrelay. */
export function registerRequestCommand(program: Command, home: () => string): void {
  const request = program
    .command("request <method> <url>")
    .description("sign and send a request as an agent; prints the status on stderr and the body on stdout")
    .requiredOption("--agent <dir|id>", "the agent's identity directory, or its id under <home>/agents")
    .option("--data <json|@file>", "JSON body (sent as application/json)")
    .option("--correlation-id <id>", "X-Claw-Correlation-Id")
    .option("--idempotency-key <key>", "X-Claw-Idempotency-Key")
    .option("--header <k:v...>", "extra header (repeatable)", (value: string, all: string[] = []) => [...all, value])
    .option("--timeout <ms>", "request timeout", "10000");
  addJsonOption(request).action(
    async (
      method: string,
      url: string,
      opts: {
        agent: string;
        data?: string;
        correlationId?: string;
        idempotencyKey?: string;
        header?: string[];
        timeout: string;
      } & OutputOptions,
    ) => {
      const dir = existsSync(resolve(opts.agent)) ? resolve(opts.agent) : resolveAgentRef(home(), opts.agent);
      const identity = await loadAgentIdentity(dir);
      assertTokenUnexpired(identity, Math.floor(Date.now() / 1000));
      let target: URL;
      try {
        target = new URL(url);
      } catch {
        throw new CliError(`not a URL: ${url}`);
      }
      const body = await bodyFrom(opts.data);
      const { headers } = await signRequest({
        token: identity.token,
        privateKey: identity.privateJwk,
        method: method.toUpperCase(),
        url: target,
        body,
        ...(opts.correlationId ? { correlationId: opts.correlationId } : {}),
        ...(opts.idempotencyKey ? { idempotencyKey: opts.idempotencyKey } : {}),
      });
      if (body !== null) headers["content-type"] = "application/json";
      for (const header of opts.header ?? []) {
        const colon = header.indexOf(":");
        if (colon < 1) throw new CliError(`--header must be name:value, got "${header}"`);
        headers[header.slice(0, colon).trim().toLowerCase()] = header.slice(colon + 1).trim();
      }
      const timeout = Number(opts.timeout);
      if (!Number.isInteger(timeout) || timeout < 1)
        throw new CliError("--timeout must be a whole number of milliseconds");
      let res: Response;
      try {
        res = await fetch(target, {
          method: method.toUpperCase(),
          headers,
          ...(body !== null ? { body } : {}),
          signal: AbortSignal.timeout(timeout),
        });
      } catch (err) {
        throw new CliError(
          `request failed: ${(err as Error).name === "TimeoutError" ? `no answer within ${timeout} ms` : (err as Error).message}`,
          1,
        );
      }
      const text = await res.text();
      const failed = !res.ok && res.status !== 101;
      process.stderr.write(statusLine(res, failed, opts));
      try {
        process.stdout.write(`${JSON.stringify(JSON.parse(text), null, 2)}\n`);
      } catch {
        process.stdout.write(text.endsWith("\n") || text === "" ? text : `${text}\n`);
      }
      if (failed) process.exitCode = 1;
    },
  );
}
