import { loadBullmq } from "./optional.js";
import type { RedisOptions } from "./options.js";
import { bullConnection, connectRedis, queueKey } from "./redis.js";
import { jobIdOf, type TagJobData, type TagJobResult } from "./jobs.js";
import type { DocId } from "../predict/items.js";

/** Options of {@link collectResults}. */
export interface CollectOptions extends RedisOptions {
  /** Wait until no job is waiting, active or delayed (default true). */
  wait?: boolean;
  /** Poll interval while waiting, ms (default 500). */
  pollMs?: number;
  /** Called at each poll while waiting. */
  onWait?: (counts: { done: number; pending: number; failed: number }) => void;
}

/** What {@link collectResults} gathered. */
export interface CollectResult {
  docs: number;
  jobs: number;
  /** Documents seen again (same id) and left out. */
  duplicates: number;
  /** Jobs that failed for good, with BullMQ's reason. */
  failed: { jobId: string; reason: string }[];
  /** Jobs not finished (when not waiting) or missing. */
  missing: string[];
}

/**
 * Gather the results of every job enqueued on the queue, in enqueue order,
 * each document once (by id), and hand them to `write` as JSON lines.
 * @throws LstmNerError when Redis cannot be reached.
 */
export async function collectResults(o: CollectOptions, write: (s: string) => Promise<void>): Promise<CollectResult> {
  const { Job, Queue } = await loadBullmq();
  const client = await connectRedis(o);
  const queue = new Queue<TagJobData, TagJobResult>(o.queue, { connection: bullConnection(o) });
  queue.on("error", () => undefined);
  const res: CollectResult = { docs: 0, jobs: 0, duplicates: 0, failed: [], missing: [] };
  try {
    if (o.wait ?? true) {
      for (;;) {
        const c = await queue.getJobCounts("waiting", "active", "delayed", "prioritized", "waiting-children", "completed", "failed");
        const pending = (c.waiting ?? 0) + (c.active ?? 0) + (c.delayed ?? 0) + (c.prioritized ?? 0) + (c["waiting-children"] ?? 0);
        o.onWait?.({ done: c.completed ?? 0, pending, failed: c.failed ?? 0 });
        if (pending === 0) break;
        await new Promise((r) => setTimeout(r, o.pollMs ?? 500));
      }
    }
    const last = Number(await client.get(queueKey(o.queue, "seq")) ?? 0);
    const seen = new Set<DocId>();
    for (let seq = 1; seq <= last; seq++) {
      const id = jobIdOf(seq);
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
      if (state !== "completed") {
        res.missing.push(id);
        continue;
      }
      const r = job.returnvalue;
      if (r == null || !Array.isArray(r.lines)) {
        res.missing.push(id);
        continue;
      }
      res.jobs++;
      let out = "";
      r.lines.forEach((line, i) => {
        const docId = r.ids[i]!;
        if (seen.has(docId)) {
          res.duplicates++;
          return;
        }
        seen.add(docId);
        res.docs++;
        out += line + "\n";
      });
      await write(out);
    }
  } finally {
    await queue.close();
    client.disconnect();
  }
  return res;
}
