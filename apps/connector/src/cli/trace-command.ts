import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { CONNECTOR_DEFAULTS } from "@clawrelay/protocol";
import type { Command } from "commander";
import { loadConnectorConfig } from "../daemon/config.js";
import { localBaseUrl, localTarget, localToken } from "../daemon/local-client.js";
import type { LocalTrace } from "../daemon/trace-wire.js";
import { CliError, EXIT } from "./errors.js";
import {
  AGENT_FILES,
  type AgentIdentity,
  agentDir,
  assertTokenUnexpired,
  checkAgentId,
  loadAgentIdentity,
  normalizeRelayOrigin,
  resolveAgentRef,
} from "./identity-files.js";
import { collect, wholeNumber } from "./options.js";
import { credentialRefusal, TrustedOrigins } from "./trace-origins.js";
import { buildReport, type RelaySkipped, renderReport } from "./trace-report.js";
import {
  type ConnectorAnswer,
  type ConnectorSource,
  fetchConnectorTrace,
  fetchRelayRecord,
  type RelayAnswer,
  type RelayAuth,
} from "./trace-sources.js";
import { resolveSubject, type TraceSubject } from "./trace-subject.js";

const ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;
const DEFAULT_CONNECTOR = `http://${CONNECTOR_DEFAULTS.listenHost}:${CONNECTOR_DEFAULTS.listenPort}`;

interface TraceOptions {
  connector?: string[];
  agent?: string;
  adminToken?: string;
  relay?: string;
  to?: string;
  json?: boolean;
  timeout: string;
}

/**
 * `--connector`: a connector's config file (its address, API token and the relays it is
 * configured with), or its API's URL (the token then from CLAWRELAY_API_TOKEN or
 * CLAWRELAY_DATA_DIR, as for the other client commands).
 */
async function connectorSource(value: string, trusted: TrustedOrigins): Promise<ConnectorSource> {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value) && existsSync(value)) {
    const config = await loadConnectorConfig(value);
    for (const relay of [...config.relayUrls, ...config.trustedRelays]) trusted.add(relay);
    const target = await localTarget({ config: value });
    return { url: localBaseUrl(target), ...(target.token !== undefined ? { token: target.token } : {}) };
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new CliError(`--connector "${value}" is neither a URL (e.g. ${DEFAULT_CONNECTOR}) nor a config file`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new CliError(`--connector "${value}" must be an http(s) URL`);
  }
  const token = localToken({});
  return { url: url.origin, ...(token !== undefined ? { token } : {}) };
}

async function identityAt(dir: string): Promise<AgentIdentity> {
  const identity = await loadAgentIdentity(dir);
  assertTokenUnexpired(identity, Math.floor(Date.now() / 1000));
  return identity;
}

/** `--agent`, else `--admin-token`/CLAWRELAY_ADMIN_TOKEN, else the sender's or recipient's identity under <home>. */
async function chooseAuth(
  options: TraceOptions,
  home: string,
  subject: TraceSubject,
): Promise<{ auth: RelayAuth; as: string } | null> {
  if (options.agent !== undefined) {
    const dir = existsSync(resolve(options.agent)) ? resolve(options.agent) : resolveAgentRef(home, options.agent);
    const identity = await identityAt(dir);
    return { auth: { kind: "agent", identity }, as: `agent ${identity.id}` };
  }
  const token = options.adminToken ?? process.env.CLAWRELAY_ADMIN_TOKEN;
  if (token) return { auth: { kind: "admin", token }, as: "admin" };
  for (const id of [subject.from, subject.to]) {
    if (id === null || !existsSync(join(agentDir(home, id), AGENT_FILES.token))) continue;
    const identity = await identityAt(agentDir(home, id));
    return { auth: { kind: "agent", identity }, as: `agent ${identity.id}` };
  }
  return null;
}

function foundTraces(answers: readonly ConnectorAnswer[]): LocalTrace[] {
  return answers.flatMap((answer) => (answer.status === "found" ? [answer.trace] : []));
}

/** Where the record lives: the recipient's relay. */
function relayOrigin(
  options: TraceOptions,
  subject: TraceSubject,
  linkOf: (agentId: string | null) => string | null,
  auth: { auth: RelayAuth } | null,
): string | null {
  if (options.relay !== undefined) return normalizeRelayOrigin(options.relay);
  const candidates = [
    subject.toRelay,
    linkOf(subject.to),
    auth?.auth.kind === "agent" && auth.auth.identity.id === subject.to ? auth.auth.identity.relay : null,
    // The sender's home relay is the recipient's too unless the sender named another (toRelay).
    linkOf(subject.from),
    auth?.auth.kind === "agent" ? auth.auth.identity.relay : null,
  ];
  for (const candidate of candidates) {
    if (!candidate) continue;
    try {
      return new URL(candidate).origin;
    } catch {
      // A malformed URL from a source: try the next one.
    }
  }
  return null;
}

/** The relay's record, or why it was not asked. */
async function readRelay(
  subject: TraceSubject,
  auth: { auth: RelayAuth } | null,
  origin: string | null,
  trusted: TrustedOrigins,
  timeoutMs: number,
): Promise<RelayAnswer | RelaySkipped> {
  const skip = (reason: string): RelaySkipped => ({ status: "skipped", reason });
  if (subject.messageId === null) return skip("no relay has accepted this message");
  if (subject.to === null) return skip("the recipient is unknown: pass --to <agentId>");
  if (auth === null) return skip("no credentials: pass --agent <id|dir> or set CLAWRELAY_ADMIN_TOKEN");
  if (origin === null) return skip("the relay is unknown: pass --relay <origin>");
  const refusal = credentialRefusal(origin, auth.auth, trusted);
  if (refusal !== null) return refusal;
  return fetchRelayRecord(origin, subject.to, subject.messageId, auth.auth, timeoutMs);
}

/** `clawrelay trace <id>`: one timeline from the connectors' local hops and the relay's record. */
export function registerTraceCommand(program: Command, home: () => string): void {
  program
    .command("trace")
    .description(
      "follow one message across the sender's connector, the relay and the recipient's connector, and say where it is stuck and why",
    )
    .argument("<id>", "a correlation id, a relay message id, or an outbound id")
    .option(
      "--connector <url|config>",
      `a local connector to ask, by API URL or config file, repeatable (default ${DEFAULT_CONNECTOR})`,
      collect,
    )
    .option("--agent <dir|id>", "read the relay's record as this agent (its sender or recipient)")
    .option("--admin-token <token>", "read the relay's record as the admin (prefer env CLAWRELAY_ADMIN_TOKEN)")
    .option(
      "--relay <origin>",
      "the recipient's relay (default: from the message or the connectors, asked only when it is a relay of a --connector config, of CLAWRELAY_RELAY_URLS or the --agent's home relay)",
    )
    .option("--to <agentId>", "the recipient, when no connector knows the message")
    .option("--json", "print the trace as JSON")
    .option("--timeout <ms>", "timeout of each request", "10000")
    .action(async (id: string, options: TraceOptions) => {
      if (!ID_PATTERN.test(id)) throw new CliError(`"${id}" is not a correlation, message or outbound id`);
      const timeout = wholeNumber(options.timeout, "--timeout", 1, 600_000);
      // Origins the user named or configured: the only ones credentials are sent to.
      const trusted = new TrustedOrigins();
      if (options.relay !== undefined) trusted.add(normalizeRelayOrigin(options.relay));
      for (const relay of (process.env.CLAWRELAY_RELAY_URLS ?? "").split(",")) trusted.add(relay.trim());
      const sources = await Promise.all(
        (options.connector ?? [DEFAULT_CONNECTOR]).map((value) => connectorSource(value, trusted)),
      );
      const to = options.to === undefined ? undefined : checkAgentId(options.to);

      const connectors = await Promise.all(sources.map((source) => fetchConnectorTrace(source, id, timeout)));
      const first = resolveSubject(id, foundTraces(connectors));
      // The recipient's connector never saw the sender's outbound id (nor, maybe, its correlation
      // id): ask the ones that did not know the query again by the relay's message id.
      const messageId = first.subject.messageId;
      if (messageId !== null && messageId !== id) {
        await Promise.all(
          connectors.map(async (answer, index) => {
            if (answer.status !== "not_found") return;
            const again = await fetchConnectorTrace(sources[index] as ConnectorSource, messageId, timeout);
            if (again.status === "found") connectors[index] = again;
          }),
        );
      }
      const traces = foundTraces(connectors);
      const resolved = resolveSubject(id, traces);
      const subject: TraceSubject = { ...resolved.subject, ...(to ? { to } : {}) };
      const linkOf = (agentId: string | null) =>
        traces.find((t) => t.agentId === agentId && t.link.relayUrl !== null)?.link.relayUrl ?? null;

      const auth = await chooseAuth(options, home(), subject);
      const origin = relayOrigin(options, subject, linkOf, auth);
      const relay = await readRelay(subject, auth, origin, trusted, timeout);

      const report = buildReport({
        subject,
        alsoMatched: resolved.alsoMatched,
        connectors,
        relay,
        relayAs: auth?.as ?? null,
      });
      const nothing = traces.length === 0 && relay.status !== "found";
      if (options.json) {
        process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        if (nothing) process.exitCode = EXIT.failed;
        return;
      }
      if (nothing) {
        const notes = [
          ...report.sources.connectors.map((c) => `connector ${c.url}: ${c.code ?? c.status}`),
          `relay: ${report.sources.relay.reason ?? report.sources.relay.code ?? report.sources.relay.status}`,
        ];
        throw new CliError(`nothing known about ${id} (${notes.join("; ")})`, EXIT.failed);
      }
      process.stdout.write(renderReport(report));
    });
}
