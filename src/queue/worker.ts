import type { Job } from "bullmq";
import type { Redis } from "ioredis";
import { tokenize } from "../data/tokenize.js";
import { TaggerPool } from "../predict/pool.js";
import type { PredictItem } from "../predict/items.js";
import { LstmNerError } from "../util/errors.js";
import { fileSha256 } from "./checksum.js";
import { checkJobData, type TagJobData, type TagJobResult } from "./jobs.js";
import { loadBullmq } from "./optional.js";
import type { RedisOptions } from "./options.js";
import { bullConnection, connectRedis, queueKey } from "./redis.js";

/** Options of {@link startQueueWorker}. */
export interface QueueWorkerOptions extends RedisOptions {
  /** Model file. Its SHA-256 must match the one recorded on the queue (the first worker records it). */
  model: string;
  /** Jobs tagged at once, each on its own thread (default 1). */
  concurrency?: number;
  /** Documents with more tokens fail their job (default 100000). */
  maxTokens?: number;
  /**
   * How long a job stays locked to this worker without a renewal; a dead worker's jobs are retaken after
   * about this long (default 30000 ms).
   */
  lockDurationMs?: number;
  kernels?: "auto" | "wasm" | "reference";
  /**
   * Called when the worker cannot go on (a tagging thread died): it has
   * stopped taking jobs; the ones it held return to the queue when their lock
   * expires. The caller should exit so a supervisor can start a fresh one.
   */
  onFatal?: (e: Error) => void;
  /** Called as jobs start and end (for logs). */
  onJob?: (event: "start" | "done" | "failed", jobId: string, detail?: string) => void;
}

/** A running queue worker. */
export interface QueueWorker {
  /** The model file's SHA-256. */
  readonly checksum: string;
  /** Stop taking jobs, finish the ones in hand (their results are stored), and disconnect. */
  close(): Promise<void>;
}

/**
 * Take jobs from the queue and tag them. A job's result is its return value,
 * which BullMQ stores in the same atomic step that marks the job completed
 * (the acknowledgement): a worker that dies mid-job leaves it locked until the
 * lock expires, then another worker takes it again.
 * @throws LstmNerError when Redis is unreachable, or the model differs from the queue's.
 */
export async function startQueueWorker(o: QueueWorkerOptions): Promise<QueueWorker> {
  const concurrency = o.concurrency ?? 1;
  const maxTokens = o.maxTokens ?? 100_000;
  const lockDuration = o.lockDurationMs ?? 30_000;
  for (const [name, v, min] of [["concurrency", concurrency, 1], ["max tokens", maxTokens, 1], ["lock duration", lockDuration, 100]] as const) {
    if (!Number.isInteger(v) || v < min) throw new LstmNerError(`${name} must be an integer ≥ ${min}, got ${v}`);
  }
  const { Worker, UnrecoverableError } = await loadBullmq();
  const checksum = await fileSha256(o.model);
  const client = await connectRedis(o);
  let pool: TaggerPool | undefined;
  try {
    await pinModel(client, o.queue, checksum);
    pool = await TaggerPool.start(o.model, { workers: concurrency, format: "jsonl", kernels: o.kernels ?? "auto" });
  } catch (e) {
    client.disconnect();
    throw e;
  }
  const tagger = pool;
  let closing = false;
  let inHand = 0;
  const processor = async (job: Job<TagJobData, TagJobResult>): Promise<TagJobResult> => {
    inHand++;
    try {
      return await tagJob(job);
    } finally {
      inHand--;
    }
  };
  const tagJob = async (job: Job<TagJobData, TagJobResult>): Promise<TagJobResult> => {
    const id = job.id ?? "?";
    o.onJob?.("start", id);
    let data: TagJobData;
    try {
      data = checkJobData(job.data);
      data.docs.forEach((d, i) => {
        // Fewer characters than the limit cannot make more tokens.
        if (d.text.length <= maxTokens) return;
        const n = tokenize(d.text).length;
        if (n > maxTokens) throw new LstmNerError(`docs[${i}] (id ${JSON.stringify(d.id)}): ${n} tokens, over the limit of ${maxTokens}`);
      });
    } catch (e) {
      // Bad input does not get better by retrying.
      throw new UnrecoverableError(`job ${id}: ${(e as Error).message}`);
    }
    const items: PredictItem[] = data.docs.map((d) => ({ kind: "text", text: d.text, id: d.id }));
    let g;
    try {
      g = await tagger.tag(items);
    } catch (e) {
      // A dead thread fails every later job too: stop taking them rather than burn their retries.
      if (tagger.failed && !closing) {
        closing = true;
        void worker.close(true).finally(() => o.onFatal?.(tagger.failed!));
      }
      throw e;
    }
    const lines = g.out.split("\n");
    lines.pop(); // after the last "\n"
    o.onJob?.("done", id);
    return { ids: data.docs.map((d) => d.id), lines, tokens: g.tokens };
  };
  const worker = new Worker<TagJobData, TagJobResult>(o.queue, processor, {
    connection: bullConnection(o), concurrency, lockDuration, stalledInterval: Math.max(500, Math.round(lockDuration / 2)), maxStalledCount: 5,
  });
  worker.on("failed", (job, err) => o.onJob?.("failed", job?.id ?? "?", err.message));
  // Connection errors: BullMQ and ioredis reconnect with backoff; report them once per outage.
  let lost = false;
  worker.on("error", (e: NodeJS.ErrnoException) => {
    if (!lost) o.onConnection?.("lost", e.code ?? e.message);
    lost = true;
  });
  worker.on("ready", () => {
    if (lost) o.onConnection?.("back", o.redis);
    lost = false;
  });
  return {
    checksum,
    async close() {
      closing = true;
      // Nothing in hand and Redis unreachable: nothing to finish or store, and a graceful close would wait for Redis
      // forever (BullMQ's QUIT is queued until it is back), so close at once.
      if (lost && inHand === 0) {
        await worker.close(true);
      } else {
        // Graceful: no new jobs; the ones in hand finish and their results are stored. If Redis goes away meanwhile,
        // stop waiting once the jobs in hand are done: a result that could not be stored comes back with its job
        // when the lock expires.
        const graceful = worker.close().then(() => true, () => true);
        while (!(await Promise.race([graceful, sleep(250).then(() => false)]))) {
          if (lost && inHand === 0) break;
        }
      }
      await tagger.close();
      client.disconnect();
    },
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Record the model's checksum on the queue, or check it against the one
 * recorded: results on one queue must all come from the same model.
 */
async function pinModel(client: Redis, queue: string, checksum: string): Promise<void> {
  const key = queueKey(queue, "model-sha256");
  await client.set(key, checksum, "NX");
  const recorded = await client.get(key);
  if (recorded !== checksum) {
    throw new LstmNerError(`the model differs from the one this queue's jobs are tagged with (sha256 ${checksum.slice(0, 12)}… here, ${String(recorded).slice(0, 12)}… recorded on queue "${queue}"); use the same model file, or another queue`);
  }
}
