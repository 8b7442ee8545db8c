/**
 * The jobs on an lstm-ner queue: a batch of documents each, identified by a
 * sequence number so the results can be gathered in the order they were
 * enqueued. The result of a job (its BullMQ return value, stored atomically
 * with the job's completion) is the documents' JSON lines.
 */
import { LstmNerError } from "../util/errors.js";
import type { DocId } from "../predict/items.js";

/** A document to tag. */
export interface QueueDoc {
  id: DocId;
  text: string;
}

/** What a job carries. */
export interface TagJobData {
  /** Position of the batch in enqueue order (1-based). */
  seq: number;
  docs: QueueDoc[];
}

/** What a finished job returns: one JSON line per document (`{"id":…, …Doc}`), in the job's order. */
export interface TagJobResult {
  ids: DocId[];
  lines: string[];
  tokens: number;
}

/** The job id of batch `seq`. */
export const jobIdOf = (seq: number): string => `batch-${seq}`;

/**
 * Check a job's data as any producer may have sent it.
 * @throws LstmNerError naming the document and field.
 */
export function checkJobData(data: unknown): TagJobData {
  if (typeof data !== "object" || data === null) throw new LstmNerError("job data must be an object");
  const d = data as Record<string, unknown>;
  if (!Array.isArray(d.docs)) throw new LstmNerError("job data must have a docs array");
  const docs = d.docs.map((raw: unknown, i): QueueDoc => {
    const where = `docs[${i}]`;
    if (typeof raw !== "object" || raw === null) throw new LstmNerError(`${where} must be an object`);
    const r = raw as Record<string, unknown>;
    const id = r.id;
    const at = typeof id === "string" || typeof id === "number" ? `${where} (id ${JSON.stringify(id)})` : where;
    if (typeof id !== "string" && typeof id !== "number") throw new LstmNerError(`${at}: field "id" must be a string or a number, got ${id === null ? "null" : typeof id}`);
    if (typeof r.text !== "string") throw new LstmNerError(`${at}: field "text" must be a string, got ${r.text === null ? "null" : typeof r.text}`);
    return { id, text: r.text };
  });
  return { seq: typeof d.seq === "number" ? d.seq : 0, docs };
}
