/**
 * Fair batching of tagging work from concurrent requests: texts from all
 * waiting requests are tagged together, at most `maxBatch` per network pass,
 * and the event loop gets a turn between passes, so a large request is cut
 * into slices and small requests slip in between them.
 */

interface Job<T> {
  texts: readonly string[];
  out: T[];
  next: number;
  resolve(docs: T[]): void;
  reject(err: unknown): void;
}

export class Batcher<T> {
  private queue: Job<T>[] = [];
  private running = false;

  /**
   * @param tag tags texts, returning one result per text in order.
   * @param maxBatch most texts per call of `tag`.
   */
  constructor(private readonly tag: (texts: string[]) => T[], private readonly maxBatch = 32) {
    if (!Number.isInteger(maxBatch) || maxBatch < 1) throw new RangeError(`maxBatch must be a positive integer, got ${maxBatch}`);
  }

  /** Texts waiting to be tagged. */
  get pending(): number {
    return this.queue.reduce((n, j) => n + j.texts.length - j.next, 0);
  }

  /** Tag texts; resolves with their results in order. */
  submit(texts: readonly string[]): Promise<T[]> {
    if (texts.length === 0) return Promise.resolve([]);
    return new Promise<T[]>((resolve, reject) => {
      this.queue.push({ texts, out: [], next: 0, resolve, reject });
      if (!this.running) {
        this.running = true;
        setImmediate(() => this.drain());
      }
    });
  }

  private drain(): void {
    const taken: { job: Job<T>; count: number }[] = [];
    let room = this.maxBatch;
    for (const job of this.queue) {
      if (room === 0) break;
      const count = Math.min(room, job.texts.length - job.next);
      taken.push({ job, count });
      room -= count;
    }
    const texts = taken.flatMap(({ job, count }) => job.texts.slice(job.next, job.next + count));
    let results: T[] | undefined;
    let error: unknown;
    try {
      results = this.tag(texts);
    } catch (e) {
      error = e;
    }
    let k = 0;
    const served = new Set<Job<T>>();
    for (const { job, count } of taken) {
      served.add(job);
      if (results === undefined) {
        job.next = job.texts.length;
        job.reject(error);
        continue;
      }
      job.out.push(...results.slice(k, k + count));
      k += count;
      job.next += count;
      if (job.next === job.texts.length) job.resolve(job.out);
    }
    // Finished jobs leave; jobs served but not finished go to the back of the queue.
    const unserved = this.queue.filter((j) => !served.has(j));
    const again = this.queue.filter((j) => served.has(j) && j.next < j.texts.length);
    this.queue = [...unserved, ...again];
    if (this.queue.length > 0) setImmediate(() => this.drain());
    else this.running = false;
  }
}
