/**
 * A read-only word → row table over newline-separated UTF-8 keys, used for a
 * pruned vocabulary's dropped words (hundreds of thousands of them). It hashes
 * the stored bytes once and looks words up by their bytes, so loading makes
 * no string per key and no Map: a small model loads in a fraction of the time
 * (the strings are made only if something asks for {@link KeyTable.keys}).
 * No Node imports: the browser bundle uses it as it is.
 */

const encoder = new TextEncoder();
const NEWLINE = 10;

/** FNV-1a over bytes[from, to). */
function hashBytes(bytes: Uint8Array, from: number, to: number): number {
  let h = 0x811c9dc5;
  for (let i = from; i < to; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return h >>> 0;
}

export class KeyTable {
  /** Number of keys. */
  readonly size: number;
  /** Key i is bytes[starts[i], starts[i + 1] - 1) (the byte before the next start is its newline). */
  private readonly starts: Int32Array;
  /** Open addressing, linear probing: key index + 1, 0 for an empty slot; a power of two ≥ 2 × size. */
  private readonly slots: Int32Array;
  private scratch = new Uint8Array(64);
  private strings: string[] | undefined;

  /**
   * @param bytes the keys, UTF-8, separated by "\n" (no newline after the last; empty: no keys).
   * @param rows row of key i; a key that occurs twice reads its first row.
   */
  constructor(private readonly bytes: Uint8Array, readonly rows: Int32Array) {
    let n = bytes.length === 0 ? 0 : 1;
    for (let i = 0; i < bytes.length; i++) if (bytes[i] === NEWLINE) n++;
    this.size = n;
    this.starts = new Int32Array(n + 1);
    for (let i = 0, k = 1; i < bytes.length; i++) if (bytes[i] === NEWLINE) this.starts[k++] = i + 1;
    this.starts[n] = bytes.length + 1;
    let cap = 16;
    while (cap < 2 * n) cap *= 2;
    this.slots = new Int32Array(cap);
    const mask = cap - 1;
    for (let k = 0; k < n; k++) {
      const from = this.starts[k]!;
      const to = this.starts[k + 1]! - 1;
      let s = hashBytes(bytes, from, to) & mask;
      for (;;) {
        const e = this.slots[s]!;
        if (e === 0) {
          this.slots[s] = k + 1;
          break;
        }
        if (this.equals(e - 1, bytes, from, to)) break; // a repeated key keeps its first row
        s = (s + 1) & mask;
      }
    }
  }

  /** A table of some strings (e.g. a pruning's result). */
  static fromKeys(keys: readonly string[], rows: Int32Array): KeyTable {
    const t = new KeyTable(encoder.encode(keys.join("\n")), rows);
    t.strings = keys.length === t.size ? [...keys] : undefined;
    return t;
  }

  /** The keys in order, as strings (made on first use). */
  get keys(): string[] {
    this.strings ??= this.size === 0 ? [] : new TextDecoder().decode(this.bytes).split("\n");
    return this.strings;
  }

  /** The keys' bytes as stored (UTF-8, "\n"-separated). */
  get keyBytes(): Uint8Array {
    return this.bytes;
  }

  /** Row of `word`, or undefined when it is not a key. */
  get(word: string): number | undefined {
    if (this.size === 0) return undefined;
    if (this.scratch.length < word.length * 3) this.scratch = new Uint8Array(word.length * 3);
    const len = encoder.encodeInto(word, this.scratch).written;
    const mask = this.slots.length - 1;
    for (let s = hashBytes(this.scratch, 0, len) & mask; ; s = (s + 1) & mask) {
      const e = this.slots[s]!;
      if (e === 0) return undefined;
      if (this.equals(e - 1, this.scratch, 0, len)) return this.rows[e - 1];
    }
  }

  private equals(k: number, b: Uint8Array, from: number, to: number): boolean {
    const start = this.starts[k]!;
    if (this.starts[k + 1]! - 1 - start !== to - from) return false;
    for (let i = 0; i < to - from; i++) if (this.bytes[start + i] !== b[from + i]) return false;
    return true;
  }
}
