/** `lstm-ner worker | enqueue | collect`: thin shells over src/queue. */
import { createReadStream } from "node:fs";
import { enqueueDocs, firstQueuedId, idKey, startQueueWorker, collectResults } from "../queue/index.js";
import { safeUrl } from "../queue/redis.js";
import { decodedLines, jsonItem, openInput } from "../predict/input.js";
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
  say(event === "lost" ? `lost the connection to Redis (${detail}); retrying with backoff` : `connected to Redis again (${detail})`);
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
  // A close that gave up waiting for an unreachable Redis leaves BullMQ reconnecting: the process ends here
  // all the same.
  process.exit(0);
}

export async function runEnqueue(input: string, o: RedisCli & { batch: number; textField: string; resume?: boolean }): Promise<void> {
  const redis = common(o);
  const src = await openInput(input, { format: "jsonl", textField: o.textField });
  // A file is checked whole first, so a bad line or an id used twice cannot leave half a corpus on the queue.
  if (src.file !== "<stdin>") await checkWholeFile(src.file, o.textField, o.resume ? null : redis);
  let n = 0;
  const docs = (async function* (): AsyncGenerator<QueueDoc> {
    for await (const it of src.items()) {
      n++;
      if (it.kind === "text") yield { id: it.id ?? n, text: it.text };
    }
  })();
  try {
    const r = await enqueueDocs(docs, { ...redis, batchSize: o.batch, input: src.file, resume: o.resume === true, onNote: (s) => say(s) });
    say(`enqueued ${r.docs} documents in ${r.jobs} jobs on queue "${o.queue}"` +
      (r.resumedJobs !== undefined ? ` (${r.resumedJobs} of the jobs were there from the interrupted run; the enqueue is now complete)` : ""));
  } catch (e) {
    if (n > 0 && e instanceof LstmNerError && !/^--resume:/.test(e.message)) {
      // The run is left interrupted on the queue: say how to finish it.
      throw new LstmNerError(`${e.message}; the documents enqueued so far stay on the queue as an unfinished enqueue: ` +
        `finish it with \`lstm-ner enqueue --resume\` and the same input, or use another queue`, { cause: e });
    }
    throw e;
  }
}

/** Every line valid, every id once in the file and (unless resuming) not on the queue yet; errors name the line. */
async function checkWholeFile(file: string, textField: string, queue: ReturnType<typeof common> | null): Promise<void> {
  const firstLine = new Map<string, number>();
  const ids: QueueDoc["id"][] = [];
  const lines: number[] = [];
  let n = 0;
  for await (const [line, no] of decodedLines(createReadStream(file), /\.gz$/i.test(file), file)) {
    if (line.trim() === "") continue;
    const it = jsonItem(line, textField, file, no);
    const id = it.id ?? ++n;
    if (it.id !== undefined) n++;
    const key = idKey(id);
    const first = firstLine.get(key);
    if (first !== undefined) throw new LstmNerError(`id ${key} is used again (first on line ${first}); ids must be unique per queue`, { file, line: no });
    firstLine.set(key, no);
    ids.push(id);
    lines.push(no);
  }
  if (!queue) return;
  const taken = await firstQueuedId(queue, ids);
  if (taken) {
    throw new LstmNerError(`id ${idKey(ids[taken.index]!)} is already on queue "${queue.queue}" (enqueued from ${taken.run?.input ?? "an earlier run"}); ` +
      `ids must be unique per queue: give each document its own "id", or use another queue`, { file, line: lines[taken.index]! });
  }
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
  say(`collected ${result.docs} of ${result.enqueued} documents from ${result.jobs} jobs`);
  const first = result.interrupted[0];
  const parts = [
    ...(result.failed.length ? [`${result.failed.length} jobs failed (first: ${result.failed[0]!.reason})`] : []),
    ...(result.missing.length ? [`${result.missing.length} jobs not finished or missing (first: ${result.missing[0]})`] : []),
    ...(result.duplicates ? [`${result.duplicates} documents came back twice (written once)`] : []),
    ...(result.running.length ? [`${result.running.length} enqueue still running (from ${result.running[0]!.input}); its documents are not collected yet`] : []),
    ...(first ? [`the enqueue from ${first.input} (started ${first.started}) stopped after ${first.docs} documents in ${first.jobs} jobs and never finished, ` +
      `so its documents are left out: finish it with \`lstm-ner enqueue --resume --redis … --queue ${o.queue} ${first.input}\` (the same input), then collect again` +
      (result.interrupted.length > 1 ? ` (${result.interrupted.length - 1} more like it)` : "")] : []),
  ];
  if (parts.length === 0 && result.docs !== result.enqueued) parts.push(`${result.enqueued - result.docs} documents missing`);
  if (parts.length > 0) throw new LstmNerError(`incomplete: ${parts.join("; ")}`);
}
