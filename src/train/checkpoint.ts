/**
 * Training checkpoints: a {@link TrainState} (weights, best weights, optimiser
 * state, random-number states, epoch, patience) plus whatever the caller needs
 * to rebuild the run (its options), in one safetensors file: the typed arrays
 * as tensors, everything else as JSON in the metadata. Written atomically and
 * checksummed like model files, so a checkpoint is either whole or refused.
 */
import { promises as fs } from "node:fs";
import { LstmNerError } from "../util/errors.js";
import { describeFsError, writeFileAtomic } from "../util/atomic.js";
import { decodeSafetensors, encodeSafetensors, type Tensor } from "../tensors/safetensors.js";
import type { StateValue, TrainState } from "./trainer.js";

const FORMAT = "lstm-ner-checkpoint";
const VERSION = "1";

/** What a checkpoint file holds. */
export interface Checkpoint {
  /** The trainer's state. */
  state: TrainState;
  /** The caller's description of the run (options, recipe), JSON. */
  run: Record<string, unknown>;
}

/** JSON with typed arrays replaced by {"$tensor": name} (and non-finite numbers by {"$number": "NaN"}). */
function pack(v: StateValue, name: string, tensors: Record<string, Tensor>): unknown {
  if (v instanceof Float32Array) {
    tensors[name] = { dtype: "F32", shape: [v.length], data: v };
    return { $tensor: name };
  }
  if (v instanceof Int32Array) {
    tensors[name] = { dtype: "I32", shape: [v.length], data: v };
    return { $tensor: name };
  }
  if (typeof v === "number" && !Number.isFinite(v)) return { $number: String(v) };
  if (Array.isArray(v)) return v.map((x, i) => pack(x, `${name}/${i}`, tensors));
  if (typeof v === "object" && v !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = pack(x, `${name}/${k}`, tensors);
    return out;
  }
  return v;
}

function unpack(v: unknown, tensors: Map<string, Tensor>, file: string): StateValue {
  if (Array.isArray(v)) return v.map((x) => unpack(x, tensors, file));
  if (typeof v === "object" && v !== null) {
    const o = v as Record<string, unknown>;
    if (typeof o.$tensor === "string") {
      const t = tensors.get(o.$tensor);
      if (!t || t.dtype === "U8") throw new LstmNerError(`not a valid checkpoint (tensor ${o.$tensor} is missing)`, { file });
      return t.data as Float32Array | Int32Array;
    }
    if (typeof o.$number === "string") return Number(o.$number);
    const out: Record<string, StateValue> = {};
    for (const [k, x] of Object.entries(o)) out[k] = unpack(x, tensors, file);
    return out;
  }
  return v as StateValue;
}

/** Write a checkpoint atomically (the previous one stays until the new one is complete). */
export async function saveCheckpoint(file: string, cp: Checkpoint): Promise<void> {
  const tensors: Record<string, Tensor> = {};
  const json = pack(cp.state as unknown as StateValue, "state", tensors);
  await writeFileAtomic(file, encodeSafetensors(tensors, {
    format: FORMAT, format_version: VERSION, state: JSON.stringify(json), run: JSON.stringify(cp.run),
  }));
}

/** Read a checkpoint; a missing, damaged or foreign file is one error naming it. */
export async function loadCheckpoint(file: string): Promise<Checkpoint> {
  let buf: Buffer;
  try {
    buf = await fs.readFile(file);
  } catch (err) {
    throw new LstmNerError(`cannot read checkpoint (${describeFsError(err)})`, { file, cause: err });
  }
  const { tensors, metadata } = decodeSafetensors(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), file, "checkpoint");
  const bad = (why: string): LstmNerError => new LstmNerError(`not a valid checkpoint (${why})`, { file });
  if (metadata.format !== FORMAT) throw bad(`metadata "format" is ${JSON.stringify(metadata.format)}, expected "${FORMAT}"`);
  if (metadata.format_version !== VERSION) throw bad(`version ${metadata.format_version} is not supported; this lstm-ner reads version ${VERSION}`);
  let state: unknown;
  let run: unknown;
  try {
    state = unpack(JSON.parse(metadata.state ?? ""), tensors, file);
    run = JSON.parse(metadata.run ?? "");
  } catch (err) {
    if (err instanceof LstmNerError) throw err;
    throw bad("its state is not JSON");
  }
  const s = state as Partial<TrainState>;
  for (const f of ["epoch", "batch", "sinceBest", "tokens"] as const) {
    if (!Number.isInteger(s[f]) || (s[f] as number) < 0) throw bad(`state.${f} must be a whole number ≥ 0`);
  }
  if (!Array.isArray(s.epochRng) || s.epochRng.length !== 4) throw bad("state.epochRng must hold four numbers");
  if (s.lmSum !== undefined && !(typeof s.lmSum === "number" && Number.isFinite(s.lmSum))) throw bad("state.lmSum must be a number");
  if (!Array.isArray(s.records)) throw bad("state.records must be a list");
  if (typeof s.weights !== "object" || s.weights === null) throw bad("state.weights is missing");
  if (typeof run !== "object" || run === null || Array.isArray(run)) throw bad("run must be a JSON object");
  return { state: state as TrainState, run: run as Record<string, unknown> };
}
