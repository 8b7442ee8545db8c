/** `lstm-ner worker | enqueue | collect`: thin shells over src/queue. */
import { enqueueDocs, startQueueWorker, collectResults } from "../queue/index.js";
import { safeUrl } from "../queue/redis.js";
import { openInput } from "../predict/input.js";
import { openOutput } from "../predict/output.js";
import { maxWorkers } from "../predict/pool.js";
import { LstmNerError } from "../util/errors.js";
import type { QueueDoc } from "../queue/jobs.js";
import { oneLine } from "./one-line.js";

interface RedisCli {
  redis: string;
  queue: string;
  connectTimeout: number;
}

const say = (s: string): void => {
  process.stderr.write(`lstm-ner: ${oneLine(s)}\n`);
};
const onConnection = (event: "lost" | "back", detail: string): void =>
  say(event === "lost" ? `lost the connection to Redis (${detail}); retrying with backoff, no job is lost` : `connected to Redis again (${detail})`);
const common = (o: RedisCli) => {
  // A negative or zero timeout gave up before the first try; NaN and Infinity never did.
  if (!(o.connectTimeout > 0 && o.connectTimeout <= 3600)) {
    throw new LstmNerError(`--connect-timeout must be a number of seconds above 0 and at most 3600, got ${o.connectTimeout}`);
  }
  return { redis: o.redis, queue: o.queue, connectTimeoutMs: Math.round(o.connectTimeout * 1000), onConnection };
};

export async function runWorker(o: RedisCli & { model: string; concurrency: number; maxTokens: number; lockDuration: number; kernels: "auto" | "wasm" | "reference"; logJobs?: boolean }): Promise<void> {
  // Each job in hand has its own thread: refuse a count that would only exhaust memory, before connecting.
  if (o.concurrency > maxWorkers()) throw new LstmNerError(`--concurrency must be at most ${maxWorkers()} (4 per core), got ${o.concurrency}`);
  const w = await startQueueWorker({
    ...common(o), model: o.model, concurrency: o.concurrency, maxTokens: o.maxTokens, lockDurationMs: o.lockDuration, kernels: o.kernels,
    onFatal: (e) => {
      say(`error: ${e.message}; stopping (the jobs in hand go back to the queue when their lock expires)`);
      process.exit(1);
    },
    onJob: (event, id, detail) => {
      if (event === "failed") say(`${detail ?? `job ${id} failed`}`);
      else if (o.logJobs) process.stdout.write(`${event} ${id}\n`);
    },
  });
  say(`worker: queue "${o.queue}" on ${safeUrl(o.redis)}, model sha256 ${w.checksum.slice(0, 16)}…, concurrency ${o.concurrency}; SIGTERM or Ctrl-C stops after the jobs in hand`);
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (sig: string): void => {
      if (stopping) {
        say(`${sig} again: stopping now; unfinished jobs go back to the queue when their lock expires`);
        process.exit(130);
      }
      stopping = true;
      say(`${sig}: finishing the jobs in hand, then stopping`);
      w.close().then(resolve, (e: unknown) => {
        say(`error while stopping: ${(e as Error).message}`);
        resolve();
      });
    };
    process.once("SIGTERM", () => stop("SIGTERM"));
    process.once("SIGINT", () => stop("SIGINT"));
  });
  say("worker stopped");
}

export async function runEnqueue(input: string, o: RedisCli & { batch: number; textField: string }): Promise<void> {
  const src = await openInput(input, { format: "jsonl", textField: o.textField });
  // A file is checked whole first, so a bad line cannot leave half a corpus on the queue.
  if (src.file !== "<stdin>") for await (const _ of (await openInput(input, { format: "jsonl", textField: o.textField })).items());
  let n = 0;
  const docs = (async function* (): AsyncGenerator<QueueDoc> {
    for await (const it of src.items()) {
      n++;
      if (it.kind === "text") yield { id: it.id ?? n, text: it.text };
    }
  })();
  const r = await enqueueDocs(docs, { ...common(o), batchSize: o.batch });
  say(`enqueued ${r.docs} documents in ${r.jobs} jobs on queue "${o.queue}"`);
}

export async function runCollect(o: RedisCli & { out?: string; wait: boolean }): Promise<void> {
  const out = await openOutput(o.out);
  let lastNote = 0;
  let result;
  try {
    result = await collectResults({
      ...common(o), wait: o.wait,
      onWait: (c) => {
        if (c.pending > 0 && Date.now() - lastNote > 10_000) {
          lastNote = Date.now();
          say(`collect: ${c.done} jobs done, ${c.pending} to go${c.failed ? `, ${c.failed} failed` : ""}; waiting`);
        }
      },
    }, (s) => out.write(s));
    await out.commit();
  } catch (e) {
    await out.abort();
    throw e;
  }
  say(`collected ${result.docs} documents from ${result.jobs} jobs${result.duplicates ? ` (${result.duplicates} duplicates left out)` : ""}`);
  if (result.failed.length > 0 || result.missing.length > 0) {
    const parts = [
      ...(result.failed.length ? [`${result.failed.length} jobs failed (first: ${result.failed[0]!.reason})`] : []),
      ...(result.missing.length ? [`${result.missing.length} jobs not finished or missing (first: ${result.missing[0]})`] : []),
    ];
    throw new LstmNerError(`incomplete: ${parts.join("; ")}`);
  }
}
