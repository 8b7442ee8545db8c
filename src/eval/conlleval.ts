/**
 * Entity-level scoring with the rules of the CoNLL shared task's `conlleval`
 * Perl script: chunks are found with its `startOfChunk`/`endOfChunk` rules
 * over (prefix, type), and a chunk counts as correct only when gold and guess
 * start it together, end it together and agree on its type.
 *
 * The start/end rules are conlleval's own, extended (as the widely used
 * Python ports and seqeval's default mode do) with the BIOES `S-` tag and
 * with "a chunk always ends after `E-`". On IOB1/IOB2 input (only `B-`, `I-`,
 * `O`) the extended rules give exactly the Perl script's answers.
 */
import { LstmNerError } from "../util/errors.js";

/** Figures for one entity type. Percentages are 0..100, not rounded. */
export interface TypeScore {
  precision: number;
  recall: number;
  f1: number;
  /** Chunks of this type in the gold data. */
  gold: number;
  /** Chunks of this type in the prediction. */
  pred: number;
  /** Predicted chunks of this type that match a gold chunk exactly. */
  correct: number;
}

/** conlleval's figures for a whole data set. Percentages are 0..100, not rounded. */
export interface Score {
  /** Tokens scored (sentence boundaries are not tokens). */
  tokens: number;
  /** Tokens whose predicted tag equals the gold tag, `O` included (conlleval's "accuracy"). */
  correctTags: number;
  /** Chunks in the gold data. */
  phrasesGold: number;
  /** Chunks in the prediction. */
  phrasesPred: number;
  /** Predicted chunks that match a gold chunk exactly. */
  correct: number;
  /** Token-level tag accuracy; counts `O` tokens, so it is high even for a poor tagger. */
  accuracy: number;
  precision: number;
  recall: number;
  /** conlleval's FB1 (beta = 1). */
  f1: number;
  /** Per entity type, keyed by type name (e.g. `PER`). */
  perType: Record<string, TypeScore>;
  /**
   * Entity-type confusion: `confusion[goldType][predType]` counts gold chunks
   * whose span the prediction has exactly, with that type; `"O"` stands for
   * no chunk: `confusion[T].O` are missed gold chunks of type T (no predicted
   * chunk with their span), `confusion.O[T]` spurious predicted chunks.
   * The diagonal is `perType[T].correct`.
   */
  confusion: Record<string, Record<string, number>>;
}

/** Optional context for error messages. */
export interface ScoreWhere {
  /** File the sequences came from, named in errors. */
  file?: string;
}

/** A tag split as conlleval splits it: `B-PER` → prefix `B`, type `PER`; `O` → `O`, "". */
interface Parsed {
  prefix: string;
  type: string;
}

/** conlleval's `/^([^-]*)-(.*)$/`: the prefix stops at the first hyphen, the type is the rest. */
function parseTag(tag: string): Parsed {
  const dash = tag.indexOf("-");
  if (dash < 0) return { prefix: tag, type: "" };
  return { prefix: tag.slice(0, dash), type: tag.slice(dash + 1) };
}

/** True if a chunk ended at the previous token. */
function endOfChunk(prevTag: string, tag: string, prevType: string, type: string): boolean {
  if (prevTag === "E" || prevTag === "S") return true;
  if ((prevTag === "B" || prevTag === "I") && (tag === "B" || tag === "S" || tag === "O")) return true;
  if (prevTag !== "O" && prevTag !== "." && prevType !== type) return true;
  // conlleval: bracket chunks are assumed to have length 1.
  return prevTag === "]" || prevTag === "[";
}

/** True if a chunk starts at the current token. */
function startOfChunk(prevTag: string, tag: string, prevType: string, type: string): boolean {
  if (tag === "B" || tag === "S") return true;
  // A stray I-/E- after O (or after a finished chunk) opens a new chunk.
  if ((prevTag === "O" || prevTag === "E" || prevTag === "S") && (tag === "I" || tag === "E")) return true;
  if (tag !== "O" && tag !== "." && prevType !== type) return true;
  return tag === "[" || tag === "]";
}

function ratio(num: number, den: number): number {
  return den > 0 ? (100 * num) / den : 0;
}

function harmonic(p: number, r: number): number {
  return p + r > 0 ? (2 * p * r) / (p + r) : 0;
}

const OUTSIDE: Parsed = { prefix: "O", type: "" };

/**
 * Streaming conlleval: feed sentences one by one with {@link Scorer.add}, read
 * the figures with {@link Scorer.result} at any time. Each sentence is
 * followed by a boundary, as the blank line between sentences in a conlleval
 * input file, so chunks never cross sentences.
 */
export class Scorer {
  private tokens = 0;
  private correctTags = 0;
  private correctChunks = 0;
  private foundGold = 0;
  private foundPred = 0;
  private readonly goldByType = new Map<string, number>();
  private readonly predByType = new Map<string, number>();
  private readonly correctByType = new Map<string, number>();
  private sentences = 0;
  private readonly confusion = new Map<string, Map<string, number>>();

  /** @param where names the source file in error messages. */
  constructor(private readonly where: ScoreWhere = {}) {}

  /**
   * Score one sentence. Errors number sentences (in the order added) and tokens from 1.
   * @throws LstmNerError when the two sequences differ in length or a tag is empty or has whitespace.
   */
  add(gold: readonly string[], pred: readonly string[]): void {
    const sentence = this.sentences;
    if (gold.length !== pred.length) {
      throw new LstmNerError(
        `sentence ${sentence + 1}: gold has ${gold.length} tags but the prediction has ${pred.length}`,
        this.fileOnly(),
      );
    }
    let last = { gold: OUTSIDE, pred: OUTSIDE };
    let inCorrect = false;
    const step = (g: Parsed, p: Parsed): void => {
      const lg = last.gold;
      const lp = last.pred;
      if (inCorrect) {
        const endG = endOfChunk(lg.prefix, g.prefix, lg.type, g.type);
        const endP = endOfChunk(lp.prefix, p.prefix, lp.type, p.type);
        if (endG && endP && lp.type === lg.type) {
          inCorrect = false;
          this.correctChunks++;
          bump(this.correctByType, lg.type);
        } else if (endG !== endP || p.type !== g.type) {
          inCorrect = false;
        }
      }
      const startG = startOfChunk(lg.prefix, g.prefix, lg.type, g.type);
      const startP = startOfChunk(lp.prefix, p.prefix, lp.type, p.type);
      if (startG && startP && p.type === g.type) inCorrect = true;
      if (startG) {
        this.foundGold++;
        bump(this.goldByType, g.type);
      }
      if (startP) {
        this.foundPred++;
        bump(this.predByType, p.type);
      }
      last = { gold: g, pred: p };
    };
    // Check the whole sentence first so a bad tag leaves the totals untouched.
    for (let i = 0; i < gold.length; i++) {
      this.checkTag(gold[i]!, "gold", sentence, i);
      this.checkTag(pred[i]!, "predicted", sentence, i);
    }
    for (let i = 0; i < gold.length; i++) {
      const g = parseTag(gold[i]!);
      const p = parseTag(pred[i]!);
      step(g, p);
      this.tokens++;
      if (g.prefix === p.prefix && g.type === p.type) this.correctTags++;
    }
    // The sentence boundary: conlleval reads it as an `O O` line that is not a token.
    step(OUTSIDE, OUTSIDE);
    this.sentences++;
    this.addConfusion(chunks(gold), chunks(pred));
  }

  private addConfusion(gold: Chunk[], pred: Chunk[]): void {
    const cell = (g: string, p: string): void => {
      const row = this.confusion.get(g) ?? new Map<string, number>();
      this.confusion.set(g, row);
      bump(row, p);
    };
    const predBySpan = new Map(pred.map((c) => [`${c.start}:${c.end}`, c.type]));
    const goldSpans = new Set(gold.map((c) => `${c.start}:${c.end}`));
    for (const c of gold) cell(c.type, predBySpan.get(`${c.start}:${c.end}`) ?? "O");
    for (const c of pred) if (!goldSpans.has(`${c.start}:${c.end}`)) cell("O", c.type);
  }

  /** The figures for everything added so far. */
  result(): Score {
    const precision = ratio(this.correctChunks, this.foundPred);
    const recall = ratio(this.correctChunks, this.foundGold);
    const types = [...new Set([...this.goldByType.keys(), ...this.predByType.keys()])].sort(byCodeUnits);
    // Object.fromEntries defines own properties: `perType[type] = …` would set the prototype for a type named
    // __proto__.
    const perType: Record<string, TypeScore> = Object.fromEntries(types.map((type): [string, TypeScore] => {
      const gold = this.goldByType.get(type) ?? 0;
      const pred = this.predByType.get(type) ?? 0;
      const correct = this.correctByType.get(type) ?? 0;
      const p = ratio(correct, pred);
      const r = ratio(correct, gold);
      return [type, { precision: p, recall: r, f1: harmonic(p, r), gold, pred, correct }];
    }));
    return {
      tokens: this.tokens,
      correctTags: this.correctTags,
      phrasesGold: this.foundGold,
      phrasesPred: this.foundPred,
      correct: this.correctChunks,
      accuracy: ratio(this.correctTags, this.tokens),
      precision,
      recall,
      f1: harmonic(precision, recall),
      perType,
      confusion: Object.fromEntries([...this.confusion].sort(([a], [b]) => byCodeUnits(a, b)).map(([g, row]) => [g, Object.fromEntries(row)])),
    };
  }

  private fileOnly(): { file?: string } {
    return this.where.file === undefined ? {} : { file: this.where.file };
  }

  private checkTag(tag: string, side: string, sentence: number, token: number): void {
    if (typeof tag !== "string" || tag.length === 0 || /\s/.test(tag)) {
      throw new LstmNerError(
        `sentence ${sentence + 1}, token ${token + 1}: ${side} tag ${JSON.stringify(tag)} is not a tag (empty or has whitespace)`,
        this.fileOnly(),
      );
    }
  }
}

/** A chunk: tokens `start` to `end` (exclusive) of one type. */
export interface Chunk {
  start: number;
  end: number;
  type: string;
}

/** The chunks of one sentence's tags, by conlleval's start and end rules. */
export function chunks(tags: readonly string[]): Chunk[] {
  const out: Chunk[] = [];
  let prev = OUTSIDE;
  let open: { start: number; type: string } | null = null;
  for (let i = 0; i <= tags.length; i++) {
    const cur = i < tags.length ? parseTag(tags[i]!) : OUTSIDE;
    const starts = i < tags.length && startOfChunk(prev.prefix, cur.prefix, prev.type, cur.type);
    if (open && (starts || endOfChunk(prev.prefix, cur.prefix, prev.type, cur.type))) {
      out.push({ start: open.start, end: i, type: open.type });
      open = null;
    }
    if (starts) open = { start: i, type: cur.type };
    prev = cur;
  }
  return out;
}

function bump(counts: Map<string, number>, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

/** Perl's default `sort`: plain string order. */
function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Score whole data sets: `gold[i]` and `pred[i]` are the tags of sentence `i`.
 * @throws LstmNerError when the numbers of sentences or of tags in a sentence differ.
 */
export function score(gold: readonly (readonly string[])[], pred: readonly (readonly string[])[], where: ScoreWhere = {}): Score {
  if (gold.length !== pred.length) {
    throw new LstmNerError(
      `gold has ${gold.length} sentences but the prediction has ${pred.length}`,
      where.file === undefined ? {} : { file: where.file },
    );
  }
  const scorer = new Scorer(where);
  for (let i = 0; i < gold.length; i++) scorer.add(gold[i]!, pred[i]!);
  return scorer.result();
}
