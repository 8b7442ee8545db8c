import { createReadStream, createWriteStream } from "node:fs";
import { createInterface } from "node:readline";
import type { Writable } from "node:stream";
import { once } from "node:events";
import { getKernels } from "../engine/index.js";
import { loadNerModel } from "../model/ner-node.js";
import { tokenize } from "../data/tokenize.js";
import { chunks } from "../data/schemes.js";
import { LstmNerError } from "../util/errors.js";
import type { TagScheme } from "../data/types.js";

export interface PredictCliOptions {
  model: string;
  input?: string;
  inputFormat: "conll" | "text";
  format: "conll" | "jsonl";
  output?: string;
  kernels: "auto" | "wasm" | "reference";
}

/** Sentences are tagged in groups of this many, so input of any size streams through. */
const GROUP = 256;

interface Item {
  tokens: string[];
  /** CoNLL input: the original lines, echoed back with the prediction appended. */
  lines?: string[];
  /** Text input: the original text and token offsets. */
  text?: string;
  offsets?: { start: number; end: number }[];
}

export async function runPredict(texts: string[], o: PredictCliOptions): Promise<void> {
  const model = await loadNerModel(o.model, await getKernels(o.kernels));
  const out: Writable = o.output ? createWriteStream(o.output) : process.stdout;
  const write = async (s: string): Promise<void> => {
    if (!out.write(s)) await once(out, "drain");
  };
  let pending: Item[] = [];
  const flush = async (): Promise<void> => {
    if (pending.length === 0) return;
    const tags = model.tag(pending.map((p) => p.tokens));
    for (let i = 0; i < pending.length; i++) await write(render(pending[i]!, tags[i]!, model.scheme as TagScheme, o.format));
    pending = [];
  };
  const add = async (item: Item): Promise<void> => {
    pending.push(item);
    if (pending.length >= GROUP) await flush();
  };

  if (texts.length > 0) {
    if (o.input) throw new LstmNerError("give texts as arguments or --input, not both");
    for (const text of texts) await add(textItem(text));
  } else {
    const file = o.input && o.input !== "-" ? o.input : "<stdin>";
    const stream = o.input && o.input !== "-" ? createReadStream(o.input, "utf8") : process.stdin;
    stream.on("error", () => undefined); // reported by the readline loop below
    const rl = createInterface({ input: stream, crlfDelay: Infinity });
    let lines: string[] = [];
    try {
      for await (const line of rl) {
        if (o.inputFormat === "text") {
          if (line.trim() !== "") await add(textItem(line));
        } else if (line.trim() === "" || line.startsWith("-DOCSTART-")) {
          if (lines.length > 0) await add(conllItem(lines));
          lines = [];
          if (line.startsWith("-DOCSTART-")) await flushThen(flush, () => write(line + "\n\n"));
        } else {
          lines.push(line);
        }
      }
    } catch (err) {
      throw new LstmNerError(`cannot read input (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { file, cause: err });
    }
    if (lines.length > 0) await add(conllItem(lines));
  }
  await flush();
  if (o.output) {
    out.end();
    await once(out, "finish");
  }
}

async function flushThen(flush: () => Promise<void>, then: () => Promise<void>): Promise<void> {
  await flush();
  await then();
}

function textItem(text: string): Item {
  const toks = tokenize(text);
  return { tokens: toks.map((t) => t.text), text, offsets: toks.map((t) => ({ start: t.start, end: t.end })) };
}

function conllItem(lines: string[]): Item {
  return { tokens: lines.map((l) => l.trim().split(/\s+/)[0]!), lines };
}

function render(item: Item, tags: string[], scheme: TagScheme, format: "conll" | "jsonl"): string {
  if (format === "conll") {
    const rows = item.lines ? item.lines.map((l, i) => `${l.trimEnd()} ${tags[i]}`) : item.tokens.map((t, i) => `${t} ${tags[i]}`);
    return rows.join("\n") + "\n\n";
  }
  const entities = chunks(tags, scheme).map((c) => {
    const e: Record<string, unknown> = { text: item.tokens.slice(c.start, c.end).join(" "), label: c.type, start: c.start, end: c.end };
    if (item.offsets && item.text !== undefined) {
      e.start_char = item.offsets[c.start]!.start;
      e.end_char = item.offsets[c.end - 1]!.end;
      e.text = item.text.slice(e.start_char as number, e.end_char as number);
    }
    return e;
  });
  return JSON.stringify({ ...(item.text !== undefined ? { text: item.text } : {}), tokens: item.tokens, tags, entities }) + "\n";
}
