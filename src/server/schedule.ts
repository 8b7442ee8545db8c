/**
 * The tagger's work queue (run in the worker thread): requests are split
 * into small units of work — tokenising about `countChars` characters of its
 * texts (or counting the tokens of a slice of a big one), one network pass of
 * at most `batchTokens` tokens — and the caller runs one unit at a time with
 * a turn of the event loop in between, so cancellations arrive, and a request
 * over the token limit is refused after at most a little more than
 * `maxTokens` tokens' worth of work.
 *
 * Turns go round the clients, and round each client's requests: a unit for
 * the first request of the client whose turn it is, then that client and that
 * request go to the back. So a small request waits for at most one unit per
 * other client (then per other request of its own client), never behind a
 * stream of large ones, and a client with many requests in flight gets no
 * more of the tagger than one with a single request.
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
  /** Who sent it (the HTTP side's remote address): turns go round clients. */
  client: string;
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
  /** Requests in turn order within each client (a served one goes to the back). */
  private queue: Job[] = [];
  /** Clients with requests, in turn order. */
  private turns: string[] = [];
  private readonly maxLen: number;
  private readonly countChars: number;
  private readonly counters = { passes: 0, tokensTagged: 0, done: 0, refused: 0, cancelled: 0 };

  /** `finish` is called once per request (not for cancelled ones). */
  constructor(private readonly model: TaggingModel, private readonly o: SchedulerOptions, private readonly finish: (id: number, outcome: Outcome) => void) {
    this.maxLen = Math.min(o.maxSentenceTokens ?? 256, o.batchTokens);
    this.countChars = o.countChars ?? 4096;
  }

  /** Queue a request from `client` (any key naming who sent it; one key for all is plain round-robin over requests). */
  submit(id: number, texts: readonly string[], many: boolean, client = ""): void {
    this.queue.push({ id, client, texts, many, sents: [], tokens: 0, count: null, pieces: null, next: 0, tags: [], scores: [] });
    if (!this.turns.includes(client)) this.turns.push(client);
  }

  /** Drop a request (its client went away); no `finish` call follows. */
  cancel(id: number): void {
    const job = this.queue.find((j) => j.id === id);
    if (job === undefined) return;
    this.remove(job);
    this.counters.cancelled++;
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
    const order = this.fairOrder();
    const job = order[0];
    if (job === undefined) return false;
    try {
      if (job.pieces === null) {
        this.prepare(job);
        this.requeue([job]);
      } else {
        this.pass(order);
      }
    } catch (e) {
      this.end(job, { status: e instanceof LstmNerError ? 400 : 500, error: e instanceof LstmNerError ? e.message : "internal error while tagging" });
    }
    // The next turn is the next client's (requests packed into the pass do not use up their clients' turns).
    if (this.turns.includes(job.client)) this.turns = [...this.turns.filter((c) => c !== job.client), job.client];
    return this.queue.length > 0;
  }

  /**
   * The requests in the order they get work: the first request of each client
   * in turn order, then the second of each, and so on.
   */
  private fairOrder(): Job[] {
    const byClient = new Map<string, Job[]>(this.turns.map((c) => [c, []]));
    for (const j of this.queue) byClient.get(j.client)!.push(j);
    const lists = [...byClient.values()];
    const out: Job[] = [];
    for (let k = 0; out.length < this.queue.length; k++) for (const l of lists) if (k < l.length) out.push(l[k]!);
    return out;
  }

  /**
   * One unit of tokenising: texts (whole, or slices of one whose size is in
   * doubt) until about `countChars` characters are done, so a request of many
   * short texts is ready in a few turns rather than one turn per text.
   */
  private prepare(job: Job): void {
    let budget = this.countChars;
    while (budget > 0 && job.pieces === null && this.queue.includes(job)) budget -= this.prepareSome(job);
  }

  /** Tokenise one text, or count one slice of it; returns the characters done. */
  private prepareSome(job: Job): number {
    const max = this.o.maxTokens;
    const text = job.texts[job.sents.length]!;
    if (job.count === null && job.tokens + tokenBounds(text).upper > max) job.count = { pos: 0, tokens: 0, cuts: 0 };
    const c = job.count;
    if (c !== null && c.pos < text.length) {
      const end = cutPoint(text, c.pos, this.countChars);
      c.tokens += tokenize(text.slice(c.pos, end)).length;
      if (end < text.length) c.cuts++;
      const done = end - c.pos;
      c.pos = end;
      if (job.tokens + c.tokens > max + CUT_SLACK * c.cuts) this.refuse(job);
      return done;
    }
    // Known to be near or under the limit: tokenise exactly, as nlp() does.
    const pieces = tokenizeSentences(text).flatMap((s) => split(s, this.maxLen));
    job.tokens += pieces.reduce((n, p) => n + p.length, 0);
    job.count = null;
    if (job.tokens > max) {
      this.refuse(job);
      return text.length;
    }
    job.sents.push(pieces);
    if (job.sents.length === job.texts.length) {
      job.pieces = job.sents.flatMap((ps, text) => ps.map((tokens) => ({ text, tokens })));
      job.tags = new Array<string[]>(job.pieces.length);
      job.scores = new Array<number[]>(job.pieces.length);
      if (job.pieces.length === 0) this.complete(job);
    }
    return Math.max(1, text.length);
  }

  private refuse(job: Job): void {
    this.counters.refused++;
    this.end(job, { status: 413, error: `too many tokens: more than ${this.o.maxTokens} (the limit per request is maxTokens=${this.o.maxTokens})` });
  }

  /** One network pass over sentence pieces of the ready jobs, in turn order, within `batchTokens` (padded). */
  private pass(order: readonly Job[]): void {
    const taken: { job: Job; from: number; to: number }[] = [];
    let count = 0;
    let longest = 0;
    let full = false;
    for (const job of order) {
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
    if (this.remove(job)) this.finish(job.id, outcome);
  }

  /** Take a job off the queue (and its client off the turns when it was the client's last); whether it was there. */
  private remove(job: Job): boolean {
    const i = this.queue.indexOf(job);
    if (i < 0) return false;
    this.queue.splice(i, 1);
    if (!this.queue.some((j) => j.client === job.client)) this.turns = this.turns.filter((c) => c !== job.client);
    return true;
  }

  /** Move jobs still queued to the back of their client's requests, so its others get its next turn. */
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
