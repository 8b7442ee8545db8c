import { writeConll } from "../data/conll.js";
import { retokenized, writeSpansJsonl } from "../data/spans-jsonl.js";
import { chunks, detectScheme } from "../data/schemes.js";
import { refuseOutputOverInput } from "../util/same-file.js";
import type { TextEncodingName } from "../util/decode.js";
import { formatOf, readGold, type DataFormat } from "./data-files.js";

export interface ConvertCliOptions {
  out: string;
  from?: DataFormat;
  to?: DataFormat;
  skipBadSpans?: boolean;
  encoding: TextEncodingName;
}

/** `lstm-ner convert`: CoNLL ↔ annotated JSON lines (or one JSON-lines shape to spaCy's). */
export async function runConvert(input: string, o: ConvertCliOptions): Promise<void> {
  refuseOutputOverInput(o.out, "--out", [{ file: input, what: "the input" }]);
  const sentences = await readGold(input, { encoding: o.encoding, skipBadSpans: o.skipBadSpans === true, ...(o.from ? { format: o.from } : {}) });
  const to = formatOf(o.out, o.to);
  const scheme = detectScheme(sentences.map((s) => s.tags));
  const entities = sentences.reduce((n, s) => n + chunks(s.tags, scheme).length, 0);
  const docs = new Set(sentences.map((s) => s.doc)).size;
  const what = `${sentences.length} sentences${sentences[0]?.doc === undefined ? "" : ` in ${docs} documents`}, ${entities} entities`;
  if (to === "conll") {
    await writeConll(o.out, sentences);
    process.stderr.write(`wrote ${what} to ${o.out} (CoNLL, token and tag, IOB2 from JSON lines)\n`);
    return;
  }
  await writeSpansJsonl(o.out, sentences);
  const r = retokenized(sentences);
  const pct = r.tokens === 0 ? "0" : ((100 * r.changed) / r.tokens).toFixed(2);
  process.stderr.write(`wrote ${what} to ${o.out} (JSON lines, one record per ${sentences[0]?.doc === undefined ? "sentence" : "document"})\n` +
    (r.changed === 0 ? "read back, every token stays as it is\n"
      : `read back, ${r.changed} of ${r.tokens} tokens (${pct}%, in ${r.sentences} sentences) are split differently by lstm-ner's tokenizer (e.g. 's → ' s); their tags follow\n`));
}
