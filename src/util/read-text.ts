import { promises as fs } from "node:fs";
import { promisify } from "node:util";
import { gunzip } from "node:zlib";
import { decodeBytes, type TextEncodingName } from "./decode.js";
import { LstmNerError } from "./errors.js";

/** Options for {@link readText}. */
export interface ReadTextOptions {
  /** `utf8` (default, strict) or `latin1`. */
  encoding?: TextEncodingName;
  /** Name used in errors (default: the path). */
  file?: string;
}

/**
 * Read a whole text file, gunzipping it first if its name ends in `.gz`.
 * @throws LstmNerError naming the file when it cannot be read, is not valid
 * gzip, or is not valid UTF-8 (with line and byte offset; see {@link decodeBytes}).
 */
export async function readText(path: string, opts: ReadTextOptions = {}): Promise<string> {
  const file = opts.file ?? path;
  let bytes: Uint8Array;
  try {
    bytes = await fs.readFile(path);
  } catch (err) {
    throw new LstmNerError(`cannot read file (${describe(err)})`, { file, cause: err });
  }
  if (path.endsWith(".gz")) {
    try {
      bytes = await promisify(gunzip)(bytes);
    } catch (err) {
      throw new LstmNerError(`not a valid gzip file (${describe(err)})`, { file, cause: err });
    }
  }
  return decodeBytes(bytes, file, opts.encoding ?? "utf8");
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
