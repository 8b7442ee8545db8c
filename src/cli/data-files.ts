/**
 * Gold data files for train, evaluate and convert: CoNLL columns or annotated JSON lines (character spans), by
 * --input-format or the file name. Says on standard error how many records --skip-bad-spans left out.
 */
import { readConll } from "../data/conll.js";
import { isJsonlName, readSpansJsonl } from "../data/spans-jsonl.js";
import { entityTypes } from "../data/schemes.js";
import type { Sentence } from "../data/types.js";
import type { TextEncodingName } from "../util/decode.js";

/** Formats of gold data. */
export type DataFormat = "conll" | "jsonl";
export const DATA_FORMATS: readonly DataFormat[] = ["conll", "jsonl"];

export interface GoldReadOptions {
  /** Given, or by name: *.jsonl[.gz] are JSON lines, anything else CoNLL. */
  format?: DataFormat;
  /** Tags the file may hold (CoNLL), whose entity types the spans may name (JSON lines); absent: any. */
  labels?: readonly string[];
  skipBadSpans?: boolean;
  encoding: TextEncodingName;
}

/** The format of `file`: `given`, or by its name. */
export const formatOf = (file: string, given: DataFormat | undefined): DataFormat => given ?? (isJsonlName(file) ? "jsonl" : "conll");

/** Read gold sentences from a CoNLL or annotated JSON-lines file. */
export async function readGold(file: string, o: GoldReadOptions): Promise<Sentence[]> {
  if (formatOf(file, o.format) === "conll") {
    return readConll(file, { encoding: o.encoding, ...(o.labels ? { labels: o.labels } : {}) });
  }
  const { sentences, skipped, rejected } = await readSpansJsonl(file, {
    encoding: o.encoding, skipBad: o.skipBadSpans === true, ...(o.labels ? { types: entityTypes(o.labels) } : {}),
  });
  if (skipped.records > 0) {
    process.stderr.write(`${file}: --skip-bad-spans left out ${skipped.records} record${skipped.records === 1 ? "" : "s"} ` +
      `(${skipped.spans} bad span${skipped.spans === 1 ? "" : "s"}); the first: ${skipped.first}\n`);
  }
  if (rejected > 0) process.stderr.write(`${file}: left out ${rejected} record${rejected === 1 ? "" : "s"} whose Prodigy answer is reject or ignore\n`);
  return sentences;
}
