import { LstmNerError } from "../util/errors.js";
import type { TagScheme } from "./types.js";

/** An entity chunk: tokens `start` (inclusive) to `end` (exclusive) of one type. */
export interface Chunk {
  type: string;
  start: number;
  end: number;
}

/** Tag prefixes each scheme may contain (besides `O`). */
const PREFIXES: Record<TagScheme, string> = { IOB1: "BI", IOB2: "BI", BIOES: "BIES" };

/** Split a tag into prefix and type; `O` gives prefix "O" and type "". */
function splitTag(tag: string, scheme: TagScheme, index: number): { prefix: string; type: string } {
  if (tag === "O") return { prefix: "O", type: "" };
  const prefix = tag.charAt(0);
  const type = tag.slice(2);
  if (tag.charAt(1) !== "-" || type === "" || !"BIES".includes(prefix)) {
    throw new LstmNerError(`invalid tag '${tag}' (expected O or B-/I-/E-/S- followed by a type)`, { file: `tags[${index}]` });
  }
  if (!PREFIXES[scheme].includes(prefix)) {
    throw new LstmNerError(`tag '${tag}' is not valid in ${scheme} (allowed prefixes: ${PREFIXES[scheme].split("").join(", ")})`, { file: `tags[${index}]` });
  }
  return { prefix, type };
}

/**
 * Read the entity chunks of a tag sequence. The reading is conlleval's,
 * which is the same for IOB1 and IOB2: `B-X` and `S-X` always start a chunk,
 * `I-X`/`E-X` continue an open chunk of type X and otherwise start one (so a
 * stray `I-X` after `O` or after another type is a chunk start), `E-X` and
 * `S-X` close their chunk.
 *
 * @throws LstmNerError for malformed tags or prefixes the scheme does not use.
 */
export function chunks(tags: readonly string[], scheme: TagScheme): Chunk[] {
  const out: Chunk[] = [];
  let open: Chunk | undefined;
  const close = (end: number): void => {
    if (open !== undefined) {
      open.end = end;
      out.push(open);
      open = undefined;
    }
  };
  tags.forEach((tag, i) => {
    const { prefix, type } = splitTag(tag, scheme, i);
    if (prefix === "O") {
      close(i);
      return;
    }
    const continues = (prefix === "I" || prefix === "E") && open !== undefined && open.type === type;
    if (!continues) {
      close(i);
      open = { type, start: i, end: i + 1 };
    }
    if (prefix === "E" || prefix === "S") close(i + 1);
  });
  close(tags.length);
  return out;
}

/**
 * Write chunks as tags of `scheme` for a sentence of `length` tokens.
 * IOB1 uses `B-X` only for a chunk that directly follows another chunk of the
 * same type; IOB2 starts every chunk with `B-X`; BIOES adds `E-X` and `S-X`.
 */
export function chunksToTags(list: readonly Chunk[], length: number, scheme: TagScheme): string[] {
  const tags: string[] = new Array<string>(length).fill("O");
  let prevEnd = -1;
  let prevType = "";
  for (const c of list) {
    if (c.start < 0 || c.end > length || c.start >= c.end || c.start < prevEnd) {
      throw new LstmNerError(`chunk ${c.type} [${c.start}, ${c.end}) is empty, out of range or overlaps the previous one`, { file: "chunks" });
    }
    for (let i = c.start; i < c.end; i++) tags[i] = `I-${c.type}`;
    if (scheme === "IOB2" || (scheme === "IOB1" && c.start === prevEnd && c.type === prevType)) {
      tags[c.start] = `B-${c.type}`;
    } else if (scheme === "BIOES") {
      if (c.end - c.start === 1) {
        tags[c.start] = `S-${c.type}`;
      } else {
        tags[c.start] = `B-${c.type}`;
        tags[c.end - 1] = `E-${c.type}`;
      }
    }
    prevEnd = c.end;
    prevType = c.type;
  }
  return tags;
}

/** Convert one sentence's tags between schemes (lossless on valid sequences). */
export function convert(tags: readonly string[], from: TagScheme, to: TagScheme): string[] {
  return chunksToTags(chunks(tags, from), tags.length, to);
}

/** Convert one sentence's tags to IOB2 (BIO). */
export function toIob2(tags: readonly string[], from: TagScheme): string[] {
  return convert(tags, from, "IOB2");
}

/** Convert one sentence's tags to BIOES. */
export function toBioes(tags: readonly string[], from: TagScheme): string[] {
  return convert(tags, from, "BIOES");
}

/** Convert one sentence's tags to IOB1. */
export function toIob1(tags: readonly string[], from: TagScheme): string[] {
  return convert(tags, from, "IOB1");
}

/**
 * Guess the scheme of tag sequences (one sentence, or many): BIOES if any
 * `E-`/`S-` tag occurs; IOB1 if chunks start with `I-` and no chunk starts
 * with a `B-` that IOB1 would not use; otherwise IOB2 (also for all-`O`
 * input, and for IOB2 with a few stray `I-` tags, e.g. model output).
 */
export function detectScheme(tags: readonly string[] | readonly (readonly string[])[]): TagScheme {
  const sentences: readonly (readonly string[])[] = tags.length > 0 && Array.isArray(tags[0]) ? (tags as readonly (readonly string[])[]) : [tags as readonly string[]];
  let iStarts = 0;
  let bStarts = 0;
  for (const sentence of sentences) {
    let prevPrefix = "O";
    let prevType = "";
    for (let i = 0; i < sentence.length; i++) {
      const { prefix, type } = splitTag(sentence[i]!, "BIOES", i);
      if (prefix === "E" || prefix === "S") return "BIOES";
      // A chunk start that IOB1 writes as I- but IOB2 as B-.
      const freshStart = prevPrefix === "O" || prevType !== type;
      if (freshStart && prefix === "I") iStarts++;
      if (freshStart && prefix === "B") bStarts++;
      prevPrefix = prefix;
      prevType = type;
    }
  }
  return iStarts > 0 && bStarts === 0 ? "IOB1" : "IOB2";
}

/** Entity types named by labels, in order of first appearance (`O` excluded). */
export function entityTypes(labels: readonly string[]): string[] {
  const seen = new Set<string>();
  labels.forEach((label, i) => {
    const { prefix, type } = splitTag(label, "BIOES", i);
    if (prefix !== "O") seen.add(type);
  });
  return [...seen];
}

/**
 * The full label list of a scheme for these entity types: `O` first, then per
 * type `B-`, `I-` (and `E-`, `S-` for BIOES). For the conllpp types
 * `PER ORG LOC MISC` in IOB2 this is exactly `CONLL_LABELS`.
 */
export function labelsForScheme(types: readonly string[], scheme: TagScheme): string[] {
  const labels = ["O"];
  for (const t of types) for (const p of PREFIXES[scheme]) labels.push(`${p}-${t}`);
  return labels;
}
