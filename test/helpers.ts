import { fileURLToPath } from "node:url";
import * as path from "node:path";

/** Absolute path of a file in test/fixtures (tests run from dist/test). */
export function fixture(name: string): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../test/fixtures", name);
}

/** The chunks (as `encodeSafetensors` returns them) joined into one byte array. */
export function concatBytes(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}
