/**
 * Tagging across machines with a BullMQ job queue on Redis:
 * {@link enqueueDocs} pushes documents, workers ({@link startQueueWorker}) on
 * any machine tag them, {@link collectResults} gathers the results in order.
 */
export { enqueueDocs, firstQueuedId, idKey, type EnqueueOptions, type EnqueueResult } from "./enqueue.js";
export type { EnqueueRun } from "./enqueue-run.js";
export { startQueueWorker, type QueueWorker, type QueueWorkerOptions } from "./worker.js";
export { collectResults, type CollectOptions, type CollectResult } from "./collect.js";
export { fileSha256 } from "./checksum.js";
export { checkJobData, jobIdOf, type QueueDoc, type TagJobData, type TagJobResult } from "./jobs.js";
export type { RedisOptions } from "./options.js";
