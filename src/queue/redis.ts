/**
 * Connecting to Redis for the job queue: one clear error when it cannot be
 * reached at start, then reconnection with capped exponential backoff (BullMQ
 * and ioredis resend commands once it is back, so no job is lost).
 */
import type { Redis } from "ioredis";
import type { ConnectionOptions } from "bullmq";
import { LstmNerError } from "../util/errors.js";
import { loadIoredis } from "./optional.js";
import type { RedisOptions } from "./options.js";

export type { RedisOptions } from "./options.js";

/** Delay before reconnect attempt `n` (1-based): 100 ms doubling, at most 5 s. */
export function backoffMs(n: number): number {
  return Math.min(5000, 100 * 2 ** Math.min(10, n - 1));
}

/** The key prefix BullMQ uses for a queue: the lstm-ner keys live beside its own. */
export const queueKey = (queue: string, key: string): string => `bull:${queue}:lstm-ner:${key}`;

/** Checks a Redis URL and queue name; returns the URL. */
export function checkRedisOptions(o: RedisOptions): void {
  let u: URL;
  try {
    u = new URL(o.redis);
  } catch {
    throw new LstmNerError(`--redis must be a URL such as redis://127.0.0.1:6379, got ${JSON.stringify(o.redis)}`);
  }
  if (u.protocol !== "redis:" && u.protocol !== "rediss:") throw new LstmNerError(`--redis must be a redis:// or rediss:// URL, got ${JSON.stringify(o.redis)}`);
  if (!/^[\w.-]{1,200}$/.test(o.queue)) throw new LstmNerError(`--queue must be letters, digits, '.', '_' or '-', got ${JSON.stringify(o.queue)}`);
}

/** Redis URL without its password, for messages. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return url;
  }
}

/**
 * Connect to Redis, retrying with backoff up to `connectTimeoutMs` (a refused
 * connection too: Redis may be starting); the returned client keeps
 * reconnecting forever after that (commands wait).
 * @throws LstmNerError naming the URL when Redis cannot be reached in time.
 */
export async function connectRedis(o: RedisOptions): Promise<Redis> {
  checkRedisOptions(o);
  const { Redis } = await loadIoredis();
  const deadline = Date.now() + (o.connectTimeoutMs ?? 10_000);
  let lastError = "no answer";
  for (let attempt = 1; ; attempt++) {
    const client = attemptConnection(Redis, o, (e) => {
      lastError = e;
    });
    try {
      await client.connect();
      await client.ping();
      return client;
    } catch (e) {
      client.disconnect();
      const wait = Math.min(backoffMs(attempt), deadline - Date.now());
      if (wait <= 0) {
        throw new LstmNerError(`cannot reach Redis at ${safeUrl(o.redis)} (${lastError !== "no answer" ? lastError : (e as Error).message})`, { cause: e });
      }
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}

/** One try at the first connection: no reconnection until it has succeeded, then forever (with {@link backoffMs}). */
function attemptConnection(RedisClient: typeof Redis, o: RedisOptions, onError: (code: string) => void): Redis {
  let connected = false;
  let lost = false;
  const client = new RedisClient(o.redis, {
    lazyConnect: true,
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    connectTimeout: Math.max(100, Math.min(2000, o.connectTimeoutMs ?? 10_000)),
    retryStrategy: (n) => (connected ? backoffMs(n) : null),
  });
  const lose = (detail: string): void => {
    if (connected && !lost) {
      lost = true;
      o.onConnection?.("lost", detail);
    }
  };
  client.on("error", (e: NodeJS.ErrnoException) => {
    onError(e.code ?? e.message);
    lose(e.code ?? e.message);
  });
  // A server killed with its socket closed cleanly gives no error, only a reconnection (never after quit()).
  client.on("reconnecting", () => lose("connection closed"));
  client.on("ready", () => {
    if (lost) o.onConnection?.("back", safeUrl(o.redis));
    lost = false;
    connected = true;
  });
  return client;
}

/** BullMQ connection options for the same URL (its own connections, reconnecting with the same backoff). */
export function bullConnection(o: RedisOptions): ConnectionOptions {
  return { url: o.redis, maxRetriesPerRequest: null, retryStrategy: (n: number) => backoffMs(n) };
}
