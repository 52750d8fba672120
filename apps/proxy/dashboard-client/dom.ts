/**
 * DOM helpers. Everything from the relay goes in as textContent or an attribute value, never
 * as markup, so an agent id, a reason or a correlation id can never be parsed as HTML.
 */
type Child = Node | string | null | undefined | false;

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  children: readonly Child[] = [],
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

export function byId(id: string): HTMLElement {
  const node = document.getElementById(id);
  if (!node) throw new Error(`page has no #${id}`);
  return node;
}

export function replace(id: string, ...nodes: Node[]): void {
  byId(id).replaceChildren(...nodes);
}

export function setState(text: string, bad: boolean): void {
  const node = byId("state");
  node.textContent = text;
  node.className = bad ? "state bad" : "state";
}

export function table(id: string, head: readonly string[], rows: readonly HTMLTableRowElement[], caption?: string) {
  return el("div", { class: "table-wrap" }, [
    el("table", { id }, [
      caption ? el("caption", {}, [caption]) : null,
      el("thead", {}, [
        el(
          "tr",
          {},
          head.map((h) => el("th", { scope: "col" }, [h])),
        ),
      ]),
      el("tbody", {}, rows),
    ]),
  ]);
}

export function row(attrs: Record<string, string>, cells: readonly (string | Node)[]): HTMLTableRowElement {
  return el(
    "tr",
    attrs,
    cells.map((cell) => el("td", {}, [cell])),
  );
}

export function facts(id: string, pairs: readonly [string, string | Node][]): HTMLDListElement {
  return el(
    "dl",
    { class: "facts", id },
    pairs.flatMap(([term, value]) => [el("dt", {}, [term]), el("dd", {}, [value])]),
  );
}

export function empty(text: string): HTMLParagraphElement {
  return el("p", { class: "empty" }, [text]);
}

export function ms(value: number | null | undefined): string {
  if (value === null || value === undefined) return "–";
  if (value < 1000) return `${Math.round(value)} ms`;
  if (value < 120_000) return `${(value / 1000).toFixed(1)} s`;
  if (value < 7_200_000) return `${Math.round(value / 60_000)} min`;
  if (value < 172_800_000) return `${(value / 3_600_000).toFixed(1)} h`;
  return `${Math.round(value / 86_400_000)} d`;
}

export function ago(at: number | null | undefined, now: number): string {
  if (at === null || at === undefined) return "–";
  return `${ms(Math.max(0, now - at))} ago`;
}

export function time(at: number | null | undefined): string {
  if (at === null || at === undefined || at === 0) return "–";
  return `${new Date(at).toISOString().replace("T", " ").slice(0, 19)}Z`;
}

export function agentLink(agentId: string): HTMLAnchorElement {
  return el("a", { href: `/dashboard/agent?id=${encodeURIComponent(agentId)}`, class: "agent-link" }, [agentId]);
}

export function traceLink(agentId: string, messageId: string, label: string): HTMLAnchorElement {
  const href = `/dashboard/trace?agent=${encodeURIComponent(agentId)}&message=${encodeURIComponent(messageId)}`;
  return el("a", { href, class: "trace-link" }, [label]);
}

/** A coloured status word: the class picks the colour, the word says it (never colour alone). */
export function badge(text: string, tone: "ok" | "warn" | "bad" | "muted"): HTMLSpanElement {
  return el("span", { class: `badge ${tone}` }, [text]);
}
