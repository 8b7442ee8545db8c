/**
 * The tagger's work queue (run in the worker thread): requests are split
 * into small units of work — counting the tokens of a slice of a big text,
 * tokenising one text, one network pass of at most `batchTokens` tokens —
 * and the caller runs one unit at a time with a turn of the event loop in
 * between, so cancellations arrive, a big request never holds up small ones
 * for long, and a request over the token limit is refused after at most a
 * little more than `maxTokens` tokens' worth of work.
 */
import { tokenize, tokenizeSentences, type TextSpan } from "../data/tokenize.js";
import type { TagScheme } from "../data/types.js";
import { Doc } from "../pipeline/doc.js";
import { LstmNerError } from "../util/errors.js";
import { isWhitespaceAt, tokenBounds } from "./limits.js";

/** What the scheduler needs of a model. */
export interface TaggingModel {
  readonly scheme: string;
  /** `docs[i]`: sentence i's document (each text is one), for models with document context. */
  tagWithScores(sentences: readonly (readonly string[])[], batchSize: number, docs?: readonly number[]): { tags: string[][]; scores: number[][] };
}

/** How a request ended: a JSON body to send, or an error with its HTTP status. */
export type Outcome = { status: 200; body: string } | { status: number; error: string };

/** Counters, for tests, benches and `/health` details. */
export interface SchedulerStats {
  /** Requests waiting or being worked on. */
  queued: number;
  /** Network passes run. */
  passes: number;
  /** Tokens tagged (not counting padding). */
  tokensTagged: number;
  /** Requests finished with a result. */
  done: number;
  /** Requests refused for their size. */
  refused: number;
  /** Requests dropped because their client went away. */
  cancelled: number;
}

/** Options of {@link TagScheduler}. */
export interface SchedulerOptions {
  maxTokens: number;
  batchTokens: number;
  /** Longer sentences are tagged in pieces of this many tokens (default 256, capped at `batchTokens`), as `nlp()` does. */
  maxSentenceTokens?: number;
  /** Characters tokenised per unit while counting the tokens of a text that may be over the limit (default 4096). */
  countChars?: number;
}

interface Piece {
  text: number;
  tokens: TextSpan[];
}

interface Job {
  id: number;
  texts: readonly string[];
  /** `{"texts": [...]}` (answer `{"docs": [...]}`) rather than `{"text": ...}` (answer the Doc). */
  many: boolean;
  /** Texts tokenised so far, with their sentence pieces. */
  sents: TextSpan[][][];
  tokens: number;
  /** Counting state of text `sents.length` when its size is in doubt. */
  count: { pos: number; tokens: number; cuts: number } | null;
  pieces: Piece[] | null;
  next: number;
  tags: string[][];
  scores: number[][];
}

/** Tokens a cut through a non-space run may add or remove when counting slice by slice. */
const CUT_SLACK = 8;

/** The queue of tagging requests; see the module comment. */
export class TagScheduler {
  private queue: Job[] = [];
  private readonly maxLen: number;
  private readonly countChars: number;
  private readonly counters = { passes: 0, tokensTagged: 0, done: 0, refused: 0, cancelled: 0 };

  /** `finish` is called once per request (not for cancelled ones). */
  constructor(private readonly model: TaggingModel, private readonly o: SchedulerOptions, private readonly finish: (id: number, outcome: Outcome) => void) {
    this.maxLen = Math.min(o.maxSentenceTokens ?? 256, o.batchTokens);
    this.countChars = o.countChars ?? 4096;
  }

  /** Queue a request. */
  submit(id: number, texts: readonly string[], many: boolean): void {
    this.queue.push({ id, texts, many, sents: [], tokens: 0, count: null, pieces: null, next: 0, tags: [], scores: [] });
  }

  /** Drop a request (its client went away); no `finish` call follows. */
  cancel(id: number): void {
    const before = this.queue.length;
    this.queue = this.queue.filter((j) => j.id !== id);
    if (this.queue.length < before) this.counters.cancelled++;
  }

  get stats(): SchedulerStats {
    return { queued: this.queue.length, ...this.counters };
  }

  /** Whether there is work. */
  get busy(): boolean {
    return this.queue.length > 0;
  }

  /** Run one unit of work; returns whether more is left. */
  step(): boolean {
    const job = this.queue[0];
    if (job === undefined) return false;
    try {
      if (job.pieces === null) {
        this.prepare(job);
        this.requeue([job]);
      } else {
        this.pass();
      }
    } catch (e) {
      this.end(job, { status: e instanceof LstmNerError ? 400 : 500, error: e instanceof LstmNerError ? e.message : "internal error while tagging" });
    }
    return this.queue.length > 0;
  }

  /** One unit of tokenising: a whole text when it cannot be over the limit, else a slice of it to count. */
  private prepare(job: Job): void {
    const max = this.o.maxTokens;
    const text = job.texts[job.sents.length]!;
    if (job.count === null && job.tokens + tokenBounds(text).upper > max) job.count = { pos: 0, tokens: 0, cuts: 0 };
    const c = job.count;
    if (c !== null && c.pos < text.length) {
      const end = cutPoint(text, c.pos, this.countChars);
      c.tokens += tokenize(text.slice(c.pos, end)).length;
      if (end < text.length) c.cuts++;
      c.pos = end;
      if (job.tokens + c.tokens > max + CUT_SLACK * c.cuts) this.refuse(job);
      return;
    }
    // Known to be near or under the limit: tokenise exactly, as nlp() does.
    const pieces = tokenizeSentences(text).flatMap((s) => split(s, this.maxLen));
    job.tokens += pieces.reduce((n, p) => n + p.length, 0);
    job.count = null;
    if (job.tokens > max) return this.refuse(job);
    job.sents.push(pieces);
    if (job.sents.length === job.texts.length) {
      job.pieces = job.sents.flatMap((ps, text) => ps.map((tokens) => ({ text, tokens })));
      job.tags = new Array<string[]>(job.pieces.length);
      job.scores = new Array<number[]>(job.pieces.length);
      if (job.pieces.length === 0) this.complete(job);
    }
  }

  private refuse(job: Job): void {
    this.counters.refused++;
    this.end(job, { status: 413, error: `too many tokens: more than ${this.o.maxTokens} (the limit per request is maxTokens=${this.o.maxTokens})` });
  }

  /** One network pass over sentence pieces of the ready jobs, in queue order, within `batchTokens` (padded). */
  private pass(): void {
    const taken: { job: Job; from: number; to: number }[] = [];
    let count = 0;
    let longest = 0;
    let full = false;
    for (const job of this.queue) {
      if (job.pieces === null) continue;
      const from = job.next;
      while (job.next < job.pieces.length) {
        const l = Math.max(longest, job.pieces[job.next]!.tokens.length);
        if (count > 0 && (count + 1) * l > this.o.batchTokens) {
          full = true;
          break;
        }
        count++;
        longest = l;
        job.next++;
      }
      if (job.next > from) taken.push({ job, from, to: job.next });
      if (full) break;
    }
    const sentences = taken.flatMap(({ job, from, to }) => job.pieces!.slice(from, to).map((p) => p.tokens.map((t) => t.text)));
    // Each text is a document (context reaches as far as this pass's pieces of it).
    const docs: number[] = [];
    for (const { job, from, to } of taken) {
      for (let i = from; i < to; i++) {
        const prev = docs.length === 0 ? -1 : docs[docs.length - 1]!;
        docs.push(i > from && job.pieces![i - 1]!.text === job.pieces![i]!.text ? prev : prev + 1);
      }
    }
    let out: { tags: string[][]; scores: number[][] };
    try {
      out = this.model.tagWithScores(sentences, Math.max(1, sentences.length), docs);
    } catch {
      for (const { job } of taken) this.end(job, { status: 500, error: "internal error while tagging" });
      return;
    }
    this.counters.passes++;
    let k = 0;
    const served: Job[] = [];
    for (const { job, from, to } of taken) {
      for (let i = from; i < to; i++, k++) {
        job.tags[i] = out.tags[k]!;
        job.scores[i] = out.scores[k]!;
        this.counters.tokensTagged += out.tags[k]!.length;
      }
      if (job.next === job.pieces!.length) this.complete(job);
      else served.push(job);
    }
    this.requeue(served);
  }

  private complete(job: Job): void {
    const scheme = this.model.scheme as TagScheme;
    let k = 0;
    let body: string;
    try {
      const docs = job.texts.map((text, i) => {
        const n = job.sents[i]!.length;
        const doc = Doc.fromTagged(text, job.sents[i]!, job.tags.slice(k, k + n), scheme, job.scores.slice(k, k + n));
        k += n;
        return doc;
      });
      body = JSON.stringify(job.many ? { docs } : docs[0]);
    } catch {
      return this.end(job, { status: 500, error: "internal error while tagging" });
    }
    this.counters.done++;
    this.end(job, { status: 200, body });
  }

  private end(job: Job, outcome: Outcome): void {
    const i = this.queue.indexOf(job);
    if (i < 0) return;
    this.queue.splice(i, 1);
    this.finish(job.id, outcome);
  }

  /** Move jobs still queued to the back, so the others get the next turn. */
  private requeue(jobs: Job[]): void {
    const moving = new Set(jobs.filter((j) => this.queue.includes(j)));
    if (moving.size === 0) return;
    this.queue = [...this.queue.filter((j) => !moving.has(j)), ...moving];
  }
}

/** Split a sentence into pieces of at most `max` tokens (as `nlp()` does). */
function split(sentence: TextSpan[], max: number): TextSpan[][] {
  if (sentence.length <= max) return [sentence];
  const out: TextSpan[][] = [];
  for (let i = 0; i < sentence.length; i += max) out.push(sentence.slice(i, i + max));
  return out;
}

/** Where to end a slice of about `size` characters from `pos`: after whitespace if there is some in its second half. */
function cutPoint(text: string, pos: number, size: number): number {
  let end = pos + size;
  if (end >= text.length) return text.length;
  for (let i = end; i > pos + size / 2; i--) if (isWhitespaceAt(text, i - 1)) return i;
  // No whitespace: cut anyway, but not inside a surrogate pair.
  const c = text.charCodeAt(end - 1);
  if (c >= 0xd800 && c <= 0xdbff) end++;
  return end;
}
