/** Tagging a stream of items in groups, in order, with a bounded number of groups in flight. */
import type { Nlp } from "../pipeline/nlp.js";
import { yieldToEventLoop } from "../pipeline/nlp.js";
import { tagItems, type PredictFormat, type PredictItem, type TaggedGroup } from "./items.js";
import type { GroupTagger } from "./pool.js";

/** Options of {@link tagInOrder}. */
export interface TagInOrderOptions {
  /** Items per group (default 256). */
  groupSize?: number;
  /** Groups read ahead of the output at most (default 2 × the workers, for a pool). */
  inFlight?: number;
  /** Called after each group is written. */
  onGroup?: (g: TaggedGroup) => void;
  /** Checked before reading on; true stops the run early (the reader went away). */
  stopped?: () => boolean;
}

/** Totals of a run. */
export interface TagTotals {
  docs: number;
  tokens: number;
}

/**
 * Tag `items` with `tagger` and `write` each group's output in input order.
 * At most `inFlight` groups are held (being tagged or waiting for an earlier
 * one), so memory stays flat whatever the input's size.
 */
export async function tagInOrder(items: AsyncIterable<PredictItem>, tagger: GroupTagger, write: (s: string) => Promise<void>, opts: TagInOrderOptions = {}): Promise<TagTotals> {
  const groupSize = opts.groupSize ?? 256;
  const inFlight = Math.max(1, opts.inFlight ?? 2);
  const totals: TagTotals = { docs: 0, tokens: 0 };
  const pending: Promise<TaggedGroup>[] = [];
  const emit = async (): Promise<void> => {
    const g = await pending.shift()!;
    await write(g.out);
    totals.docs += g.docs;
    totals.tokens += g.tokens;
    opts.onGroup?.(g);
  };
  const submit = (group: PredictItem[]): void => {
    const p = tagger.tag(group);
    p.catch(() => undefined); // awaited in order by emit(); don't report it as unhandled meanwhile
    pending.push(p);
  };
  let group: PredictItem[] = [];
  for await (const item of items) {
    group.push(item);
    if (group.length < groupSize) continue;
    submit(group);
    group = [];
    if (pending.length >= inFlight) await emit();
    if (opts.stopped?.()) return totals;
  }
  if (group.length > 0) submit(group);
  while (pending.length > 0 && !opts.stopped?.()) await emit();
  return totals;
}

/** Tagging on this thread, one group at a time (the event loop gets a turn between groups). */
export class LocalTagger implements GroupTagger {
  constructor(private readonly nlp: Nlp, private readonly format: PredictFormat) {}

  async tag(items: PredictItem[]): Promise<TaggedGroup> {
    await yieldToEventLoop();
    return tagItems(this.nlp, items, this.format);
  }

  async close(): Promise<void> {}
}
