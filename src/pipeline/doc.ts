/**
 * spaCy-style documents: a text, its tokens with entity tags, its sentences
 * and its entity spans. Plain data that survives a JSON round trip
 * ({@link Doc.toJSON} / {@link Doc.fromJSON}), so a server, a CLI and a
 * browser page can pass documents around.
 *
 * Character offsets: `idx`, `startChar` and `endChar` are JavaScript string
 * indices, i.e. UTF-16 code units, so `doc.text.slice(e.startChar, e.endChar)`
 * is the entity's text. spaCy (Python) counts code points instead; the two
 * differ after any character outside the Basic Multilingual Plane (most
 * emoji, some CJK), which takes two code units. `codePointIdx`,
 * `codePointStart` and `codePointEnd` give the spaCy-compatible offsets
 * (Python's `doc.text[e.codePointStart:e.codePointEnd]`), in the JSON too.
 */
import { chunks } from "../data/schemes.js";
import type { TagScheme } from "../data/types.js";
import { LstmNerError } from "../util/errors.js";

/** Entity IOB code of a token, as spaCy's `ent_iob_` (B starts an entity, I continues it, O is outside). */
export type EntIob = "B" | "I" | "O";

/** One token of a {@link Doc}. */
export class Token {
  constructor(
    /** The document it belongs to. */
    readonly doc: Doc,
    /** Position in the document (0-based). */
    readonly i: number,
    /** The token's text, exactly as in the document. */
    readonly text: string,
    /** Offset of the token in `doc.text` in UTF-16 code units (a JavaScript string index); see {@link codePointIdx}. */
    readonly idx: number,
    /** The original text between this token and the next (spaCy's `whitespace_`); "" when they touch. */
    readonly whitespace: string,
    /** B, I or O, as spaCy's `ent_iob_`. */
    readonly entIob: EntIob,
    /** Entity type ("PER", "ORG", …), "" outside entities (spaCy's `ent_type_`). */
    readonly entType: string,
    /** The tag the model predicted, in its own scheme (e.g. "B-PER"). */
    readonly tag: string,
    /** Probability the model gave `tag`, when it gives one. */
    readonly prob?: number,
  ) {}

  /** Offset of the token in `doc.text` in code points, as spaCy's `Token.idx` counts. */
  get codePointIdx(): number {
    return this.doc.codePointOffset(this.idx);
  }

  /** The token's text. */
  toString(): string {
    return this.text;
  }
}

/** A slice of a {@link Doc}: tokens `start` (inclusive) to `end` (exclusive), like spaCy's `Span`. */
export class Span {
  constructor(
    readonly doc: Doc,
    /** First token index. */
    readonly start: number,
    /** One past the last token index. */
    readonly end: number,
    /** Entity type for entity spans; "" for sentences. */
    readonly label = "",
    /** Mean probability of the span's token tags, when the model gives them. */
    readonly confidence?: number,
  ) {}

  /** Offset of the first token, in UTF-16 code units (a JavaScript string index). */
  get startChar(): number {
    return this.doc.tokens[this.start]!.idx;
  }

  /** Offset just past the last token, in UTF-16 code units (a JavaScript string index). */
  get endChar(): number {
    const last = this.doc.tokens[this.end - 1]!;
    return last.idx + last.text.length;
  }

  /** {@link startChar} in code points, as spaCy's `Span.start_char` counts. */
  get codePointStart(): number {
    return this.doc.codePointOffset(this.startChar);
  }

  /** {@link endChar} in code points, as spaCy's `Span.end_char` counts. */
  get codePointEnd(): number {
    return this.doc.codePointOffset(this.endChar);
  }

  /** The span's text, exactly as in the document. */
  get text(): string {
    return this.doc.text.slice(this.startChar, this.endChar);
  }

  /** The span's tokens. */
  get tokens(): Token[] {
    return this.doc.tokens.slice(this.start, this.end);
  }

  get length(): number {
    return this.end - this.start;
  }

  [Symbol.iterator](): Iterator<Token> {
    return this.tokens[Symbol.iterator]();
  }

  toString(): string {
    return this.text;
  }
}

/** The JSON form of a token (see {@link DocJSON}). */
export interface TokenJSON {
  i: number;
  text: string;
  /** UTF-16 code units (a JavaScript string index). */
  idx: number;
  /** The same offset in code points (spaCy's `idx`). */
  codePointIdx: number;
  whitespace: string;
  entIob: EntIob;
  entType: string;
  tag: string;
  prob?: number;
}

/** The JSON form of a span (see {@link DocJSON}). */
export interface SpanJSON {
  start: number;
  end: number;
  /** UTF-16 code units (JavaScript string indices). */
  startChar: number;
  endChar: number;
  /** The same offsets in code points (spaCy's `start_char`, `end_char`). */
  codePointStart: number;
  codePointEnd: number;
  text: string;
  label: string;
  confidence?: number;
}

/** What {@link Doc.toJSON} gives and {@link Doc.fromJSON} reads. */
export interface DocJSON {
  text: string;
  tokens: TokenJSON[];
  sents: { start: number; end: number }[];
  ents: SpanJSON[];
}

/** A tokenised piece of text: what {@link Doc.fromTagged} needs per token. */
export interface TokenOffset {
  start: number;
  end: number;
}

/** An analysed text: tokens with entity tags, sentences and entities. Iterate it for its tokens. */
export class Doc implements Iterable<Token> {
  readonly tokens: Token[] = [];
  /** Sentences, as spans. */
  readonly sents: Span[] = [];
  /** Entities, as labelled spans in text order. */
  readonly ents: Span[] = [];

  /** UTF-16 indices of the high halves of the text's surrogate pairs, ascending; built on first use. */
  private pairs: number[] | undefined;

  private constructor(readonly text: string) {}

  /**
   * The code-point offset of a UTF-16 offset into {@link text} (they differ
   * by the number of surrogate pairs before it).
   */
  codePointOffset(utf16: number): number {
    if (this.pairs === undefined) {
      const pairs: number[] = [];
      const t = this.text;
      for (let i = 0; i < t.length - 1; i++) {
        const c = t.charCodeAt(i);
        if (c >= 0xd800 && c <= 0xdbff) {
          const d = t.charCodeAt(i + 1);
          if (d >= 0xdc00 && d <= 0xdfff) pairs.push(i++);
        }
      }
      this.pairs = pairs;
    }
    // Pairs that end before `utf16` (high half at p, low at p + 1 < utf16) each count one code point for two units.
    let lo = 0;
    let hi = this.pairs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.pairs[mid]! + 1 < utf16) lo = mid + 1;
      else hi = mid;
    }
    return utf16 - lo;
  }

  /**
   * A document from tokenised, tagged sentences.
   * @param sentences token offsets into `text`, per sentence, in text order.
   * @param tags the model's tags per sentence (same shape as `sentences`).
   * @param scheme the scheme of `tags`; entities are read with conlleval's rules ({@link chunks}).
   * @param probs the probability of each tag, when the model gives one (NaN: it gives none, as a CRF).
   */
  static fromTagged(text: string, sentences: readonly (readonly TokenOffset[])[], tags: readonly (readonly string[])[],
    scheme: TagScheme, probs?: readonly (readonly number[])[]): Doc {
    const doc = new Doc(text);
    const flat = sentences.flat();
    let base = 0;
    sentences.forEach((sent, s) => {
      const sentTags = tags[s];
      if (sentTags === undefined || sentTags.length !== sent.length) {
        throw new LstmNerError(`sentence ${s} has ${sent.length} tokens but ${sentTags?.length ?? 0} tags`, { file: "tags" });
      }
      const iob: EntIob[] = sent.map(() => "O");
      const type: string[] = sent.map(() => "");
      for (const c of chunks(sentTags, scheme)) {
        for (let t = c.start; t < c.end; t++) {
          iob[t] = t === c.start ? "B" : "I";
          type[t] = c.type;
        }
        const p = probs?.[s]?.slice(c.start, c.end);
        const conf = p === undefined || !p.every(Number.isFinite) ? undefined : mean(p);
        doc.ents.push(new Span(doc, base + c.start, base + c.end, c.type, conf));
      }
      sent.forEach((tok, t) => {
        const i = base + t;
        const next = flat[i + 1];
        const ws = text.slice(tok.end, next === undefined ? text.length : next.start);
        const prob = probs?.[s]?.[t];
        doc.tokens.push(new Token(doc, i, text.slice(tok.start, tok.end), tok.start, ws, iob[t]!, type[t]!, sentTags[t]!,
          prob !== undefined && Number.isFinite(prob) ? prob : undefined));
      });
      if (sent.length > 0) doc.sents.push(new Span(doc, base, base + sent.length));
      base += sent.length;
    });
    return doc;
  }

  /** Number of tokens. */
  get length(): number {
    return this.tokens.length;
  }

  [Symbol.iterator](): Iterator<Token> {
    return this.tokens[Symbol.iterator]();
  }

  /** Plain data: `JSON.stringify(doc)` uses it. */
  toJSON(): DocJSON {
    return {
      text: this.text,
      tokens: this.tokens.map((t) => ({
        i: t.i, text: t.text, idx: t.idx, codePointIdx: t.codePointIdx, whitespace: t.whitespace, entIob: t.entIob, entType: t.entType, tag: t.tag,
        ...(t.prob === undefined ? {} : { prob: t.prob }),
      })),
      sents: this.sents.map((s) => ({ start: s.start, end: s.end })),
      ents: this.ents.map((e) => ({
        start: e.start, end: e.end, startChar: e.startChar, endChar: e.endChar, codePointStart: e.codePointStart, codePointEnd: e.codePointEnd,
        text: e.text, label: e.label,
        ...(e.confidence === undefined ? {} : { confidence: e.confidence }),
      })),
    };
  }

  /**
   * A document from its JSON form (parsed already, or as a string).
   * @throws LstmNerError naming the first field that is missing, of the wrong type, or inconsistent with `text`.
   */
  static fromJSON(json: unknown): Doc {
    let data = json;
    if (typeof json === "string") {
      try {
        data = JSON.parse(json) as unknown;
      } catch (e) {
        throw new LstmNerError(`not valid JSON (${(e as Error).message})`, { file: "doc" });
      }
    }
    const o = record(data, "doc");
    const text = str(o.text, "doc.text");
    const doc = new Doc(text);
    list(o.tokens, "doc.tokens").forEach((raw, i) => {
      const f = `doc.tokens[${i}]`;
      const t = record(raw, f);
      const tokText = str(t.text, `${f}.text`);
      const idx = int(t.idx, `${f}.idx`, 0, text.length);
      if (text.slice(idx, idx + tokText.length) !== tokText) throw new LstmNerError(`token text does not match doc.text at idx ${idx}`, { file: f });
      if (t.i !== undefined && t.i !== i) throw new LstmNerError(`i is ${JSON.stringify(t.i)}, expected ${i}`, { file: f });
      const iob = t.entIob;
      if (iob !== "B" && iob !== "I" && iob !== "O") throw new LstmNerError(`entIob must be "B", "I" or "O"`, { file: `${f}.entIob` });
      const prob = t.prob === undefined ? undefined : num(t.prob, `${f}.prob`);
      // Optional (JSON from older versions lacks it), but when given it must agree with idx.
      if (t.codePointIdx !== undefined && t.codePointIdx !== doc.codePointOffset(idx)) {
        throw new LstmNerError(`codePointIdx is ${JSON.stringify(t.codePointIdx)}, but idx ${idx} is code point ${doc.codePointOffset(idx)} of doc.text`, { file: `${f}.codePointIdx` });
      }
      doc.tokens.push(new Token(doc, i, tokText, idx, str(t.whitespace, `${f}.whitespace`), iob, str(t.entType, `${f}.entType`),
        t.tag === undefined ? (iob === "O" ? "O" : `${iob}-${String(t.entType)}`) : str(t.tag, `${f}.tag`), prob));
    });
    const n = doc.tokens.length;
    const spans = (v: unknown, field: string, labelled: boolean): Span[] => list(v, field).map((raw, i) => {
      const f = `${field}[${i}]`;
      const s = record(raw, f);
      const start = int(s.start, `${f}.start`, 0, n);
      const end = int(s.end, `${f}.end`, start + 1, n);
      const label = labelled ? str(s.label, `${f}.label`) : "";
      const conf = labelled && s.confidence !== undefined ? num(s.confidence, `${f}.confidence`) : undefined;
      const span = new Span(doc, start, end, label, conf);
      for (const [key, value] of [["codePointStart", span.codePointStart], ["codePointEnd", span.codePointEnd]] as const) {
        if (s[key] !== undefined && s[key] !== value) throw new LstmNerError(`${key} is ${JSON.stringify(s[key])}, expected ${value} (from its tokens)`, { file: `${f}.${key}` });
      }
      return span;
    });
    doc.sents.push(...spans(o.sents, "doc.sents", false));
    doc.ents.push(...spans(o.ents, "doc.ents", true));
    return doc;
  }
}

function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

function record(v: unknown, field: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new LstmNerError("must be an object", { file: field });
  return v as Record<string, unknown>;
}

function list(v: unknown, field: string): unknown[] {
  if (!Array.isArray(v)) throw new LstmNerError("must be an array", { file: field });
  return v;
}

function str(v: unknown, field: string): string {
  if (typeof v !== "string") throw new LstmNerError("must be a string", { file: field });
  return v;
}

function num(v: unknown, field: string): number {
  if (typeof v !== "number" || !Number.isFinite(v)) throw new LstmNerError("must be a finite number", { file: field });
  return v;
}

function int(v: unknown, field: string, min: number, max: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw new LstmNerError(`must be an integer in ${min}..${max}, got ${JSON.stringify(v)}`, { file: field });
  }
  return v;
}
