import type { Redis } from "ioredis";
import { LstmNerError } from "../util/errors.js";
import { loadBullmq } from "./optional.js";
import type { RedisOptions } from "./options.js";
import { bullConnection, connectRedis, safeUrl } from "./redis.js";
import type { TagJobData, TagJobResult } from "./jobs.js";
import { readRuns, runJobIds } from "./record.js";
import type { EnqueueRun } from "./enqueue-run.js";
import type { DocId } from "../predict/items.js";

/** Options of {@link collectResults}. */
export interface CollectOptions extends RedisOptions {
  /** Wait until every job is done and no enqueue is running (default true). */
  wait?: boolean;
  /** Poll interval while waiting, ms (default 500). */
  pollMs?: number;
  /** Called at each poll while waiting. */
  onWait?: (counts: { done: number; pending: number; failed: number }) => void;
}

/** What {@link collectResults} gathered. */
export interface CollectResult {
  /** Documents written. */
  docs: number;
  jobs: number;
  /** Documents the complete (sealed) enqueues put on the queue: `docs` must reach it. */
  enqueued: number;
  /** Jobs that failed for good, with BullMQ's reason. */
  failed: { jobId: string; reason: string }[];
  /** Jobs not finished (when not waiting) or missing. */
  missing: string[];
  /** Enqueues that never finished (killed or stopped by an error): their documents are not collected. */
  interrupted: EnqueueRun[];
  /** Enqueues still running (only when not waiting). */
  running: EnqueueRun[];
  /** Documents that came back twice (never written twice; a sign of a damaged queue). */
  duplicates: number;
}

/**
 * Gather the results of every complete enqueue on the queue, in enqueue order,
 * each document once, and hand them to `write` as JSON lines. What was enqueued
 * comes from the queue's own record (record.ts), so a queue that lost its data
 * (Redis restarted without persistence) or was never filled is an error, not an
 * empty success. While Redis is down, commands wait for it (reconnecting with backoff).
 * @throws LstmNerError when Redis cannot be reached, the queue has no record, or the record vanishes meanwhile.
 */
export async function collectResults(o: CollectOptions, write: (s: string) => Promise<void>): Promise<CollectResult> {
  const { Job, Queue } = await loadBullmq();
  const client = await connectRedis(o);
  const queue = new Queue<TagJobData, TagJobResult>(o.queue, { connection: bullConnection(o) });
  queue.on("error", () => undefined);
  const res: CollectResult = { docs: 0, jobs: 0, enqueued: 0, failed: [], missing: [], interrupted: [], running: [], duplicates: 0 };
  try {
    let runs = await readRuns(client, o.queue);
    if (runs.length === 0) {
      throw new LstmNerError(`queue "${o.queue}" on ${safeUrl(o.redis)} has nothing enqueued (is --queue mistyped, or was the queue emptied?)`);
    }
    const known = runs;
    if (o.wait ?? true) {
      for (;;) {
        runs = await recheck(client, o.queue, known);
        const c = await queue.getJobCounts("waiting", "active", "delayed", "prioritized", "waiting-children", "completed", "failed");
        const pending = (c.waiting ?? 0) + (c.active ?? 0) + (c.delayed ?? 0) + (c.prioritized ?? 0) + (c["waiting-children"] ?? 0);
        o.onWait?.({ done: c.completed ?? 0, pending, failed: c.failed ?? 0 });
        if (pending === 0 && !runs.some((r) => r.state === "running")) break;
        await new Promise((r) => setTimeout(r, o.pollMs ?? 500));
      }
    }
    runs = await recheck(client, o.queue, known);
    const seen = new Set<string>();
    for (const run of runs) {
      if (run.state !== "sealed") {
        (run.state === "running" ? res.running : res.interrupted).push(run);
        continue;
      }
      res.enqueued += run.docs;
      for (const id of await runJobIds(client, o.queue, run.run)) {
        const job = await Job.fromId<TagJobData, TagJobResult>(queue, id);
        if (!job) {
          res.missing.push(id);
          continue;
        }
        const state = await job.getState();
        if (state === "failed") {
          res.failed.push({ jobId: id, reason: job.failedReason });
          continue;
        }
        const r = job.returnvalue;
        if (state !== "completed" || r == null || !Array.isArray(r.lines) || !Array.isArray(r.ids) || r.lines.length !== r.ids.length) {
          res.missing.push(id);
          continue;
        }
        res.jobs++;
        let out = "";
        r.lines.forEach((line, i) => {
          const key = JSON.stringify(r.ids[i] as DocId);
          if (seen.has(key)) {
            res.duplicates++;
            return;
          }
          seen.add(key);
          res.docs++;
          out += line + "\n";
        });
        await write(out);
      }
    }
    // The record changed under us while reading (the queue was emptied, or Redis lost its data).
    await recheck(client, o.queue, known);
  } finally {
    await queue.close();
    client.disconnect();
  }
  return res;
}

/**
 * The runs again; an error if the record lost runs it had (Redis restarted without persistence, or the queue
 * was deleted).
 */
async function recheck(client: Redis, queue: string, known: readonly EnqueueRun[]): Promise<EnqueueRun[]> {
  const runs = await readRuns(client, queue);
  const lost = known.filter((k) => !runs.some((r) => r.run === k.run));
  if (lost.length > 0) {
    const docs = known.reduce((n, r) => n + r.docs, 0);
    throw new LstmNerError(`queue "${queue}" lost its record while collecting (${docs} documents had been enqueued): Redis restarted ` +
      `without its data (no persistence), or the queue was deleted; enqueue the documents again`);
  }
  return runs;
}
