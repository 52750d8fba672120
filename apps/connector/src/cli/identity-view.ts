// `registry init` and `agent create|token|renew` for a person at a terminal: what was written,
// and the exact command to run next. Scripts keep the one JSON line (--json, or a pipe).
import type { AgentSummary } from "./agent-identity.js";
import { colours, commandLine, fields, nextSteps, type Palette, relativeTime } from "./output.js";

/** `--home <dir>` when the person gave it, so a pasted next step finds the same identities. */
function homeWords(home: string | undefined): string[] {
  return home === undefined ? [] : ["--home", home];
}

function expiry(expiresAt: string, now: number): string {
  return `${relativeTime(Date.parse(expiresAt), now)} (${expiresAt})`;
}

export function describeRegistry(
  written: { iss: string; kid: string; dir: string; jwks: unknown; home: string | undefined },
  palette: Palette = colours(),
): string {
  const rows: [string, string][] = [
    ["issuer", written.iss],
    ["key id", written.kid],
    ["signing key", `${written.dir} ${palette.dim("(private: keep it where agents are created)")}`],
  ];
  return `${palette.green("created registry")} ${written.iss}\n${fields(rows, palette)}\n${palette.bold(
    "REGISTRY_JWKS",
  )} ${palette.dim("(the relay's variable that makes it trust this registry; public)")}\n${JSON.stringify(
    written.jwks,
  )}\n${nextSteps(
    [
      {
        what: "create an agent identity on this registry",
        command: `${commandLine(["clawrelay", ...homeWords(written.home), "agent", "create"])} <agent-id> --relay <relay origin, e.g. https://relay.example.com>`,
      },
    ],
    palette,
  )}`;
}

export function describeAgent(
  summary: AgentSummary,
  verb: "created agent" | "new token for" | "renewed",
  now: number,
  palette: Palette = colours(),
): string {
  const rows: [string, string][] = [
    ["identity", summary.dir],
    ["relay", summary.relay],
    ["audience", summary.audience],
    ["registry", summary.iss],
    ["token expires", expiry(summary.expiresAt, now)],
  ];
  const steps =
    verb === "created agent"
      ? [
          {
            what: "write the connector's config (the hook is where the agent takes messages)",
            command: `${commandLine(["clawrelay", "connector", "init", "--agent", summary.dir])} --hook <agent webhook URL>`,
          },
        ]
      : [
          {
            what: "restart the connector that uses this identity, so it presents the new token",
            command: commandLine(["clawrelay", "connector", "start", "--config", `${summary.dir}/connector.json`]),
          },
        ];
  return `${palette.green(verb)} ${summary.id}\n${fields(rows, palette)}${nextSteps(steps, palette)}`;
}

export function describeNotRenewed(expiresAt: string, id: string, now: number, palette: Palette = colours()): string {
  return `${palette.dim("not renewed:")} ${id}'s token expires ${expiry(expiresAt, now)}\n`;
}
