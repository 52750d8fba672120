import uPlot from "uplot";
import { el } from "./dom.js";

export const RANGES = { "1h": 3_600_000, "6h": 21_600_000, "48h": 172_800_000 } as const;
export type RangeName = keyof typeof RANGES;
const RANGE_KEY = "clawrelay.range";

export function currentRange(): RangeName {
  const saved = window.sessionStorage.getItem(RANGE_KEY);
  return saved === "1h" || saved === "6h" || saved === "48h" ? saved : "6h";
}

/** The 1 h / 6 h / 48 h switch; `onChange` redraws with the new span. */
export function rangePicker(onChange: (range: RangeName) => void): HTMLElement {
  const chosen = currentRange();
  const buttons = (Object.keys(RANGES) as RangeName[]).map((name) => {
    const button = el("button", { type: "button", "data-range": name, "aria-pressed": String(name === chosen) }, [
      name,
    ]);
    button.addEventListener("click", () => {
      window.sessionStorage.setItem(RANGE_KEY, name);
      for (const other of buttons) other.setAttribute("aria-pressed", String(other === button));
      onChange(name);
    });
    return button;
  });
  return el("div", { class: "range", role: "group", "aria-label": "time range" }, buttons);
}

export interface SeriesSpec {
  label: string;
  /** A CSS custom property of the palette (pages.ts), so light and dark mode each get their own. */
  colour: "--s1" | "--s2" | "--s3";
  values: (number | null)[];
}

export interface ChartSpec {
  /** The chart's identity on the page (`data-chart`): a redraw under the same title reuses it. */
  title: string;
  /** The caption shown, when it changes with the range (defaults to the title). */
  caption?: string;
  /** How wide a period each point covers, ms (`data-bucket-ms`), when the points are buckets. */
  bucketMs?: number;
  /** Unix ms of each point. */
  xs: number[];
  series: SeriesSpec[];
  format: (value: number) => string;
  /** The span shown, unix ms. */
  from: number;
  to: number;
  note?: string;
  /** Counts: ticks only at whole numbers. */
  integer?: boolean;
}

const WHOLE_STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 100_000, 1_000_000];

const cssVar = (name: string): string => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

/** Shows the time and every series' value under the cursor, beside it. */
function tooltipPlugin(current: () => ChartSpec): uPlot.Plugin {
  const tip = el("div", { class: "chart-tip", role: "status", hidden: "" });
  return {
    hooks: {
      init: (u) => {
        u.over.append(tip);
        u.over.addEventListener("mouseleave", () => tip.setAttribute("hidden", ""));
      },
      setCursor: (u) => {
        const index = u.cursor.idx;
        const left = u.cursor.left ?? -1;
        if (index === null || index === undefined || left < 0) {
          tip.setAttribute("hidden", "");
          return;
        }
        const spec = current();
        const at = spec.xs[index];
        const lines = spec.series.map((s) => {
          const value = s.values[index];
          return el("div", {}, [
            el("span", { class: `key ${s.colour.slice(2)}` }, [s.label]),
            ` ${value === null || value === undefined ? "–" : spec.format(value)}`,
          ]);
        });
        tip.replaceChildren(el("div", { class: "tip-time" }, [at === undefined ? "" : shortTime(at)]), ...lines);
        tip.removeAttribute("hidden");
        const flip = left > u.over.clientWidth / 2;
        tip.style.left = flip ? "" : `${left + 12}px`;
        tip.style.right = flip ? `${u.over.clientWidth - left + 12}px` : "";
        tip.style.top = `${Math.max(0, (u.cursor.top ?? 0) - 10)}px`;
      },
    },
  };
}

function shortTime(at: number): string {
  return `${new Date(at).toISOString().slice(5, 16).replace("T", " ")}Z`;
}

function options(current: () => ChartSpec, width: number): uPlot.Options {
  const spec = current();
  const axis = { stroke: cssVar("--muted"), grid: { stroke: cssVar("--grid"), width: 1 }, ticks: { show: false } };
  return {
    width,
    height: 200,
    legend: { show: false },
    cursor: { points: { size: 7 } },
    scales: {
      x: { time: true, range: () => [current().from / 1000, current().to / 1000] },
      y: { range: (_u, _min, max) => [0, Math.max(1, max) * 1.1] },
    },
    axes: [
      { ...axis, values: (_u, splits) => splits.map((s) => new Date(s * 1000).toISOString().slice(11, 16)) },
      {
        ...axis,
        size: 64,
        ...(spec.integer ? { incrs: WHOLE_STEPS } : {}),
        values: (_u, splits) => splits.map((s) => current().format(s)),
      },
    ],
    series: [
      {},
      ...spec.series.map((s) => ({
        label: s.label,
        stroke: cssVar(s.colour),
        width: 2,
        points: { show: true, size: 6, fill: cssVar(s.colour) },
        spanGaps: false,
      })),
    ],
    plugins: [tooltipPlugin(current)],
  };
}

interface LiveChart {
  figure: HTMLElement;
  spec: ChartSpec;
  chart: uPlot | null;
  dispose(): void;
}

/** Charts on the page by title: a refresh gives a chart new data instead of a new canvas. */
const live = new Map<string, LiveChart>();

/** Stops the listeners of charts no longer on the page (after a view replaced its charts). */
export function pruneCharts(): void {
  for (const [title, entry] of live) {
    if (entry.figure.isConnected) continue;
    entry.dispose();
    live.delete(title);
  }
}

const dataOf = (spec: ChartSpec): uPlot.AlignedData => [
  spec.xs.map((x) => x / 1000),
  ...spec.series.map((s) => s.values),
];
const sameShape = (a: ChartSpec, b: ChartSpec) =>
  a.series.length === b.series.length && a.series.every((s, i) => s.label === b.series[i]?.label);

/** The parts of a figure that follow its spec: caption, note, and what its points are. */
function describe(figure: HTMLElement, spec: ChartSpec): void {
  const caption = spec.caption ?? spec.title;
  const [figcaption, plot, , note] = figure.children;
  figcaption?.replaceChildren(caption);
  plot?.setAttribute("aria-label", caption);
  note?.replaceChildren(spec.note ?? "");
  note?.toggleAttribute("hidden", !spec.note);
  figure.setAttribute("data-points", String(spec.xs.length));
  if (spec.bucketMs === undefined) figure.removeAttribute("data-bucket-ms");
  else figure.setAttribute("data-bucket-ms", String(spec.bucketMs));
}

/**
 * A time chart in a figure with a caption and a legend (a legend in text, so the series are
 * told apart without colour too). Redrawn when the box resizes or the colour scheme changes;
 * drawn again under the same title, it keeps its canvas (and the cursor's tooltip) and takes
 * the new data, span, caption and note.
 */
export function timeChart(spec: ChartSpec): HTMLElement {
  const existing = live.get(spec.title);
  if (existing && sameShape(existing.spec, spec)) {
    existing.spec = spec;
    describe(existing.figure, spec);
    existing.chart?.setData(dataOf(spec));
    return existing.figure;
  }
  existing?.dispose();
  const plot = el("div", { class: "plot", role: "img" });
  const legend = el(
    "div",
    { class: "legend" },
    spec.series.map((s) => el("span", { class: `key ${s.colour.slice(2)}` }, [s.label])),
  );
  const figure = el("figure", { class: "chart-box", "data-chart": spec.title }, [
    el("figcaption"),
    plot,
    legend,
    el("p", { class: "note" }),
  ]);
  describe(figure, spec);
  const entry: LiveChart = { figure, spec, chart: null, dispose: () => undefined };
  const current = () => entry.spec;
  const draw = () => {
    entry.chart?.destroy();
    entry.chart = new uPlot(options(current, Math.max(240, plot.clientWidth)), dataOf(entry.spec), plot);
  };
  const observer = new ResizeObserver(() => {
    if (!entry.chart) draw();
    else if (Math.abs(entry.chart.width - plot.clientWidth) > 4)
      entry.chart.setSize({ width: Math.max(240, plot.clientWidth), height: 200 });
  });
  observer.observe(plot);
  const scheme = window.matchMedia("(prefers-color-scheme: dark)");
  scheme.addEventListener("change", draw);
  entry.dispose = () => {
    observer.disconnect();
    scheme.removeEventListener("change", draw);
    entry.chart?.destroy();
  };
  live.set(spec.title, entry);
  return figure;
}
