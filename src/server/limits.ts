/**
 * The service's limits: their defaults, their validation (a bad value is an
 * error naming the field, never a silent 0 = "no limit"), and cheap bounds
 * on how many tokens a text can have, so a huge text is refused before
 * anything tokenises it.
 */
import { LstmNerError } from "../util/errors.js";

/** Limits of the tagging service; every field is optional in {@link ServerOptions}. */
export interface ServerLimits {
  /** Largest request body in bytes (default 1 MiB); larger ones get 413. */
  maxBodyBytes: number;
  /** Most texts in one `{"texts": [...]}` request (default 1000); more get 413. */
  maxTexts: number;
  /** Most tokens in one request, all texts together (default 20,000, about 100 KB of English); more get 413. */
  maxTokens: number;
  /** Most tokens (counting padding) in one network pass; bigger requests are cut into passes with other requests in between (default 2048). */
  batchTokens: number;
  /** Most requests being tagged or waiting for the tagger (default 32); more get 503 with `Retry-After`. */
  maxQueue: number;
  /** Most open connections (default 256); Node closes further ones at once. */
  maxConnections: number;
  /**
   * Most open connections from one client address (default 16), so one client
   * cannot take every connection; further ones get 429 and are closed.
   */
  maxConnectionsPerClient: number;
  /** Time to receive a whole request, in ms (default 30 s); slower clients get 408. */
  requestTimeoutMs: number;
  /** Time to receive the request headers, in ms (default: 10 s or the request timeout if shorter). */
  headersTimeoutMs: number;
  /** Time an idle keep-alive connection is kept, in ms (default 5 s). */
  keepAliveTimeoutMs: number;
}

/** Longest timeout accepted (one hour): beyond that a timeout is no protection. */
const MAX_TIMEOUT_MS = 3_600_000;
/** Largest body accepted (1 GiB); the body is held in memory. */
const MAX_BODY = 1 << 30;

/** The limits with defaults filled in; throws LstmNerError naming the first bad field. */
export function resolveLimits(o: Partial<ServerLimits>): ServerLimits {
  const requestTimeoutMs = timeout("requestTimeoutMs", o.requestTimeoutMs, 30_000);
  const headersTimeoutMs = timeout("headersTimeoutMs", o.headersTimeoutMs, Math.min(10_000, requestTimeoutMs));
  if (headersTimeoutMs > requestTimeoutMs) {
    throw new LstmNerError(`headersTimeoutMs (${headersTimeoutMs}) must not exceed requestTimeoutMs (${requestTimeoutMs})`);
  }
  return {
    maxBodyBytes: positiveInt("maxBodyBytes", o.maxBodyBytes, 1 << 20, MAX_BODY),
    maxTexts: positiveInt("maxTexts", o.maxTexts, 1000),
    maxTokens: positiveInt("maxTokens", o.maxTokens, 20_000),
    batchTokens: positiveInt("batchTokens", o.batchTokens, 2048),
    maxQueue: positiveInt("maxQueue", o.maxQueue, 32),
    maxConnections: positiveInt("maxConnections", o.maxConnections, 256),
    maxConnectionsPerClient: positiveInt("maxConnectionsPerClient", o.maxConnectionsPerClient, 16),
    requestTimeoutMs,
    headersTimeoutMs,
    keepAliveTimeoutMs: timeout("keepAliveTimeoutMs", o.keepAliveTimeoutMs, 5_000),
  };
}

function positiveInt(field: string, v: number | undefined, def: number, max = Number.MAX_SAFE_INTEGER): number {
  if (v === undefined) return def;
  if (!Number.isInteger(v) || v < 1 || v > max) throw new LstmNerError(`${field} must be an integer from 1 to ${max}, got ${v}`);
  return v;
}

function timeout(field: string, v: number | undefined, def: number): number {
  if (v === undefined) return def;
  // Node reads 0 as "no timeout": refuse it rather than silently switch the protection off.
  if (!Number.isFinite(v) || v < 1 || v > MAX_TIMEOUT_MS) {
    throw new LstmNerError(`${field} must be from 1 to ${MAX_TIMEOUT_MS} ms (0 would disable it), got ${v}`);
  }
  return v;
}

// Characters the tokenizer skips (its SPACE class): JavaScript's \s plus zero-width ones.
const ZERO_WIDTH = new Set([0x200b, 0x200c, 0x200d, 0x2060, 0xfeff]);
const WS = /\s/u;
const wsTable = new Uint8Array(0x3001);
for (let c = 0; c < wsTable.length; c++) wsTable[c] = WS.test(String.fromCharCode(c)) ? 1 : ZERO_WIDTH.has(c) ? 2 : 0;

/** 1: JavaScript whitespace (\s); 2: zero-width, skipped by the tokenizer but not whitespace; 0: other. */
function spaceKind(c: number): number {
  return c < wsTable.length ? wsTable[c]! : ZERO_WIDTH.has(c) ? 2 : 0;
}

/**
 * Bounds on the number of tokens `tokenize(text)` gives, in one pass over the
 * characters: every token starts at a character the tokenizer does not skip
 * and never contains whitespace, so there are at least as many tokens as
 * whitespace-separated runs holding such a character, and at most as many as
 * such characters. With `stopAbove`, the scan stops once `lower` exceeds it
 * (then `upper` is not a bound): enough to refuse a huge text cheaply.
 */
export function tokenBounds(text: string, stopAbove = Infinity): { lower: number; upper: number } {
  let lower = 0;
  let upper = 0;
  let inRun = false;
  for (let i = 0; i < text.length; i++) {
    const k = spaceKind(text.charCodeAt(i));
    if (k === 1) {
      inRun = false;
    } else if (k === 0) {
      upper++;
      if (!inRun && ++lower > stopAbove) break;
      inRun = true;
    }
  }
  return { lower, upper };
}

/** Whether a character of `text` is whitespace (where a text may be cut without cutting a token). */
export function isWhitespaceAt(text: string, i: number): boolean {
  return spaceKind(text.charCodeAt(i)) === 1;
}
