import { cliKernels, type KernelCliOptions } from "./kernels.js";
import { createReadStream, createWriteStream } from "node:fs";
import { createInterface } from "node:readline";
import { Readable, type Writable } from "node:stream";
import { once } from "node:events";
import { load } from "../pipeline/load.js";
import { Doc, type TokenOffset } from "../pipeline/doc.js";
import { render, pageHead, figure, PAGE_TAIL } from "../pipeline/displacy.js";
import type { Nlp } from "../pipeline/nlp.js";
import { LstmNerError } from "../util/errors.js";
import type { TagScheme } from "../data/types.js";
import { decodeStream, type TextEncodingName } from "../util/decode.js";

export interface PredictCliOptions extends KernelCliOptions {
  model: string;
  input?: string;
  inputFormat: "conll" | "text";
  format: "conll" | "jsonl" | "html";
  output?: string;
  encoding: TextEncodingName;
}

/** Texts (or CoNLL sentences) are tagged in groups of this many, so input of any size streams through. */
const GROUP = 256;

/** A CoNLL sentence: its original lines, echoed back with the prediction appended. */
interface ConllItem {
  lines: string[];
}

/** What goes through the group buffer: a text, a CoNLL sentence, or a line to pass through in order (-DOCSTART-). */
type Item = { text: string } | ConllItem | { raw: string };

export async function runPredict(texts: string[], o: PredictCliOptions): Promise<void> {
  if (texts.length > 0 && o.input) throw new LstmNerError("give texts as arguments or --input, not both");
  const nlp = await load(o.model, { kernels: await cliKernels(o) });
  const out: Writable = o.output ? createWriteStream(o.output) : process.stdout;
  const outError = new Promise<never>((_, reject) => {
    out.once("error", (e: NodeJS.ErrnoException) => reject(new LstmNerError(`cannot write output (${e.code ?? e.message})`, { file: o.output ?? "<stdout>", cause: e })));
  });
  outError.catch(() => undefined);
  const write = async (s: string): Promise<void> => {
    if (!out.write(s)) await Promise.race([once(out, "drain"), outError]);
  };
  let pending: Item[] = [];
  const flush = async (): Promise<void> => {
    if (pending.length === 0) return;
    const rendered = tagGroup(nlp, pending, o.format);
    pending = [];
    for (const s of rendered) await write(s);
  };
  const add = async (item: Item): Promise<void> => {
    pending.push(item);
    if (pending.length >= GROUP) await flush();
  };

  if (o.format === "html") await write(pageHead("lstm-ner predict"));
  if (texts.length > 0) {
    for (const text of texts) await add({ text });
  } else {
    const file = o.input && o.input !== "-" ? o.input : "<stdin>";
    const raw = o.input && o.input !== "-" ? createReadStream(o.input) : process.stdin;
    raw.on("error", () => undefined); // reported by the readline loop below
    // Strict decoding: invalid UTF-8 is refused with its line and byte offset, not tagged as U+FFFD.
    const stream = Readable.from(decodeStream(raw, file, o.encoding ?? "utf8"));
    const rl = createInterface({ input: stream, crlfDelay: Infinity });
    let lines: string[] = [];
    try {
      for await (const line of rl) {
        if (o.inputFormat === "text") {
          if (line.trim() !== "") await add({ text: line });
        } else if (line.trim() === "" || line.startsWith("-DOCSTART-")) {
          if (lines.length > 0) await add({ lines });
          lines = [];
          if (line.startsWith("-DOCSTART-") && o.format === "conll") await add({ raw: line + "\n\n" });
        } else {
          lines.push(line);
        }
      }
    } catch (err) {
      if (err instanceof LstmNerError) throw err;
      throw new LstmNerError(`cannot read input (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { file, cause: err });
    }
    if (lines.length > 0) await add({ lines });
  }
  await flush();
  if (o.format === "html") await write(PAGE_TAIL);
  if (o.output) {
    out.end();
    await Promise.race([once(out, "finish"), outError]);
  }
}

/** Tag a group of items in one batch and render each in the output format. */
function tagGroup(nlp: Nlp, items: readonly Item[], format: PredictCliOptions["format"]): string[] {
  const textDocs = nlp.batch(items.flatMap((it) => ("text" in it ? [it.text] : [])));
  const conll = items.filter((it): it is ConllItem => "lines" in it);
  const tokens = conll.map((it) => it.lines.map((l) => l.trim().split(/\s+/)[0]!));
  const tags = conll.length > 0 ? nlp.model.tag(tokens) : [];
  let t = 0;
  let c = 0;
  return items.map((it) => {
    if ("raw" in it) return it.raw;
    if ("text" in it) {
      const doc = textDocs[t++]!;
      if (format === "conll") return doc.sents.map((s) => s.tokens.map((tok) => `${tok.text} ${tok.tag}\n`).join("") + "\n").join("");
      return format === "jsonl" ? JSON.stringify(doc) + "\n" : figure(render(doc));
    }
    const i = c++;
    if (format === "conll") return it.lines.map((l, j) => `${l.trimEnd()} ${tags[i]![j]}\n`).join("") + "\n";
    const doc = conllDoc(tokens[i]!, tags[i]!, nlp.model.scheme as TagScheme);
    return format === "jsonl" ? JSON.stringify(doc) + "\n" : figure(render(doc));
  });
}

/** A Doc for pre-tokenised CoNLL input: the tokens joined by single spaces. */
function conllDoc(tokens: readonly string[], tags: readonly string[], scheme: TagScheme): Doc {
  const offsets: TokenOffset[] = [];
  let pos = 0;
  for (const tok of tokens) {
    offsets.push({ start: pos, end: pos + tok.length });
    pos += tok.length + 1;
  }
  return Doc.fromTagged(tokens.join(" "), [offsets], [tags], scheme);
}
