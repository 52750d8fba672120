import * as z from "zod/mini";

/**
 * The relay keeps a queue's current depth, not its history; the agent page samples it on each
 * refresh and keeps the samples in this tab (sessionStorage), so "queue by lane over time" is
 * the time this page has been watching, said so on the chart.
 */
const sampleSchema = z.object({ at: z.number(), critical: z.number(), normal: z.number(), low: z.number() });
export type QueueSample = z.infer<typeof sampleSchema>;
const MAX_SAMPLES = 2_000;

const keyOf = (agentId: string) => `clawrelay.queue.${agentId}`;

export function readSamples(agentId: string): QueueSample[] {
  const raw = window.sessionStorage.getItem(keyOf(agentId));
  if (raw === null) return [];
  try {
    const parsed = z.array(sampleSchema).safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : [];
  } catch {
    return [];
  }
}

export function addSample(agentId: string, sample: QueueSample): QueueSample[] {
  const samples = [...readSamples(agentId).filter((s) => s.at < sample.at), sample].slice(-MAX_SAMPLES);
  window.sessionStorage.setItem(keyOf(agentId), JSON.stringify(samples));
  return samples;
}
