import type { JobsOptions } from "bullmq";
import { LstmNerError } from "../util/errors.js";
import { loadBullmq } from "./optional.js";
import type { RedisOptions } from "./options.js";
import { bullConnection, connectRedis, queueKey } from "./redis.js";
import { jobIdOf, type QueueDoc, type TagJobData } from "./jobs.js";

/** Options of {@link enqueueDocs}. */
export interface EnqueueOptions extends RedisOptions {
  /** Documents per job (default 64). */
  batchSize?: number;
  /** Tries per job before it is marked failed (default 5; retried with exponential backoff from 1 s). */
  attempts?: number;
}

/** What {@link enqueueDocs} added. */
export interface EnqueueResult {
  docs: number;
  jobs: number;
}

/**
 * Push documents onto a queue in jobs of `batchSize`. Each job gets the next
 * sequence number of the queue (job id `batch-<seq>`), which
 * {@link collectResults} follows to give results in enqueue order.
 * @throws LstmNerError when Redis cannot be reached or a batch size is bad.
 */
export async function enqueueDocs(docs: Iterable<QueueDoc> | AsyncIterable<QueueDoc>, o: EnqueueOptions): Promise<EnqueueResult> {
  const size = o.batchSize ?? 64;
  if (!Number.isInteger(size) || size < 1) throw new LstmNerError(`batch size must be a positive integer, got ${size}`);
  const { Queue } = await loadBullmq();
  const client = await connectRedis(o);
  const queue = new Queue<TagJobData>(o.queue, { connection: bullConnection(o) });
  queue.on("error", () => undefined); // reconnection is retried; commands wait meanwhile
  const opts: JobsOptions = { attempts: o.attempts ?? 5, backoff: { type: "exponential", delay: 1000 }, removeOnComplete: false, removeOnFail: false };
  const seqKey = queueKey(o.queue, "seq");
  let pending: { name: string; data: TagJobData; opts: JobsOptions }[] = [];
  let batch: QueueDoc[] = [];
  const result: EnqueueResult = { docs: 0, jobs: 0 };
  const flushBatch = async (): Promise<void> => {
    if (batch.length === 0) return;
    const seq = await client.incr(seqKey);
    pending.push({ name: "tag", data: { seq, docs: batch }, opts: { ...opts, jobId: jobIdOf(seq) } });
    result.jobs++;
    batch = [];
    if (pending.length >= 50) await flushJobs();
  };
  const flushJobs = async (): Promise<void> => {
    if (pending.length > 0) await queue.addBulk(pending);
    pending = [];
  };
  try {
    for await (const d of docs) {
      batch.push(d);
      result.docs++;
      if (batch.length >= size) await flushBatch();
    }
    await flushBatch();
    await flushJobs();
  } finally {
    await queue.close();
    client.disconnect();
  }
  return result;
}
