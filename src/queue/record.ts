/**
 * The queue's own record, beside BullMQ's keys: every enqueue run (its input, its
 * state, how many documents and jobs it added, in order), which run holds each
 * document id, and a lease that says an enqueue is still alive. `collect` reads
 * it to know what was enqueued, so it never calls fewer documents complete;
 * `enqueue --resume` reads it to finish a run that was killed.
 *
 * A run's batch i is claimed in one atomic step (ids registered, job number
 * taken, batch fingerprint listed, counts raised) before its job is added; a
 * killed run leaves claimed batches whose jobs may be missing, which the
 * resumed run adds again under the same job ids (BullMQ ignores a job id it
 * already has), after checking that each batch is the same as before.
 */
import type { Redis } from "ioredis";
import { randomUUID } from "node:crypto";
import { LstmNerError } from "../util/errors.js";
import { queueKey } from "./redis.js";
import type { EnqueueRun } from "./enqueue-run.js";

/** How long an enqueue's lease lasts without renewal: a killed run reads as interrupted after this long. */
export const LEASE_MS = 10_000;

export type { EnqueueRun } from "./enqueue-run.js";

const keys = (queue: string, run?: number) => ({
  runs: queueKey(queue, "runs"),
  list: queueKey(queue, "run-list"),
  ids: queueKey(queue, "ids"),
  seq: queueKey(queue, "seq"),
  run: queueKey(queue, `run:${run}`),
  jobs: queueKey(queue, `run:${run}:jobs`),
  lease: queueKey(queue, `run:${run}:lease`),
});

/** The runs of a queue in enqueue order ([] when nothing was ever enqueued on it). */
export async function readRuns(client: Redis, queue: string): Promise<EnqueueRun[]> {
  const ids = (await client.lrange(keys(queue).list, 0, -1)).map(Number);
  const runs: EnqueueRun[] = [];
  for (const run of ids) {
    const k = keys(queue, run);
    const [h, lease] = await Promise.all([client.hgetall(k.run), client.exists(k.lease)]);
    runs.push({
      run, input: h.input ?? "?", started: h.started ?? "?", batch: Number(h.batch ?? 0),
      state: h.state === "sealed" ? "sealed" : lease ? "running" : "interrupted",
      docs: Number(h.docs ?? 0), jobs: Number(h.jobs ?? 0),
    });
  }
  return runs;
}

/** The BullMQ job ids of a run's batches, in order. */
export async function runJobIds(client: Redis, queue: string, run: number): Promise<string[]> {
  return (await client.lrange(keys(queue, run).jobs, 0, -1)).map((e) => e.slice(0, e.indexOf(":")));
}

/** Which run holds each of `ids` (document ids as JSON), null where none; asked in slices. */
export async function idOwners(client: Redis, queue: string, ids: readonly string[]): Promise<(number | null)[]> {
  const out: (number | null)[] = [];
  for (let i = 0; i < ids.length; i += 1000) {
    const slice = ids.slice(i, i + 1000);
    for (const v of await client.hmget(keys(queue).ids, ...slice)) out.push(v === null ? null : Number(v));
  }
  return out;
}

// KEYS: ids, run's job list, seq, run hash, lease. ARGV: run, batch index (1-based), fingerprint, docs, token, ids...
const CLAIM = `
if redis.call('GET', KEYS[5]) ~= ARGV[5] then return {'lease'} end
local n = redis.call('LLEN', KEYS[2])
local idx = tonumber(ARGV[2])
if idx <= n then
  local entry = redis.call('LINDEX', KEYS[2], idx - 1)
  local sep = string.find(entry, ':', 1, true)
  if string.sub(entry, sep + 1) ~= ARGV[3] then return {'differs'} end
  return {'job', string.sub(entry, 1, sep - 1)}
end
if idx ~= n + 1 then return {'gap', tostring(n)} end
for i = 6, #ARGV do
  local owner = redis.call('HGET', KEYS[1], ARGV[i])
  if owner and owner ~= ARGV[1] then return {'duplicate', ARGV[i], owner} end
end
for i = 6, #ARGV do redis.call('HSET', KEYS[1], ARGV[i], ARGV[1]) end
local job = 'batch-' .. redis.call('INCR', KEYS[3])
redis.call('RPUSH', KEYS[2], job .. ':' .. ARGV[3])
redis.call('HINCRBY', KEYS[4], 'docs', tonumber(ARGV[4]))
redis.call('HINCRBY', KEYS[4], 'jobs', 1)
return {'job', job}
`;
// KEYS: lease. ARGV: token, ms. Renew only our own lease.
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;
// KEYS: lease, run hash. ARGV: token. Seal only while holding the lease.
const SEAL = `if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[2], 'state', 'sealed') redis.call('DEL', KEYS[1]) return 1`;
// KEYS: lease, run hash, run list. ARGV: token, run. A run that never claimed a batch leaves no trace.
const RELEASE = `if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
if tonumber(redis.call('HGET', KEYS[2], 'jobs') or '0') == 0 then redis.call('LREM', KEYS[3], 0, ARGV[2]) redis.call('DEL', KEYS[2]) end
return 1`;

/** What claiming a batch gave. */
export type Claim =
  | { kind: "job"; jobId: string }
  | { kind: "differs" }
  | { kind: "duplicate"; id: string; run: number }
  | { kind: "lease" };

/** An enqueue run this process holds the lease of. */
export class RunWriter {
  private timer: NodeJS.Timeout | undefined;
  private lost = false;

  private constructor(private readonly client: Redis, private readonly queue: string, readonly run: number, readonly batch: number,
    private readonly token: string, /** Jobs the run had claimed before this process took it (resume). */ readonly before = 0) {
    // Renewed on a timer, so a slow producer (stdin) does not lose it; a run that cannot renew fails at its
    // next claim.
    this.timer = setInterval(() => {
      void this.client.eval(RENEW, 1, keys(queue, run).lease, token, LEASE_MS).then((ok) => {
        if (ok === 0) this.lost = true;
      }, () => undefined);
    }, LEASE_MS / 4);
    this.timer.unref();
  }

  /** Start a new run. */
  static async start(client: Redis, queue: string, input: string, batch: number): Promise<RunWriter> {
    const run = await client.incr(keys(queue).runs);
    const k = keys(queue, run);
    const token = randomUUID();
    await client.multi()
      .hset(k.run, { input, started: new Date().toISOString(), batch, state: "open", docs: 0, jobs: 0 })
      .set(k.lease, token, "PX", LEASE_MS)
      .rpush(k.list, run)
      .exec();
    return new RunWriter(client, queue, run, batch, token);
  }

  /** Take over an interrupted run (its lease expired or released). */
  static async resume(client: Redis, queue: string, r: EnqueueRun): Promise<RunWriter> {
    const token = randomUUID();
    const ok = await client.set(keys(queue, r.run).lease, token, "PX", LEASE_MS, "NX");
    if (ok !== "OK") throw new LstmNerError(`the interrupted enqueue of ${r.input} on queue "${queue}" was just taken over by another enqueue --resume`);
    return new RunWriter(client, queue, r.run, r.batch, token, r.jobs);
  }

  /** Claim batch `index` (1-based) with its fingerprint and document ids (as JSON). */
  async claim(index: number, fingerprint: string, ids: readonly string[]): Promise<Claim> {
    const k = keys(this.queue, this.run);
    if (this.lost) return { kind: "lease" };
    const r = await this.client.eval(CLAIM, 5, k.ids, k.jobs, k.seq, k.run, k.lease, this.run, index, fingerprint, ids.length, this.token, ...ids) as string[];
    if (r[0] === "job") return { kind: "job", jobId: r[1]! };
    if (r[0] === "duplicate") return { kind: "duplicate", id: r[1]!, run: Number(r[2]) };
    if (r[0] === "differs") return { kind: "differs" };
    if (r[0] === "lease") return { kind: "lease" };
    throw new LstmNerError(`the record of queue "${this.queue}" is inconsistent (run ${this.run} has ${r[1]} batches, batch ${index} claimed)`);
  }

  /** Every document is added: the run is complete. */
  async seal(): Promise<void> {
    this.stop();
    const k = keys(this.queue, this.run);
    if (await this.client.eval(SEAL, 2, k.lease, k.run, this.token) !== 1) throw leaseLost(this.queue);
  }

  /**
   * Give the run up (after an error): it reads as interrupted at once, ready for --resume (or vanishes if it
   * added nothing).
   */
  async release(): Promise<void> {
    this.stop();
    const k = keys(this.queue, this.run);
    await this.client.eval(RELEASE, 3, k.lease, k.run, k.list, this.token, this.run).catch(() => undefined);
  }

  private stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

export const leaseLost = (queue: string): LstmNerError =>
  new LstmNerError(`lost this enqueue's lease on queue "${queue}" (Redis unreachable for ${LEASE_MS / 1000} s, or another enqueue --resume took the run over)`);
