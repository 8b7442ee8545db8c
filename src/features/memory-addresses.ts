/**
 * Document memory addresses (Luo, Xiao & Zhao, AAAI 2020): each occurrence
 * of a word attends to the BiLSTM outputs of the other occurrences of the
 * same word in its document. Which ones is decided here, from the text
 * alone: every token gets the slots of the first {@link DOC_MEMORY_CAP}
 * other occurrences of its word-table row in its document (document order),
 * and the occurrences that some token reads get a slot to write. The tagger
 * (`FeatureTagger` with `docMemory`) keeps the slots' vectors.
 */
import { LstmNerError } from "../util/errors.js";
import type { BatchMemory } from "../nn/memory-attention.js";

/**
 * Other occurrences a token attends to, at most: the first ones of its word
 * in the document (a name spelled out in full is usually mentioned first).
 * Only the first cap + 1 occurrences of a word then need a slot.
 */
export const DOC_MEMORY_CAP = 16;

/** What the memory keys on. */
export interface DocMemoryOptions {
  /** Word rows that never match (the UNK and padding rows). */
  skip: readonly number[];
  /** Other occurrences read per token, at most (default {@link DOC_MEMORY_CAP}). */
  cap?: number;
}

/** One sentence's addresses, per token. */
export interface MemoryAddresses {
  /** The slot the token's output is written to, −1 for none. */
  slots: Int32Array;
  /** length+1 offsets into {@link refs}. */
  offsets: Int32Array;
  /** The slots token t reads: refs[offsets[t]] .. refs[offsets[t+1]−1]. */
  refs: Int32Array;
}

/**
 * Addresses for sentences given as word-table rows, `docs[i]` being sentence
 * i's document (without `docs`, one document; sentences of a document need
 * not be adjacent, their input order is the document order). Slots are
 * numbered 0.. over the whole call, so one call's sentences share one memory.
 */
export function memoryAddresses(sentences: readonly ArrayLike<number>[], docs: readonly (number | undefined)[] | undefined,
  o: DocMemoryOptions): MemoryAddresses[] {
  const cap = o.cap ?? DOC_MEMORY_CAP;
  if (!Number.isInteger(cap) || cap < 1) throw new LstmNerError(`document memory: cap must be a whole number ≥ 1, got ${cap}`);
  if (docs !== undefined && docs.length !== sentences.length) {
    throw new LstmNerError(`document memory: ${docs.length} document ids for ${sentences.length} sentences`);
  }
  const skip = new Set(o.skip);
  // Pass 1: each token's index among its word's occurrences in its document.
  const counts = new Map<number | undefined, Map<number, number>>();
  const index = sentences.map((ids, i) => {
    const doc = docs?.[i];
    let words = counts.get(doc);
    if (words === undefined) counts.set(doc, (words = new Map()));
    const at = new Int32Array(ids.length).fill(-1);
    for (let t = 0; t < ids.length; t++) {
      const id = ids[t]!;
      if (skip.has(id)) continue;
      const n = words.get(id) ?? 0;
      at[t] = n;
      words.set(id, n + 1);
    }
    return at;
  });
  // Slots: the first cap + 1 occurrences of every word that occurs at least twice in its document.
  const base = new Map<number | undefined, Map<number, number>>();
  let next = 0;
  for (const [doc, words] of counts) {
    const b = new Map<number, number>();
    for (const [id, n] of words) {
      if (n < 2) continue;
      b.set(id, next);
      next += Math.min(n, cap + 1);
    }
    base.set(doc, b);
  }
  return sentences.map((ids, i) => {
    const doc = docs?.[i];
    const words = counts.get(doc)!;
    const b = base.get(doc)!;
    const at = index[i]!;
    const slots = new Int32Array(ids.length).fill(-1);
    const offsets = new Int32Array(ids.length + 1);
    const refs: number[] = [];
    for (let t = 0; t < ids.length; t++) {
      const first = at[t]! >= 0 ? b.get(ids[t]!) : undefined;
      if (first !== undefined) {
        const me = at[t]!;
        const stored = Math.min(words.get(ids[t]!)!, cap + 1);
        if (me < stored) slots[t] = first + me;
        for (let j = 0, taken = 0; j < stored && taken < cap; j++) {
          if (j === me) continue;
          refs.push(first + j);
          taken++;
        }
      }
      offsets[t + 1] = refs.length;
    }
    return { slots, offsets, refs: Int32Array.from(refs) };
  });
}

/**
 * The batch's {@link BatchMemory} from its items' addresses (in batch order):
 * row (t, b) is token t of item b's addresses, t < rows; −1 and nothing to
 * read beyond an item's tokens.
 * @throws LstmNerError when an item has none or its addresses do not cover `lengths[b]` tokens.
 */
export function collateMemory(items: readonly (MemoryAddresses | undefined)[], lengths: ArrayLike<number>, rows: number): BatchMemory {
  const B = items.length;
  const slots = new Int32Array(rows * B).fill(-1);
  const counts = new Int32Array(rows * B);
  let total = 0;
  items.forEach((m, b) => {
    if (m === undefined) throw new LstmNerError(`batch item ${b} has no document memory addresses (the other items have)`);
    if (m.slots.length !== lengths[b] || m.offsets.length !== lengths[b]! + 1) {
      throw new LstmNerError(`batch item ${b}: document memory addresses for ${m.slots.length} tokens, it has ${lengths[b]}`);
    }
    for (let t = 0; t < m.slots.length; t++) {
      slots[t * B + b] = m.slots[t]!;
      counts[t * B + b] = m.offsets[t + 1]! - m.offsets[t]!;
      total += counts[t * B + b]!;
    }
  });
  const offsets = new Int32Array(rows * B + 1);
  for (let r = 0; r < rows * B; r++) offsets[r + 1] = offsets[r]! + counts[r]!;
  const refs = new Int32Array(total);
  items.forEach((m, b) => {
    for (let t = 0; t < m!.slots.length; t++) refs.set(m!.refs.subarray(m!.offsets[t]!, m!.offsets[t + 1]!), offsets[t * B + b]!);
  });
  return { slots, offsets, refs };
}
