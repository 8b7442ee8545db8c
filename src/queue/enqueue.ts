import { createHash } from "node:crypto";
import type { JobsOptions } from "bullmq";
import { LstmNerError } from "../util/errors.js";
import { loadBullmq } from "./optional.js";
import type { RedisOptions } from "./options.js";
import { bullConnection, connectRedis } from "./redis.js";
import { type QueueDoc, type TagJobData } from "./jobs.js";
import { idOwners, LEASE_MS, leaseLost, readRuns, RunWriter } from "./record.js";
import type { EnqueueRun } from "./enqueue-run.js";

/** Options of {@link enqueueDocs}. */
export interface EnqueueOptions extends RedisOptions {
  /** Documents per job (default 64; a resumed run keeps its own). */
  batchSize?: number;
  /** Tries per job before it is marked failed (default 5; retried with exponential backoff from 1 s). */
  attempts?: number;
  /** The input's name, kept in the queue's record for messages (default "<stdin>"). */
  input?: string;
  /**
   * Finish the queue's interrupted enqueue (killed, or stopped by an error) instead of starting a new one:
   * `docs` must be the same documents, in the same order, as that run was given.
   */
  resume?: boolean;
  /** Called with what is about to happen (a run resumed, a wait for a lease). */
  onNote?: (note: string) => void;
}

/** What {@link enqueueDocs} added. */
export interface EnqueueResult {
  docs: number;
  jobs: number;
  /** The run's number on the queue. */
  run: number;
  /** With `resume`: jobs the interrupted run had already claimed. */
  resumedJobs?: number;
}

/** The key of a document id in the queue's record: 1 and "1" are different ids, as in the output. */
export const idKey = (id: QueueDoc["id"]): string => JSON.stringify(id);

/**
 * Document ids already on the queue, among `ids`: the index into `ids` of the first one held by another run,
 * with that run, or null. For a check of a whole file before anything is enqueued.
 */
export async function firstQueuedId(o: RedisOptions, ids: readonly QueueDoc["id"][], except?: number): Promise<{ index: number; run: EnqueueRun | undefined } | null> {
  const client = await connectRedis(o);
  try {
    const owners = await idOwners(client, o.queue, ids.map(idKey));
    const index = owners.findIndex((r) => r !== null && r !== except);
    if (index < 0) return null;
    return { index, run: (await readRuns(client, o.queue)).find((r) => r.run === owners[index]) };
  } finally {
    client.disconnect();
  }
}

/**
 * Push documents onto a queue in jobs of `batchSize`, as one run in the queue's
 * record (see record.ts): ids must be unique on the queue (a duplicate is
 * refused before its batch is added), and the run is sealed only once every
 * document is on the queue, so `collect` can tell a complete queue from one
 * whose enqueue was killed. Job ids are `batch-<n>` in enqueue order.
 * @throws LstmNerError when Redis cannot be reached, a batch size is bad, an id is already on the queue,
 *   or (resume) there is no interrupted run or the documents differ from its.
 */
export async function enqueueDocs(docs: Iterable<QueueDoc> | AsyncIterable<QueueDoc>, o: EnqueueOptions): Promise<EnqueueResult> {
  const wanted = o.batchSize ?? 64;
  if (!Number.isInteger(wanted) || wanted < 1) throw new LstmNerError(`batch size must be a positive integer, got ${wanted}`);
  const { Queue } = await loadBullmq();
  const client = await connectRedis(o);
  const queue = new Queue<TagJobData>(o.queue, { connection: bullConnection(o) });
  queue.on("error", () => undefined); // reconnection is retried; commands wait meanwhile
  const opts: JobsOptions = { attempts: o.attempts ?? 5, backoff: { type: "exponential", delay: 1000 }, removeOnComplete: false, removeOnFail: false };
  let writer: RunWriter | undefined;
  try {
    writer = o.resume ? await resumeRun(client, o) : await RunWriter.start(client, o.queue, o.input ?? "<stdin>", wanted);
    const w = writer;
    const size = w.batch;
    let pending: { name: string; data: TagJobData; opts: JobsOptions }[] = [];
    let batch: QueueDoc[] = [];
    const seen = new Set<string>();
    const result: EnqueueResult = { docs: 0, jobs: 0, run: w.run, ...(o.resume ? { resumedJobs: w.before } : {}) };
    const flushJobs = async (): Promise<void> => {
      if (pending.length > 0) await queue.addBulk(pending);
      pending = [];
    };
    const flushBatch = async (): Promise<void> => {
      if (batch.length === 0) return;
      const index = result.jobs + 1;
      const ids = batch.map((d) => idKey(d.id));
      const fingerprint = createHash("sha256").update(JSON.stringify(batch)).digest("hex").slice(0, 32);
      const c = await w.claim(index, fingerprint, ids);
      if (c.kind === "lease") throw leaseLost(o.queue);
      if (c.kind === "duplicate") {
        const r = (await readRuns(client, o.queue)).find((x) => x.run === c.run);
        throw new LstmNerError(`document id ${c.id} is already on queue "${o.queue}" (enqueued from ${r?.input ?? "an earlier run"}); ids must be unique per queue: give each document its own "id", or use another queue`);
      }
      if (c.kind === "differs") {
        throw new LstmNerError(`the documents differ from the interrupted enqueue's at job ${index} (documents ${(index - 1) * size + 1}–${(index - 1) * size + batch.length}); resume with the same input, or enqueue on another queue`);
      }
      // Added again after a resume: BullMQ keeps the job it already has under that id.
      pending.push({ name: "tag", data: { seq: Number(c.jobId.slice(6)), docs: batch }, opts: { ...opts, jobId: c.jobId } });
      result.jobs++;
      batch = [];
      if (pending.length >= 50) await flushJobs();
    };
    for await (const d of docs) {
      const key = idKey(d.id);
      if (seen.has(key)) throw new LstmNerError(`document id ${key} appears twice in the input (document ${result.docs + 1}); ids must be unique per queue`);
      seen.add(key);
      batch.push(d);
      result.docs++;
      if (batch.length >= size) await flushBatch();
    }
    await flushBatch();
    await flushJobs();
    await w.seal();
    writer = undefined;
    return result;
  } finally {
    // After an error the run is left interrupted at once (its lease released), for enqueue --resume.
    await writer?.release();
    await queue.close();
    client.disconnect();
  }
}

/**
 * The run `enqueue --resume` continues: the oldest interrupted one, after waiting out the lease of one just
 * killed.
 */
async function resumeRun(client: Parameters<typeof readRuns>[0], o: EnqueueOptions): Promise<RunWriter> {
  const deadline = Date.now() + LEASE_MS + 1000;
  let said = false;
  for (;;) {
    const runs = await readRuns(client, o.queue);
    const interrupted = runs.find((r) => r.state === "interrupted");
    if (interrupted) {
      o.onNote?.(`resuming the interrupted enqueue of ${interrupted.input} (started ${interrupted.started}, ${interrupted.docs} documents in ${interrupted.jobs} jobs so far)`);
      return RunWriter.resume(client, o.queue, interrupted);
    }
    if (!runs.some((r) => r.state === "running") || Date.now() > deadline) {
      throw new LstmNerError(`--resume: queue "${o.queue}" has no interrupted enqueue to finish${runs.some((r) => r.state === "running") ? " (one is still running)" : ""}`);
    }
    if (!said) o.onNote?.(`an enqueue on queue "${o.queue}" still holds its lease (running, or killed less than ${LEASE_MS / 1000} s ago); waiting for it`);
    said = true;
    await new Promise((r) => setTimeout(r, 500));
  }
}
