/**
 * Reading a safetensors file from disk (Node only) into memory laid out so
 * that its largest 4-byte tensor can be used in place.
 */
import { promises as fs } from "node:fs";
import { headerLength, parseHeader } from "./safetensors.js";

/**
 * A safetensors file's bytes, placed in memory so that its largest 4-byte tensor (the
 * word table) starts 4-byte aligned: it is then used in place instead of
 * copied. Files written before the container ordered tensors by width have
 * the table after the vocabulary's odd-length bytes; read plainly, the
 * table was copied and the whole file buffer stayed around as garbage
 * (twice the table's memory until a major GC). Header problems are left to
 * the parser, which names them. `shared`: the bytes live in a
 * SharedArrayBuffer, so worker threads use them (and the table) without a
 * copy each.
 */
export async function readAligned(file: string, opts: { shared?: boolean } = {}): Promise<Uint8Array> {
  const fh = await fs.open(file, "r");
  try {
    const size = (await fh.stat()).size;
    let shift = 0;
    const head = new Uint8Array(8);
    if (size >= 8 && (await fh.read(head, 0, 8, 0)).bytesRead === 8) {
      const headerLen = headerLength(head);
      if (headerLen > 1 && 8 + headerLen <= size && headerLen <= 1 << 26) {
        const json = new Uint8Array(headerLen);
        await fh.read(json, 0, headerLen, 8);
        shift = alignShift(json, 8 + headerLen);
      }
    }
    const buf = opts.shared === true ? new Uint8Array(new SharedArrayBuffer(size + shift)) : Buffer.allocUnsafeSlow(size + shift);
    let off = 0;
    while (off < size) {
      const { bytesRead } = await fh.read(buf, shift + off, size - off, off);
      if (bytesRead === 0) break;
      off += bytesRead;
    }
    return new Uint8Array(buf.buffer, buf.byteOffset + shift, off);
  } finally {
    await fh.close();
  }
}

/**
 * Bytes to skip at the start of the buffer so the largest F32/I32 tensor of `json` lands 4-byte aligned (0 when
 * unknown).
 */
function alignShift(json: Uint8Array, dataStart: number): number {
  let entries: Record<string, unknown>;
  try {
    entries = parseHeader(json, (why) => new Error(why));
  } catch {
    return 0; // the parser names the problem when the file is decoded
  }
  let best = -1;
  let at = 0;
  for (const v of Object.values(entries)) {
    const t = v as { dtype?: unknown; data_offsets?: unknown } | null;
    if ((t?.dtype !== "F32" && t?.dtype !== "I32") || !Array.isArray(t.data_offsets)) continue;
    const [b, e] = t.data_offsets as unknown[];
    if (typeof b === "number" && typeof e === "number" && e - b > best) {
      best = e - b;
      at = dataStart + b;
    }
  }
  return best < 0 ? 0 : (4 - (at % 4)) % 4;
}
