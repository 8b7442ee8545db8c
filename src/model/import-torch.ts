/**
 * The classroom notebook's PyTorch model as an lstm-ner model: its state dict
 * (`torch.save(model.state_dict(), path)`, or the same tensors in a
 * safetensors file) and the word vectors it was built from become the `seed`
 * architecture's model file (a softmax BiLSTM, src/nn/softmax-tagger.ts).
 * The notebook's module: `embedding` = `nn.Embedding.from_pretrained` over
 * the vectors' rows + UNK + PAD, `lstm` = one `nn.LSTM(batch_first=True)`
 * layer (bidirectional or not), `fc` = `nn.Linear` to the tags + 1.
 */
import { decodeSafetensors } from "../tensors/safetensors.js";
import { parseTorchPickle, tensorValues } from "../tensors/torch-pickle.js";
import { readAligned } from "../tensors/read-aligned.js";
import { readZipEntries } from "../embeddings/zip.js";
import type { Vectors } from "../embeddings/types.js";
import { CONLL_LABELS } from "../data/types.js";
import { detectScheme } from "../data/schemes.js";
import { LstmNerError } from "../util/errors.js";
import type { SavedModel } from "./format.js";

/** A tensor of a state dict, as float32, row-major. */
export interface StateTensor {
  shape: number[];
  data: Float32Array;
}

const ZIP_MAGIC = [0x50, 0x4b, 0x03, 0x04];

/**
 * Read a PyTorch state dict: the zip `torch.save` writes (its pickle parsed, never run: see
 * src/tensors/torch-pickle.ts) or a safetensors file. Floating-point tensors, as float32.
 * @throws LstmNerError naming the file for anything else.
 */
export async function readTorchStateDict(file: string): Promise<Map<string, StateTensor>> {
  let bytes: Uint8Array;
  try {
    bytes = await readAligned(file);
  } catch (err) {
    throw new LstmNerError(`cannot read the state dict (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { file, cause: err });
  }
  if (ZIP_MAGIC.every((b, i) => bytes[i] === b)) return fromTorchZip(file);
  if (bytes[0] === 0x80) {
    throw new LstmNerError("a PyTorch file in the old (pre-1.6) pickle format; save it again with torch.save(model.state_dict(), path) in PyTorch ≥ 1.6, or as safetensors", { file });
  }
  const st = decodeSafetensors(bytes, file, "PyTorch state dict (neither a torch.save zip nor a safetensors file)");
  const out = new Map<string, StateTensor>();
  for (const [name, t] of st.tensors) {
    if (t.dtype !== "F32") throw new LstmNerError(`tensor ${name} is ${t.dtype}; the model's weights must be F32`, { file });
    out.set(name, { shape: t.shape, data: t.data as Float32Array });
  }
  return out;
}

async function fromTorchZip(file: string): Promise<Map<string, StateTensor>> {
  const entries = await readZipEntries(file);
  const pkl = [...entries.keys()].filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (pkl.length !== 1) throw new LstmNerError(`a zip, but not one torch.save wrote (expected one <name>/data.pkl, found ${pkl.length})`, { file });
  const prefix = pkl[0]!.slice(0, -"data.pkl".length);
  const order = entries.get(`${prefix}byteorder`);
  if (order !== undefined && new TextDecoder().decode(order) !== "little") throw new LstmNerError("tensors stored big-endian are not supported", { file });
  const refs = parseTorchPickle(entries.get(pkl[0]!)!, file);
  const out = new Map<string, StateTensor>();
  for (const [name, ref] of refs) {
    const storage = entries.get(`${prefix}data/${ref.storage}`);
    if (storage === undefined) throw new LstmNerError(`tensor ${name}: its storage ${prefix}data/${ref.storage} is missing from the zip`, { file });
    out.set(name, { shape: ref.shape, data: tensorValues(ref, storage, name, file) });
  }
  return out;
}

/** Options of {@link importTorchModel}. */
export interface ImportTorchOptions {
  /** Names the state dict in errors and in the model's record. */
  file: string;
  /** The output classes' tags, in order (default: the notebook's, CoNLL-2003's nine); extra outputs read as O. */
  tags?: readonly string[];
  /** Take the embedding rows as the file has them without comparing them to the vectors (an embedding fine-tuned with --trainable). */
  fineTunedEmbedding?: boolean;
  /** More of the model's record (`training` in the file): where the vectors came from, the version, … */
  record?: Record<string, unknown>;
}

const LSTM_PARTS = ["weight_ih", "weight_hh", "bias_ih", "bias_hh"] as const;

/**
 * The notebook's model as an lstm-ner model (`arch: "softmax"`). `vectors` gives the vocabulary: its words in file
 * order are the embedding's rows, then UNK and PAD, as the notebook builds the table; the rows themselves are
 * the state dict's.
 * @throws LstmNerError naming the file and the key for another layer stack, a missing key, a shape that does not fit,
 * or vectors that are not the ones the model was built from.
 */
export function importTorchModel(state: ReadonlyMap<string, StateTensor>, vectors: Vectors, o: ImportTorchOptions): SavedModel {
  const file = o.file;
  const fail = (why: string): LstmNerError => new LstmNerError(why, { file });
  const stack = "lstm-ner imports the classroom model: embedding, one nn.LSTM layer, fc";
  const deeper = [...state.keys()].find((k) => /^lstm\.(weight|bias)_(ih|hh)_l[1-9]/.test(k));
  if (deeper !== undefined) throw fail(`key ${deeper}: an LSTM of more than one layer; ${stack}`);
  const bidirectional = [...state.keys()].some((k) => k.endsWith("_reverse"));
  const wanted = ["embedding.weight", ...(bidirectional ? ["", "_reverse"] : [""]).flatMap((d) => LSTM_PARTS.map((p) => `lstm.${p}_l0${d}`)), "fc.weight", "fc.bias"];
  const extra = [...state.keys()].find((k) => !wanted.includes(k));
  if (extra !== undefined) throw fail(`key ${extra} is not part of the notebook's model; ${stack}`);
  const missing = wanted.find((k) => !state.has(k));
  if (missing !== undefined) throw fail(`key ${missing} is missing (the notebook's model has ${wanted.join(", ")})`);
  const t = (k: string): StateTensor => state.get(k)!;
  const shaped = (k: string, want: number[]): Float32Array => {
    const got = t(k).shape;
    if (got.join(",") !== want.join(",")) throw fail(`key ${k} has shape [${got}], expected [${want}]`);
    return t(k).data;
  };
  const emb = t("embedding.weight");
  if (emb.shape.length !== 2) throw fail(`key embedding.weight has shape [${emb.shape}], expected [rows, dim]`);
  const [rows, dim] = emb.shape as [number, number];
  const ih = t("lstm.weight_ih_l0").shape;
  if (ih.length !== 2 || ih[0]! % 4 !== 0) throw fail(`key lstm.weight_ih_l0 has shape [${ih}], expected [4 × hidden, ${dim}]`);
  const hidden = ih[0]! / 4;
  const fcShape = t("fc.weight").shape;
  const width = bidirectional ? 2 * hidden : hidden;
  const outputs = fcShape[0]!;
  const fcW = shaped("fc.weight", [outputs, width]);
  const fcB = shaped("fc.bias", [outputs]);
  const tags = [...(o.tags ?? CONLL_LABELS)];
  if (outputs < tags.length) throw fail(`fc has ${outputs} outputs, fewer than the ${tags.length} tags (${tags.join(" ")})`);

  // The vocabulary: the vectors' words are the table's rows, then UNK and PAD.
  if (rows !== vectors.words.length + 2 || dim !== vectors.dim) {
    throw fail(`embedding.weight is ${rows} × ${dim}, but the vectors give ${vectors.words.length} words + UNK + PAD = ${vectors.words.length + 2} rows × ${vectors.dim}: ` +
      "these are not the vectors the model was built from");
  }
  if (o.fineTunedEmbedding !== true) {
    const n = vectors.words.length * dim;
    for (let i = 0; i < n; i++) {
      if (emb.data[i] !== vectors.data[i]) {
        const r = Math.floor(i / dim);
        throw fail(`embedding row ${r} (${JSON.stringify(vectors.words[r])}) differs from the vectors: these are not the vectors the model was built from` +
          " (or its embedding was fine-tuned: then pass --fine-tuned-embedding)");
      }
    }
  }

  // PyTorch's W is [4H, in] with gates i, f, g, o; lstm-ner's is [in, 4H] in the same order, one bias b_ih + b_hh.
  const params: SavedModel["params"] = {};
  const direction = (suffix: string, name: string): void => {
    const wIh = shaped(`lstm.weight_ih_l0${suffix}`, [4 * hidden, dim]);
    const wHh = shaped(`lstm.weight_hh_l0${suffix}`, [4 * hidden, hidden]);
    const bIh = shaped(`lstm.bias_ih_l0${suffix}`, [4 * hidden]);
    const bHh = shaped(`lstm.bias_hh_l0${suffix}`, [4 * hidden]);
    params[`${name}.w_ih`] = { shape: [dim, 4 * hidden], data: transpose(wIh, 4 * hidden, dim) };
    params[`${name}.w_hh`] = { shape: [hidden, 4 * hidden], data: transpose(wHh, 4 * hidden, hidden) };
    params[`${name}.b`] = { shape: [4 * hidden], data: bIh.map((v, i) => v + bHh[i]!) };
  };
  if (bidirectional) {
    direction("", "lstm.fwd");
    direction("_reverse", "lstm.bwd");
  } else {
    direction("", "lstm.fwd");
  }
  params["out.w"] = { shape: [width, outputs], data: transpose(fcW, outputs, width) };
  params["out.b"] = { shape: [outputs], data: Float32Array.from(fcB) };
  return {
    config: { arch: "softmax", embDim: dim, hidden, bidirectional, outputs, trainableEmbeddings: false, lowercase: true },
    labels: tags,
    trainScheme: detectScheme(tags),
    words: vectors.words,
    embedding: emb.data,
    params,
    training: { imported_from: "pytorch", state_dict: file, recipe: { extraOutputs: outputs - tags.length }, ...o.record },
  };
}

/** A rows×cols row-major matrix transposed. */
function transpose(m: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(m.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = m[r * cols + c]!;
  return out;
}
