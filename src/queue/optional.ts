/**
 * BullMQ and ioredis, the job queue's packages, loaded on first use: they are
 * optional peer dependencies (installing lstm-ner does not pull them in), and
 * only `worker`, `enqueue` and `collect` need them. Their absence is one line
 * saying what to install.
 */
import type * as BullMQ from "bullmq";
import type * as IORedis from "ioredis";
import { LstmNerError } from "../util/errors.js";

const INSTALL = "the job queue (worker, enqueue, collect) needs BullMQ and ioredis, which lstm-ner does not install: npm install bullmq ioredis";

/** The bullmq module. @throws LstmNerError saying what to install when it is not installed. */
export function loadBullmq(): Promise<typeof BullMQ> {
  return optional("bullmq", () => import("bullmq"));
}

/** The ioredis module. @throws LstmNerError saying what to install when it is not installed. */
export function loadIoredis(): Promise<typeof IORedis> {
  return optional("ioredis", () => import("ioredis"));
}

async function optional<T>(name: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    // Only the package itself missing; a broken install of it keeps its own error.
    if (err.code === "ERR_MODULE_NOT_FOUND" && err.message.includes(`'${name}'`)) throw new LstmNerError(INSTALL, { cause: e });
    throw e;
  }
}
