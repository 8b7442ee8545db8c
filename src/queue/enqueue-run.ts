/**
 * One enqueue run as the queue's record holds it. A module of its own: the declarations of enqueue and collect
 * name it, and those of record.ts name ioredis, which a project without the job queue does not have.
 */
export interface EnqueueRun {
  run: number;
  /** The input's name as the enqueue gave it ("<stdin>" or a file). */
  input: string;
  /** When it started (ISO 8601). */
  started: string;
  /** Documents per job. */
  batch: number;
  /**
   * "sealed": every document added; "running": an enqueue holds the lease; "interrupted": neither (killed or
   * failed).
   */
  state: "sealed" | "running" | "interrupted";
  /** Documents and jobs claimed so far (all of them when sealed). */
  docs: number;
  jobs: number;
}
