import type { DeliverItem } from "@clawrelay/protocol";

/** At most this many items, and this much of their JSON text, are kept (the text's length stands for their memory). */
const MAX_ITEMS = 1024;
const MAX_CHARS = 4 * 1_048_576;

/**
 * The items this process took in from deliver frames and has not yet handed to the hook worker,
 * so that a pick does not parse again what it has just written: JSON.parse plus the item schema
 * cost about 3.5 µs an item (issue 18), the pick's largest cost per item after the row lookup.
 *
 * Sound because an entry is only ever the very object the deliver frame's schema parse produced
 * and whose JSON.stringify the inbox row holds: it is put here only after the transaction that
 * wrote that row committed (`InboxStore.storeInbound`), and dropped by every other write of an
 * inbox row's item (a local receipt, a replayed dead letter), so for as long as it is here the row's
 * text is its encoding, and parsing that text with the schema again would give the same item back.
 * What this process did not take in itself (after a restart, past the bounds) is read from the row
 * and parsed with the schema as before, so a row written by another version or damaged on disk is
 * still dead-lettered as unreadable.
 */
export class RecentItems {
  private readonly items = new Map<string, { item: DeliverItem; chars: number }>();
  private chars = 0;

  /** `item` was committed to the inbox as JSON text of `chars` characters. */
  put(item: DeliverItem, chars: number): void {
    this.drop(item.id);
    if (chars > MAX_CHARS) return;
    while (this.items.size >= MAX_ITEMS || this.chars + chars > MAX_CHARS) {
      const oldest = this.items.keys().next();
      if (oldest.done) break;
      this.drop(oldest.value);
    }
    this.items.set(item.id, { item, chars });
    this.chars += chars;
  }

  /** The item stored under `id`, forgotten here (it is in the caller's hands now); undefined when not kept. */
  take(id: string): DeliverItem | undefined {
    const kept = this.items.get(id);
    if (kept === undefined) return undefined;
    this.drop(id);
    return kept.item;
  }

  /** The row of `id` was written otherwise: what is kept for it no longer stands for it. */
  drop(id: string): void {
    const kept = this.items.get(id);
    if (kept === undefined) return;
    this.items.delete(id);
    this.chars -= kept.chars;
  }
}
