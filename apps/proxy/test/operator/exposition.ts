/**
 * A strict reader of the Prometheus text format (0.0.4), enough to parse /v1/metrics back:
 * every sample must belong to a family declared by `# TYPE` before it, and label values are
 * unescaped exactly as Prometheus does.
 */
export interface ParsedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
export interface ParsedFamily {
  name: string;
  type: string;
  help: string;
  samples: ParsedSample[];
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/y;

function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  LABEL.lastIndex = 0;
  while (LABEL.lastIndex < text.length) {
    const start = LABEL.lastIndex;
    const match = LABEL.exec(text);
    if (!match?.[1] || match[2] === undefined) throw new Error(`bad labels at ${start}: ${text}`);
    labels[match[1]] = match[2].replace(/\\(.)/g, (_, ch: string) => (ch === "n" ? "\n" : ch));
  }
  return labels;
}

function parseValue(text: string): number {
  if (text === "+Inf") return Number.POSITIVE_INFINITY;
  if (text === "-Inf") return Number.NEGATIVE_INFINITY;
  if (text === "NaN") return Number.NaN;
  const value = Number(text);
  if (!Number.isFinite(value) && text !== "NaN") throw new Error(`bad value ${text}`);
  return value;
}

export function parseExposition(text: string): Map<string, ParsedFamily> {
  if (!text.endsWith("\n")) throw new Error("exposition must end with a newline");
  const families = new Map<string, ParsedFamily>();
  let current: ParsedFamily | null = null;
  for (const line of text.slice(0, -1).split("\n")) {
    if (line.startsWith("# HELP ")) {
      const rest = line.slice("# HELP ".length);
      const space = rest.indexOf(" ");
      const familyName = space < 0 ? rest : rest.slice(0, space);
      if (families.has(familyName)) throw new Error(`family ${familyName} declared twice`);
      current = { name: familyName, type: "untyped", help: space < 0 ? "" : rest.slice(space + 1), samples: [] };
      families.set(familyName, current);
      continue;
    }
    if (line.startsWith("# TYPE ")) {
      const [, , name, type] = line.split(" ");
      if (!current || current.name !== name || !type) throw new Error(`TYPE without HELP: ${line}`);
      current.type = type;
      continue;
    }
    const match = SAMPLE.exec(line);
    if (!match?.[1] || !match[4]) throw new Error(`not a sample line: ${JSON.stringify(line)}`);
    const name = match[1];
    if (!current) throw new Error(`sample before any family: ${line}`);
    const suffixOk =
      name === current.name ||
      (current.type === "histogram" &&
        [`${current.name}_bucket`, `${current.name}_sum`, `${current.name}_count`].includes(name));
    if (!suffixOk) throw new Error(`sample ${name} outside its family ${current.name}`);
    current.samples.push({ name, labels: match[3] ? parseLabels(match[3]) : {}, value: parseValue(match[4]) });
  }
  return families;
}

/** The value of the one sample of `family` whose labels include `where`. */
export function sampleValue(
  families: Map<string, ParsedFamily>,
  family: string,
  where: Record<string, string> = {},
  name = family,
): number | undefined {
  const found = families
    .get(family)
    ?.samples.filter((s) => s.name === name && Object.entries(where).every(([k, v]) => s.labels[k] === v));
  if (found && found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(where)}`);
  return found?.[0]?.value;
}
