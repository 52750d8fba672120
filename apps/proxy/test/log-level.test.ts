import { afterEach, describe, expect, it, vi } from "vitest";
import { relayConfig } from "../src/config.js";
import { log, setLogLevel } from "../src/log.js";

afterEach(() => {
  setLogLevel("info");
  vi.restoreAllMocks();
});

describe("RELAY_LOG_LEVEL", () => {
  it("drops lines below the level and keeps the rest, each on its console method", () => {
    const info = vi.spyOn(console, "log").mockImplementation(() => {});
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    setLogLevel("warn");
    log("debug", { event: "a" });
    log("info", { event: "b" });
    log("warn", { event: "c" });
    log("error", { event: "d" });
    expect(info).not.toHaveBeenCalled();
    expect(warn.mock.calls.map(([line]) => JSON.parse(String(line)).event)).toEqual(["c"]);
    expect(error.mock.calls.map(([line]) => JSON.parse(String(line)).event)).toEqual(["d"]);
    setLogLevel("info");
    log("debug", { event: "e" });
    log("info", { event: "f" });
    expect(info.mock.calls.map(([line]) => JSON.parse(String(line))).map((l) => [l.level, l.event])).toEqual([
      ["info", "f"],
    ]);
  });

  it("is read from the config (default info) and applied when the config is parsed", () => {
    const base = { RELAY_ORIGIN: "https://relay.example.com" } as unknown as Env;
    expect(relayConfig(base).RELAY_LOG_LEVEL).toBe("info");
    const info = vi.spyOn(console, "log").mockImplementation(() => {});
    relayConfig({ ...base, RELAY_LOG_LEVEL: "error" } as unknown as Env);
    log("info", { event: "dropped" });
    expect(info).not.toHaveBeenCalled();
    expect(() => relayConfig({ ...base, RELAY_LOG_LEVEL: "loud" } as unknown as Env)).toThrow(/RELAY_LOG_LEVEL/);
  });
});
