/**
 * Reading `predict` input as a stream of {@link PredictItem}s: plain or gzip
 * files or stdin; one text per line, CoNLL, or JSON lines. Lines end at "\n"
 * only (a trailing "\r" is dropped), so a lone "\r" inside a text never
 * splits it and the output keeps lining up with the input.
 */
import { createReadStream, promises as fs, type ReadStream } from "node:fs";
import { createGunzip } from "node:zlib";
import type { Readable } from "node:stream";
import { LstmNerError } from "../util/errors.js";
import type { DocId, PredictItem } from "./items.js";
import { decodeStream, type TextEncodingName } from "../util/decode.js";

/** Input formats of `predict`. */
export type InputFormat = "text" | "conll" | "jsonl";

/** An opened input: its name for errors, its size and how much of it was read (for progress). */
export interface PredictInput {
  /** The file name, or "<stdin>". */
  readonly file: string;
  /** Size in bytes (of the file as stored, so compressed for .gz), when known. */
  readonly size: number | undefined;
  /** Bytes of the stored file read so far (0 for stdin). */
  bytesRead(): number;
  /** The items, in input order. */
  items(): AsyncIterable<PredictItem>;
}

/** Options of {@link openInput}. */
export interface OpenInputOptions {
  format: InputFormat;
  /** JSON lines: the field holding the text (default "text"). */
  textField?: string;
  /** Gunzip the input (default: when the file name ends in .gz). */
  gzip?: boolean;
  /** Text encoding (default utf8, strict: invalid bytes are refused with line and byte offset). */
  encoding?: TextEncodingName;
}

/** The input format a file name suggests (.jsonl / .jsonl.gz → jsonl), else undefined. */
export function formatFromName(file: string): InputFormat | undefined {
  return /\.jsonl(\.gz)?$/i.test(file) ? "jsonl" : undefined;
}

/**
 * Open `file` ("-" or undefined: `stdin`) for reading items.
 * @throws LstmNerError naming the file when it cannot be opened.
 */
export async function openInput(file: string | undefined, opts: OpenInputOptions, stdin: Readable = process.stdin): Promise<PredictInput> {
  const name = file === undefined || file === "-" ? "<stdin>" : file;
  let raw: Readable;
  let size: number | undefined;
  let counted: ReadStream | undefined;
  if (name === "<stdin>") {
    raw = stdin;
  } else {
    try {
      const st = await fs.stat(name);
      if (st.isDirectory()) throw Object.assign(new Error("is a directory"), { code: "EISDIR" });
      if (st.isFile()) size = st.size;
    } catch (err) {
      throw new LstmNerError(`cannot read input (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { file: name, cause: err });
    }
    counted = createReadStream(name);
    raw = counted;
  }
  const gzip = opts.gzip ?? /\.gz$/i.test(name);
  const textField = opts.textField ?? "text";
  return {
    file: name,
    size,
    bytesRead: () => counted?.bytesRead ?? 0, // only used with a known size
    items: () => items(decodedLines(raw, gzip, name, opts.encoding ?? "utf8"), opts.format, textField, name),
  };
}

/** Lines of a byte stream (strictly decoded; a leading BOM dropped), with their 1-based numbers. */
export async function* decodedLines(raw: Readable, gzip: boolean, file: string, encoding: TextEncodingName = "utf8"): AsyncGenerator<[string, number]> {
  let source: Readable = raw;
  if (gzip) {
    const gunzip = createGunzip();
    raw.on("error", (e) => gunzip.destroy(e));
    source = raw.pipe(gunzip);
  }
  let rest = "";
  let n = 0;
  try {
    for await (const s of decodeStream(source as AsyncIterable<Uint8Array>, file, encoding)) {
      rest += s;
      let start = 0;
      for (let nl = rest.indexOf("\n"); nl >= 0; nl = rest.indexOf("\n", start)) {
        yield [chomp(rest.slice(start, nl)), ++n];
        start = nl + 1;
      }
      rest = rest.slice(start);
    }
  } catch (err) {
    if (err instanceof LstmNerError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    // zlib's codes (Z_BUF_ERROR for a file cut short) mean nothing to a user; the vector reader words it the same way.
    if (gzip && code?.startsWith("Z_")) {
      throw new LstmNerError(`truncated or corrupt gzip data after line ${n} (${(err as Error).message})`, { file, cause: err });
    }
    throw new LstmNerError(`cannot read input (${code ?? String(err)})`, { file, cause: err });
  }
  if (rest !== "") yield [chomp(rest), ++n];
}

const chomp = (line: string): string => (line.endsWith("\r") ? line.slice(0, -1) : line);

async function* items(lines: AsyncIterable<[string, number]>, format: InputFormat, textField: string, file: string): AsyncGenerator<PredictItem> {
  if (format === "text") {
    for await (const [line] of lines) if (line.trim() !== "") yield { kind: "text", text: line };
  } else if (format === "jsonl") {
    for await (const [line, n] of lines) if (line.trim() !== "") yield jsonItem(line, textField, file, n);
  } else {
    let sentence: string[] = [];
    for await (const [line] of lines) {
      const docstart = line.startsWith("-DOCSTART-");
      if (line.trim() === "" || docstart) {
        if (sentence.length > 0) yield { kind: "conll", lines: sentence };
        sentence = [];
        // Predicted column "O" too, so every line has the same number of columns (conlleval insists).
        if (docstart) yield { kind: "raw", raw: `${line.trimEnd()} O\n\n` };
      } else {
        sentence.push(line);
      }
    }
    if (sentence.length > 0) yield { kind: "conll", lines: sentence };
  }
}

/** One JSON-lines record → a text item; its `id` (string or number) is kept. */
export function jsonItem(line: string, textField: string, file: string, n: number): PredictItem & { kind: "text" } {
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch (e) {
    throw new LstmNerError(`not valid JSON (${(e as Error).message})`, { file, line: n });
  }
  if (typeof o !== "object" || o === null || Array.isArray(o)) throw new LstmNerError("expected a JSON object per line", { file, line: n });
  const rec = o as Record<string, unknown>;
  const text = rec[textField];
  if (typeof text !== "string") {
    throw new LstmNerError(`field "${textField}" must be a string, got ${text === null ? "null" : typeof text}`, { file, line: n });
  }
  const id = rec.id;
  if (id === undefined) return { kind: "text", text };
  if (typeof id !== "string" && typeof id !== "number") throw new LstmNerError(`field "id" must be a string or a number, got ${id === null ? "null" : typeof id}`, { file, line: n });
  return { kind: "text", text, id: id as DocId };
}
