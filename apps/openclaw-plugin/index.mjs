// The clawrelay OpenClaw plugin: two tools that reach the local clawrelay connector's loopback
// API. No build step and no dependencies: OpenClaw loads this folder as it is (README.md).
import { connectorFromConfig } from "./lib/connector.mjs";
import { SEND_TOOL, send, sendDescription, sendParameters } from "./lib/send.mjs";
import { STATUS_TOOL, status, statusDescription, statusParameters } from "./lib/status.mjs";

/**
 * @typedef {object} ToolContext what OpenClaw tells a tool about its caller
 * @property {string} [sessionKey] e.g. `agent:main:hook:clawrelay:bob:c1`
 * @property {string} [agentId]
 */

/**
 * @typedef {object} PluginApi the part of OpenClaw's plugin API this plugin uses
 * @property {unknown} [pluginConfig] `plugins.entries.clawrelay.config`
 * @property {(factory: (ctx: ToolContext) => object, options: {name: string}) => void} registerTool
 */

export default {
  id: "clawrelay",
  name: "clawrelay",
  description: "Agent-to-agent messages through the local clawrelay connector: clawrelay_send and clawrelay_status.",
  /** @param {PluginApi} api */
  register(api) {
    // Read at each call, so a bad config is a tool error the model can report, not a failed load.
    const connector = () => connectorFromConfig(api.pluginConfig);
    api.registerTool(
      (ctx) => ({
        name: SEND_TOOL,
        label: "clawrelay send",
        description: sendDescription,
        parameters: sendParameters,
        catalogMode: "direct-only",
        /**
         * @param {string} _toolCallId
         * @param {unknown} params
         * @param {AbortSignal} [signal]
         */
        execute: async (_toolCallId, params, signal) => send(connector(), ctx ?? {}, params, signal),
      }),
      { name: SEND_TOOL },
    );
    api.registerTool(
      () => ({
        name: STATUS_TOOL,
        label: "clawrelay status",
        description: statusDescription,
        parameters: statusParameters,
        catalogMode: "direct-only",
        /**
         * @param {string} _toolCallId
         * @param {unknown} params
         * @param {AbortSignal} [signal]
         */
        execute: async (_toolCallId, params, signal) => status(connector(), params, signal),
      }),
      { name: STATUS_TOOL },
    );
  },
};
