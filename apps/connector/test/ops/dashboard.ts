import { readFileSync } from "node:fs";
import { z } from "zod";
import { OPS } from "./ops-files.js";

/** The parts of a Grafana dashboard model (schemaVersion 39) the checks read; the rest passes. */
const datasourceSchema = z.object({ type: z.literal("prometheus"), uid: z.string() });
const targetSchema = z.object({ datasource: datasourceSchema, expr: z.string().min(1), refId: z.string().min(1) });
const gridPosSchema = z.object({ h: z.number().int(), w: z.number().int(), x: z.number().int(), y: z.number().int() });
const panelSchema = z.object({
  id: z.number().int(),
  type: z.string(),
  title: z.string().min(1),
  gridPos: gridPosSchema,
  datasource: datasourceSchema.optional(),
  targets: z.array(targetSchema).optional(),
  panels: z.array(z.unknown()).optional(),
});
export const dashboardSchema = z.object({
  __inputs: z.array(z.object({ name: z.string(), type: z.string(), pluginId: z.string() })),
  schemaVersion: z.number().int(),
  uid: z.string().min(1),
  title: z.string().min(1),
  panels: z.array(panelSchema),
  templating: z.object({
    list: z.array(
      z.object({
        name: z.string(),
        type: z.string(),
        datasource: datasourceSchema.optional(),
        query: z.object({ query: z.string() }).optional(),
      }),
    ),
  }),
});
export type Dashboard = z.infer<typeof dashboardSchema>;
export type Panel = z.infer<typeof panelSchema>;

export function readDashboard(): Dashboard {
  return dashboardSchema.parse(JSON.parse(readFileSync(OPS.dashboard, "utf8")));
}

/** Every panel, rows' collapsed children included. */
export function allPanels(dashboard: Dashboard): Panel[] {
  return dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? []).map((child) => panelSchema.parse(child))]);
}

export function dashboardTargets(): { panel: string; expr: string }[] {
  return allPanels(readDashboard()).flatMap((panel) =>
    (panel.targets ?? []).map((t) => ({ panel: panel.title, expr: t.expr })),
  );
}
