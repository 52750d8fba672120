import { describe, expect, it } from "vitest";
import { renderDeadLetters, renderReplay } from "../../src/cli/dead-letters-view.js";
import { formatLogLine, readableLogStream } from "../../src/cli/log-view.js";
import { colours, commandLine, relativeTime, table, visibleLength, wantsHuman } from "../../src/cli/output.js";
import { renderStatus, statusProblems, statusViewSchema } from "../../src/cli/status-view.js";
import { createLogger } from "../../src/daemon/logger.js";

// Renderers get an injected stream, environment and clock: what a terminal shows, without one.
const NOW = 1_800_000_000_000;
const tty = { isTTY: true };
const plain = colours(tty, { NO_COLOR: "1" });
const coloured = colours(tty, {});
// biome-ignore lint/suspicious/noControlCharactersInRegex: looking for colour escape sequences
const ESCAPE = /\u001b\[/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: removing colour escape sequences
const ESCAPE_SEQUENCE = /\u001b\[[0-9;]*m/g;
/** An epoch-ms timestamp would be a 13-digit run. */
const EPOCH_MS = /\b\d{13}\b/;

function healthyStatus() {
  return {
    agentId: "bob-agent",
    connectorId: "c-01test",
    link: {
      state: "connected",
      role: "active",
      relayUrl: "https://relay.example.com",
      sessionId: "s-1",
      connectedSince: NOW - 12_000,
      reconnectAttempt: 0,
      lastError: null,
    },
    hook: { format: "clawrelay", state: "delivering" },
    breakers: { hook: "closed", outbound: { "https://relay.example.com": "closed" } },
    inFlight: { hook: 0, outbound: 0 },
    counts: {
      inboxPending: 2,
      outbox: { queued: 1, sending: 0, sent: 5, failed: 0 },
      deadLetters: 0,
      pendingReports: 0,
    },
    identity: { tokenExpiresAt: NOW + 20 * 86_400_000, tokenExpiring: false, tokenExpired: false },
    metrics: { since: NOW - 60_000, outboxOldestAgeMs: 1_500, inboxOldestAgeMs: null },
    lastError: { link: null, hook: null, outbound: null },
  };
}

describe("wantsHuman and colours", () => {
  it("human output only on a TTY without --json", () => {
    expect(wantsHuman({}, tty)).toBe(true);
    expect(wantsHuman({ json: true }, tty)).toBe(false);
    expect(wantsHuman({}, { isTTY: false })).toBe(false);
    expect(wantsHuman({}, {})).toBe(false);
  });

  it("colours on a TTY unless NO_COLOR is set; never on a pipe", () => {
    expect(coloured.red("x")).toMatch(ESCAPE);
    expect(plain.red("x")).toBe("x");
    expect(colours(tty, { NO_COLOR: "" }).red("x")).toMatch(ESCAPE);
    expect(colours({ isTTY: false }, {}).red("x")).toBe("x");
  });

  it("table columns line up by visible width, coloured cells included", () => {
    const text = table(
      ["ID", "STATE"],
      [
        [coloured.red("a"), "x"],
        ["bbbb", coloured.green("y")],
      ],
    );
    const lines = text.trimEnd().split("\n");
    expect(lines).toHaveLength(3);
    // Without the escape codes, the second column starts at the same place on every line.
    const starts = lines.map((line) => line.replace(ESCAPE_SEQUENCE, "").search(/(?<=\S {2,})\S/));
    expect(new Set(starts)).toEqual(new Set([6]));
    expect(lines.map((line) => visibleLength(line))).toEqual([11, 7, 7]);
  });

  it("relative times both ways; command lines quote what the shell needs", () => {
    expect(relativeTime(NOW - 12_000, NOW)).not.toBe(relativeTime(NOW + 12_000, NOW));
    expect(relativeTime(NOW, NOW)).toBe(relativeTime(NOW - 400, NOW));
    expect(commandLine(["clawrelay", "--config", "/tmp/a b/c.json"])).toBe("clawrelay --config '/tmp/a b/c.json'");
  });
});

describe("status for a person", () => {
  it("a healthy connector: labelled rows, relative times, no epoch ms, not JSON", () => {
    const text = renderStatus(healthyStatus(), NOW, plain);
    expect(text).not.toBeNull();
    expect(() => JSON.parse(text ?? "")).toThrow();
    expect(text).not.toMatch(EPOCH_MS);
    expect(text).not.toMatch(ESCAPE);
    expect(text).toContain(relativeTime(NOW - 12_000, NOW));
    const labels = (text ?? "")
      .split("\n")
      .slice(1)
      .filter(Boolean)
      .map((line) => line.trim().split(/\s{2,}/)[0]);
    expect(labels).toEqual([
      "health",
      "link",
      "relay",
      "hook",
      "outbound",
      "inbox",
      "outbox",
      "dead letters",
      "reports",
      "token",
    ]);
    expect(statusProblems(statusViewSchema.parse(healthyStatus()))).toEqual([]);
  });

  it("what is wrong comes out as problem codes, and in red", () => {
    const healthy = healthyStatus();
    const broken = {
      ...healthy,
      link: { ...healthy.link, state: "backoff", connectedSince: null, reconnectAttempt: 3, lastError: "refused" },
      breakers: { hook: "open", outbound: { "https://relay.example.com": "half_open" } },
      counts: { ...healthy.counts, deadLetters: 2 },
      identity: { ...healthy.identity, tokenExpiring: true },
    };
    expect(statusProblems(statusViewSchema.parse(broken))).toEqual([
      "link_down",
      "hook_breaker_open",
      "outbound_breaker_open",
      "dead_letters",
      "token_expiring",
    ]);
    const text = renderStatus(broken, NOW, coloured) ?? "";
    expect(text.split("\n").find((line) => line.includes("health"))).toContain("\u001b[31m");
  });

  it("an answer it does not know is left to JSON", () => {
    expect(renderStatus({ error: { code: "internal" } }, NOW, plain)).toBeNull();
  });
});

describe("dead letters for a person", () => {
  const entry = (id: string, from: string) => ({
    id,
    kind: "message",
    correlationId: `corr-${id}`,
    messageId: id,
    reason: "hook_rejected",
    attempts: 3,
    receivedAt: NOW - 7_200_000,
    deadAt: NOW - 180_000,
    item: { kind: "message", id, from },
  });

  it("a table: a header and one row per item with id, sender, reason and age", () => {
    const text = renderDeadLetters({ items: [entry("01A", "alice-agent"), entry("01B", "carol-agent")] }, NOW, plain);
    const rows = (text ?? "").split("\n").filter((line) => /^\S+\s{2,}/.test(line));
    expect(rows).toHaveLength(3);
    expect(rows[0]?.split(/\s{2,}/)).toEqual(["ID", "KIND", "FROM", "REASON", "ATTEMPTS", "AGE"]);
    expect(rows[1]?.split(/\s{2,}/)).toEqual([
      "01A",
      "message",
      "alice-agent",
      "hook_rejected",
      "3",
      relativeTime(NOW - 180_000, NOW),
    ]);
    expect(text).not.toMatch(EPOCH_MS);
  });

  it("an empty list is one line; a replay lists the ids it put back", () => {
    expect((renderDeadLetters({ items: [] }, NOW, plain) ?? "").trimEnd().split("\n")).toHaveLength(1);
    const replay = renderReplay({ replayed: 2, ids: ["01A", "01B"] }, plain) ?? "";
    expect(replay.split("\n").map((line) => line.trim())).toEqual(expect.arrayContaining(["01A", "01B"]));
    expect(renderDeadLetters({ replayed: 1 }, NOW, plain)).toBeNull();
  });
});

describe("readable connector logs", () => {
  const line = JSON.stringify({
    level: 40,
    time: new Date(NOW).toISOString(),
    service: "clawrelay-connector",
    agentId: "bob-agent",
    event: "hook_failed",
    correlationId: "corr-1",
    messageId: "01MSG",
    status: 503,
    error: { message: "down", stack: "Error: down\n    at secret (/x.js:1:1)" },
    msg: "hook call failed",
  });

  it("time, level, event, then the ids that matter, then the rest; no stack", () => {
    const text = formatLogLine(`${line}\n`, plain);
    expect(text.endsWith("\n")).toBe(true);
    expect(text.split("\n")).toHaveLength(2);
    expect(() => JSON.parse(text)).toThrow();
    const [time, level, event] = text.split(/\s+/);
    expect(time).toMatch(/^\d{2}:\d{2}:\d{2}\.\d{3}$/);
    expect(level).toBe("WARN");
    expect(event).toBe("hook_failed");
    const pairs = text.match(/\b\w+=/g) ?? [];
    expect(pairs.slice(0, 3)).toEqual(["agentId=", "messageId=", "correlationId="]);
    expect(pairs).toContain("status=");
    expect(text).not.toContain("service=");
    expect(text).not.toContain("stack");
    expect(text).not.toContain("    at ");
  });

  it("a line that is not pino's passes through unchanged", () => {
    expect(formatLogLine("not json", plain)).toBe("not json\n");
  });

  it("the daemon's own logger writes through the stream, synchronously, redaction kept", () => {
    const written: string[] = [];
    const logger = createLogger("info", readableLogStream({ isTTY: true, write: (text) => written.push(text) }, plain));
    logger.child({ agentId: "bob-agent" }).info({ event: "connector_started", token: "s3cret" }, "connector started");
    logger.debug({ event: "below_level" }, "not shown");
    expect(written).toHaveLength(1);
    expect(written[0]?.split(/\s+/).slice(1, 3)).toEqual(["INFO", "connector_started"]);
    expect(written[0]).toContain("agentId=bob-agent");
    expect(written[0]).not.toContain("s3cret");
  });
});
