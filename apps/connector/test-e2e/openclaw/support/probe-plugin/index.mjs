// Test-only OpenClaw plugin: `clawrelay_probe` posts what the gateway tells a plugin tool about
// its caller (ctx.sessionKey, ctx.agentId) and the call's arguments to `reportUrl`, so a test
// can see the tool ran and in which session.
export default {
  id: "clawrelay-probe",
  name: "clawrelay probe",
  description: "Reports each call of clawrelay_probe to a test server.",
  register(api) {
    const { reportUrl } = api.pluginConfig ?? {};
    api.registerTool(
      (ctx) => ({
        name: "clawrelay_probe",
        description: "Test probe: reports the call.",
        parameters: { type: "object", properties: { note: { type: "string" } }, additionalProperties: false },
        catalogMode: "direct-only",
        async execute(toolCallId, params) {
          const res = await fetch(reportUrl, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({
              toolCallId,
              params,
              sessionKey: ctx?.sessionKey ?? null,
              agentId: ctx?.agentId ?? null,
              ctxKeys: Object.keys(ctx ?? {}),
            }),
          });
          return { content: [{ type: "text", text: `probe reported (${res.status})` }] };
        },
      }),
      { name: "clawrelay_probe" },
    );
  },
};
