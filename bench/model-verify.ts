/**
 * The cost of the model file's integrity checks: CRC-32C over header and
 * tensors, and the finiteness scan, on a model the size of the `accurate`
 * one (341k × 100 GloVe rows: a ≈ 140 MB file), against the plain parse of
 * the same file without checksums. Prints one JSON line per figure.
 *
 *   node dist/bench/model-verify.js [rows] [dim]   (default 341000 100)
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { referenceKernels } from "../src/engine/reference.js";
import { NerModel } from "../src/model/ner.js";
import { saveNerModel } from "../src/model/file.js";
import { parseModel } from "../src/model/format.js";
import { decodeSafetensors, encodeSafetensors } from "../src/tensors/safetensors.js";
import { firstNonFinite } from "../src/model/validate.js";
import { crc32c } from "../src/util/crc32c.js";
import { CONLL_LABELS } from "../src/data/types.js";
import { Rng } from "../src/util/random.js";

const rows = Number(process.argv[2] ?? 341000);
const dim = Number(process.argv[3] ?? 100);
const dir = await mkdtemp(path.join(os.tmpdir(), "lstm-ner-bench-"));

function best(f: () => void, runs = 5): number {
  let min = Infinity;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    f();
    min = Math.min(min, performance.now() - t0);
  }
  return min;
}

try {
  const rng = new Rng(1);
  const words = Array.from({ length: rows }, (_, i) => `w${i}`);
  const data = rng.fillUniform(new Float32Array(rows * dim), -1, 1);
  const model = NerModel.create(referenceKernels, {
    vectors: { words, dim, data }, labels: CONLL_LABELS, scheme: "IOB2", hidden: 200, bidirectional: true, trainableEmbeddings: true, seed: 1,
  });
  const file = path.join(dir, "m.safetensors");
  await saveNerModel(file, model, {});
  const buf = new Uint8Array(await readFile(file));
  const f = decodeSafetensors(buf, file);
  const plain = Buffer.concat(encodeSafetensors(Object.fromEntries(f.tensors), f.metadata, { checksum: false }));
  const mb = buf.length / 1e6;
  const emit = (step: string, ms: number): void => {
    console.log(JSON.stringify({ bench: "model-verify", step, file_mb: Number(mb.toFixed(1)), ms: Number(ms.toFixed(1)), mb_per_s: Math.round(mb / (ms / 1000)) }));
  };
  emit("crc32c over the whole file", best(() => crc32c(buf)));
  emit("finiteness scan of the F32 tensors", best(() => {
    for (const t of f.tensors.values()) if (t.dtype === "F32") firstNonFinite(t.data as Float32Array);
  }));
  emit("parseModel without checksums (finiteness only)", best(() => parseModel(plain, file)));
  emit("parseModel with checksums (as loaded)", best(() => parseModel(buf, file)));
} finally {
  await rm(dir, { recursive: true, force: true });
}
