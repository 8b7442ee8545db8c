/**
 * Model files on disk (Node only). The model's file handling lives in
 * src/model/: this module reads and writes files; format.ts is the layout
 * (bytes ↔ {@link SavedModel}, also used by the browser through
 * `NerModel.fromBytes`); safetensors.ts is the container underneath.
 */
import { promises as fs } from "node:fs";
import type { Kernels } from "../engine/kernels.js";
import { LstmNerError } from "../util/errors.js";
import { writeFileAtomic } from "../util/atomic.js";
import { encodeModel, parseModel, type SavedModel } from "./format.js";
import { NerModel } from "./ner.js";

/** Write a model file atomically (temporary file + rename): a crash never leaves half a model. */
export async function saveModel(file: string, model: SavedModel): Promise<void> {
  await writeFileAtomic(file, encodeModel(model));
}

/** Read and validate a model file; every problem is reported with the file name. */
export async function loadModel(file: string): Promise<SavedModel> {
  let bytes: Uint8Array;
  try {
    bytes = await readAligned(file);
  } catch (err) {
    throw new LstmNerError(`cannot read model file (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { file, cause: err });
  }
  return parseModel(bytes, file);
}

/**
 * A safetensors file's bytes, placed in memory so that its largest 4-byte tensor (the
 * word table) starts 4-byte aligned: it is then used in place instead of
 * copied. Files written before safetensors.ts ordered tensors by width have
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
    const head = Buffer.alloc(8);
    if (size >= 8 && (await fh.read(head, 0, 8, 0)).bytesRead === 8) {
      const headerLen = Number(head.readBigUInt64LE(0));
      if (headerLen > 1 && 8 + headerLen <= size && headerLen <= 1 << 26) {
        const json = Buffer.alloc(headerLen);
        await fh.read(json, 0, headerLen, 8);
        shift = alignShift(json.toString("utf8"), 8 + headerLen);
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

/** Bytes to skip at the start of the buffer so the largest F32/I32 tensor of `header` lands 4-byte aligned (0 when unknown). */
function alignShift(header: string, dataStart: number): number {
  let entries: Record<string, unknown>;
  try {
    entries = JSON.parse(header) as Record<string, unknown>;
  } catch {
    return 0;
  }
  let best = -1;
  let at = 0;
  for (const v of Object.values(entries ?? {})) {
    const t = v as { dtype?: unknown; data_offsets?: unknown };
    if ((t?.dtype !== "F32" && t?.dtype !== "I32") || !Array.isArray(t.data_offsets)) continue;
    const [b, e] = t.data_offsets as unknown[];
    if (typeof b === "number" && typeof e === "number" && e - b > best) {
      best = e - b;
      at = dataStart + b;
    }
  }
  return best < 0 ? 0 : (4 - (at % 4)) % 4;
}

/** Load a model file written by {@link saveNerModel}. */
export async function loadNerModel(file: string, kernels: Kernels): Promise<NerModel> {
  return NerModel.fromSaved(await loadModel(file), kernels, file);
}

/** Write a model to one file, atomically; `training` records how it was made. */
export async function saveNerModel(file: string, model: NerModel, training: Record<string, unknown>): Promise<void> {
  await saveModel(file, model.toSaved(training));
}
