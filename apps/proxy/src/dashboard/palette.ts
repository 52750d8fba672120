/**
 * The dashboard's colours, one set per colour scheme. Text colours (fg, muted, link and the
 * status tones) keep WCAG AA contrast, 4.5:1, on both the page and the card background; chart
 * series keep the 3:1 AA asks of graphics. dashboard-palette.test.ts holds them to that.
 */
export interface Palette {
  bg: string;
  card: string;
  fg: string;
  muted: string;
  link: string;
  ok: string;
  warn: string;
  bad: string;
  line: string;
  grid: string;
  s1: string;
  s2: string;
  s3: string;
}

export const TEXT_TOKENS = ["fg", "muted", "link", "ok", "warn", "bad"] as const;
export const SERIES_TOKENS = ["s1", "s2", "s3"] as const;

export const LIGHT: Palette = {
  bg: "#ffffff",
  card: "#f4f5f7",
  fg: "#1d2330",
  muted: "#596272",
  link: "#175cd3",
  ok: "#067647",
  warn: "#93370d",
  bad: "#b42318",
  line: "#d0d5dd",
  grid: "#e4e7ec",
  s1: "#1f6fd1",
  s2: "#0e7c4a",
  s3: "#c4320a",
};

export const DARK: Palette = {
  bg: "#10141c",
  card: "#1a202b",
  fg: "#e6e8ec",
  muted: "#a3acba",
  link: "#84caff",
  ok: "#47cd89",
  warn: "#fdb022",
  bad: "#ff8a80",
  line: "#344054",
  grid: "#252d3a",
  s1: "#6cb2ff",
  s2: "#3ccb7f",
  s3: "#ff8266",
};

export const cssVariables = (palette: Palette): string =>
  Object.entries(palette)
    .map(([token, colour]) => `--${token}: ${colour};`)
    .join(" ");

/** WCAG 2 relative luminance of a #rrggbb colour. */
export function luminance(hex: string): number {
  const channel = (offset: number) => {
    const c = Number.parseInt(hex.slice(offset, offset + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
}

export function contrast(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}
