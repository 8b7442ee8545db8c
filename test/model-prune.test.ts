import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { referenceKernels } from "../src/engine/reference.js";
import { getKernels } from "../src/engine/index.js";
import { encodeMatrix, decodeMatrix, encodeWords, decodeWords, fromHalf, toHalf } from "../src/tensors/storage.js";
import { decodeSafetensors, encodeSafetensors } from "../src/tensors/safetensors.js";
import { encodeModel, parseModel, type SavedModel } from "../src/model/format.js";
import { pruneModel } from "../src/model/prune-model.js";
import { NerModel } from "../src/model/ner.js";
import { pruneRows, pruneVectors, frequentRowsMask } from "../src/embeddings/prune.js";
import { encodeVectorTable, parseVectorTable } from "../src/embeddings/table.js";
import { readVectors } from "../src/embeddings/read.js";
import { loadVectors } from "../src/embeddings/registry.js";
import { CONLL_LABELS } from "../src/data/types.js";
import { LstmNerError } from "../src/util/errors.js";
import { Rng } from "../src/util/random.js";
import { writeToyData } from "./toy-corpus.js";
import { concatBytes as concat, crashAt, runCli, type CliRun } from "./helpers.js";
import { toyModel } from "./pipeline-helpers.js";

const dir = mkdtempSync(path.join(tmpdir(), "lstm-ner-prune-"));


const bad = (why: string): LstmNerError => new LstmNerError(why);

function randomTable(rows: number, dim: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return new Float32Array(rows * dim).map(() => rng.normal());
}

test("float16: exact bits for known values, round-to-nearest-even, and ≤ half an ulp of error", () => {
  assert.equal(toHalf(1), 0x3c00);
  assert.equal(toHalf(-2), 0xc000);
  assert.equal(toHalf(65504), 0x7bff);
  assert.equal(toHalf(0.1), 0x2e66);
  assert.equal(toHalf(2 ** -24), 0x0001); // smallest subnormal
  assert.equal(toHalf(2 ** -26), 0x0000); // below half of it: zero
  assert.equal(toHalf(1 + 2 ** -11), 0x3c00); // a tie rounds to even
  assert.equal(toHalf(1 + 3 * 2 ** -11), 0x3c02);
  assert.equal(toHalf(1e6), 0x7c00);
  assert.ok(Number.isNaN(fromHalf(toHalf(NaN))));
  for (let h = 0; h < 0x7c00; h += 7) assert.equal(toHalf(fromHalf(h)), h, `bits ${h} survive a round trip`);
  const rng = new Rng(3);
  for (let i = 0; i < 2000; i++) {
    const x = rng.normal() * 10;
    const ulp = 2 ** (Math.floor(Math.log2(Math.abs(x))) - 10);
    assert.ok(Math.abs(fromHalf(toHalf(x)) - x) <= ulp / 2 + 1e-12, `${x}`);
  }
});

test("a matrix stored as f32, f16 or i8 reads back as float32 within the type's error", () => {
  const rows = 7;
  const cols = 5;
  const data = randomTable(rows, cols, 1);
  data.fill(0, 10, 15); // an all-zero row
  for (const dtype of ["f32", "f16", "i8"] as const) {
    const tensors = encodeMatrix("m", data, rows, cols, dtype);
    const file = decodeSafetensors(concat(encodeSafetensors(tensors, {})), "x");
    assert.equal(file.tensors.get("m.weight")!.dtype, dtype.toUpperCase());
    const back = decodeMatrix(file.tensors, "m", bad);
    assert.ok(back.data instanceof Float32Array);
    assert.deepEqual(back.shape, [rows, cols]);
    for (let r = 0; r < rows; r++) {
      const max = Math.max(...data.subarray(r * cols, (r + 1) * cols).map(Math.abs));
      const tol = dtype === "f32" ? 0 : dtype === "f16" ? max * 2 ** -11 : max / 254 + 1e-7;
      for (let k = 0; k < cols; k++) {
        const i = r * cols + k;
        assert.ok(Math.abs(back.data[i]! - data[i]!) <= tol, `${dtype} [${r},${k}]: ${back.data[i]} vs ${data[i]}`);
      }
    }
  }
  assert.throws(() => encodeMatrix("m", new Float32Array([1e5, 0]), 1, 2, "f16"), /do not fit in f16/);
  assert.throws(() => encodeMatrix("m", new Float32Array([NaN, 0]), 1, 2, "i8"), /not finite/);
  const i8 = encodeMatrix("m", data, rows, cols, "i8");
  delete i8["m.scale"];
  assert.throws(() => decodeMatrix(decodeSafetensors(concat(encodeSafetensors(i8, {})), "x").tensors, "m", bad), /needs m\.scale/);
});

test("word lists with aliases round trip; an alias row outside the matrix is refused", () => {
  const t = encodeWords("v", ["a", "b"], { keys: ["c", "d"], rows: new Int32Array([1, 0]) });
  const back = decodeWords(decodeSafetensors(concat(encodeSafetensors(t, {})), "x").tensors, "v", 2, bad);
  assert.deepEqual(back.words, ["a", "b"]);
  assert.deepEqual(back.aliases!.keys, ["c", "d"]);
  assert.deepEqual([...back.aliases!.rows], [1, 0]);
  assert.throws(() => decodeWords(decodeSafetensors(concat(encodeSafetensors(t, {})), "x").tensors, "v", 1, bad), /key_rows\[0\] = 1 is not a row/);
});

/** Brute force: the kept row of highest cosine similarity. */
function nearestByHand(data: Float32Array, dim: number, row: number, kept: number[]): number {
  const cos = (a: number, b: number): number => {
    let ab = 0, aa = 0, bb = 0;
    for (let k = 0; k < dim; k++) {
      ab += data[a * dim + k]! * data[b * dim + k]!;
      aa += data[a * dim + k]! ** 2;
      bb += data[b * dim + k]! ** 2;
    }
    return ab / Math.sqrt(aa * bb);
  };
  let best = 0;
  kept.forEach((k, i) => {
    if (cos(row, k) > cos(row, kept[best]!)) best = i;
  });
  return best;
}

test("pruning keeps the chosen rows exactly and points every dropped word at its nearest kept row (reference and WASM kernels)", async () => {
  const n = 600; // more than one block of dropped rows
  const dim = 8;
  const data = randomTable(n, dim, 5);
  const words = Array.from({ length: n }, (_, i) => `w${i}`);
  const keep = frequentRowsMask(n, 20, [100, 599]);
  const kept = [...Array(20).keys(), 100, 599];
  for (const kernels of [referenceKernels, await getKernels("wasm", { threads: 1 })]) {
    const p = pruneRows({ words, dim, data }, keep, kernels);
    assert.deepEqual(p.words, kept.map((r) => `w${r}`));
    assert.deepEqual([...p.keptRows], kept);
    kept.forEach((r, i) => assert.deepEqual(p.data.subarray(i * dim, (i + 1) * dim), data.subarray(r * dim, (r + 1) * dim)));
    assert.equal(p.aliases.keys.length, n - kept.length);
    p.aliases.keys.forEach((k, i) => {
      const row = Number(k.slice(1));
      assert.equal(p.aliases.rows[i], nearestByHand(data, dim, row, kept), `${kernels.name}: ${k}`);
    });
    // Pruning again carries the old aliases over to the new rows.
    const again = pruneRows(p, frequentRowsMask(p.words.length, 5, []), kernels);
    assert.equal(again.aliases.keys.length, n - 5);
    for (const [i, k] of again.aliases.keys.entries()) {
      assert.ok(again.aliases.rows[i]! >= 0 && again.aliases.rows[i]! < 5, k);
    }
  }
});

test("pruneVectors keeps every given word (as is or lowercased) beyond the N most frequent; bad N is refused", () => {
  const v = { words: ["the", "a", "of", "london", "paris", "zebra"], dim: 3, data: randomTable(6, 3, 2) };
  const p = pruneVectors(v, 2, ["London", "unknown"], referenceKernels);
  assert.deepEqual(p.words, ["the", "a", "london"]);
  assert.deepEqual(p.aliases.keys, ["of", "paris", "zebra"]);
  assert.throws(() => pruneVectors(v, 0, [], referenceKernels), /positive whole number/);
  assert.throws(() => pruneVectors(v, 7, [], referenceKernels), /only 6/);
});

function tinySaved(): { model: NerModel; saved: SavedModel } {
  const words = Array.from({ length: 50 }, (_, i) => `w${i}`);
  const model = NerModel.create(referenceKernels, {
    vectors: { words, dim: 6, data: randomTable(50, 6, 8) }, labels: CONLL_LABELS, scheme: "IOB2", hidden: 4,
    bidirectional: true, outputs: CONLL_LABELS.length + 1, trainableEmbeddings: false, seed: 3,
  });
  return { model, saved: model.toSaved({ preset: "test" }) };
}

test("a pruned model: kept and training words tag exactly as before, dropped words read their nearest kept row, UNK/PAD unchanged", () => {
  const { model, saved } = tinySaved();
  const train = ["W30", "w31", "w7", "nonsense"];
  const pruned = pruneModel(saved, 10, train, referenceKernels);
  assert.deepEqual(pruned.words, [...Array(10).keys(), 30, 31].map((i) => `w${i}`));
  const dim = 6;
  const n = pruned.words.length;
  assert.deepEqual(pruned.embedding.subarray(n * dim), saved.embedding.subarray(50 * dim), "UNK and PAD rows as trained");
  const small = NerModel.fromSaved(parseModel(concat(encodeModel({ ...pruned, embeddingDtype: "f32" })), "p"), referenceKernels, "p");
  const sentences = [["w1", "W30", "w31", "nonsense"], ["w9", "w0"]];
  assert.deepEqual(small.tag(sentences), model.tag(sentences));
  // A dropped word reads the vector of its nearest kept row, not UNK.
  const enc = small.encoder();
  const id = enc.lookup("w40");
  assert.ok(id >= 0 && id < n, `w40 reads a kept row, got ${id}`);
  const kept = [...Array(10).keys(), 30, 31];
  assert.equal(id, nearestByHand(saved.embedding, dim, 40, kept));
  assert.equal(enc.lookup("nonsense"), n, "an unknown word is still UNK");
});

test("model files: f32 without aliases stays format version 1 (old readers), f16/i8 and aliases write version 2; both load", () => {
  const { model, saved } = tinySaved();
  const meta = (s: SavedModel): Record<string, string> => decodeSafetensors(concat(encodeModel(s)), "m").metadata;
  assert.equal(meta(saved).format_version, "1");
  assert.equal(meta({ ...saved, embeddingDtype: "f16" }).format_version, "2");
  const pruned = pruneModel(saved, 10, [], referenceKernels);
  assert.equal(meta(pruned).format_version, "2");
  for (const dtype of ["f16", "i8"] as const) {
    const bytes = concat(encodeModel({ ...pruned, embeddingDtype: dtype }));
    const back = parseModel(bytes, "m");
    assert.equal(back.embeddingDtype, dtype);
    assert.equal(back.aliases!.keys.length, 40);
    assert.deepEqual(NerModel.fromSaved(back, referenceKernels, "m").tag([["w1", "w2", "w45"]])[0]!.length, 3);
  }
  const full = parseModel(concat(encodeModel(saved)), "m");
  assert.equal(full.aliases, undefined);
  assert.deepEqual(NerModel.fromSaved(full, referenceKernels, "m").tag([["w1", "w2"]]), model.tag([["w1", "w2"]]));
  // A version this reader does not know is refused with the reason.
  const chunks = encodeSafetensors({}, { format: "lstm-ner", format_version: "3" });
  assert.throws(() => parseModel(concat(chunks), "m"), /format version 3 is not supported/);
});

test("vectors files: a pruned table round trips, readVectors reads it, and a model file is not taken for one", async () => {
  const v = { words: ["the", "a", "of", "london"], dim: 3, data: randomTable(4, 3, 4) };
  const p = pruneVectors(v, 2, ["london"], referenceKernels);
  const file = path.join(dir, "v.safetensors");
  writeFileSync(file, concat(encodeVectorTable(p, "f32", { source: "test" })));
  const back = await readVectors(file, { cache: false });
  const named = await loadVectors(file, { cacheDir: path.join(dir, "cache") });
  assert.deepEqual(named.aliases!.keys, ["of"], "loadVectors keeps the key table too");
  assert.deepEqual(back.words, p.words);
  assert.deepEqual(back.data, p.data);
  assert.deepEqual(back.aliases!.keys, ["of"]);
  const model = path.join(dir, "m.safetensors");
  writeFileSync(model, concat(encodeModel(tinySaved().saved)));
  await assert.rejects(readVectors(model, { cache: false }), /this is a model file/);
  const truncated = path.join(dir, "t.safetensors");
  writeFileSync(truncated, readFileSync(file).subarray(0, 200));
  await assert.rejects(readVectors(truncated, { cache: false }), (e: Error) => e instanceof LstmNerError && e.message.includes(truncated));
  assert.throws(() => parseVectorTable(readFileSync(file).subarray(0, 200), "t"), LstmNerError);
});

const cli = (...args: string[]): CliRun => runCli(args, { home: path.join(dir, "home") });

test("CLI: vectors prune → train on the pruned file → export --prune --dtype with dev F1 before/after; bad values are one line", () => {
  const { trainFile, devFile, glove } = writeToyData(dir, 200, "g.txt");
  const vec = path.join(dir, "g.pruned");
  const vp = cli("vectors", "prune", glove, "--keep", "5", "--words", trainFile, "--dtype", "f16", "--out", vec);
  assert.equal(vp.code, 0, vp.stderr);
  assert.match(vp.stdout, /kept \d+ rows \(the 5 most frequent \+ the words of/);
  assert.ok(statSync(vec).size < statSync(glove).size);

  const model = path.join(dir, "m.safetensors");
  const tr = cli("train", "--train", trainFile, "--dev", devFile, "--embeddings", vec, "--epochs", "4", "--hidden", "16",
    "--batch-size", "8", "--lr", "0.02", "--out", model, "--overwrite", "--no-progress");
  assert.equal(tr.code, 0, tr.stderr);
  const f1 = Number(/dev F1 ([\d.]+);/.exec(tr.stderr)![1]);
  const trained = parseModel(readFileSync(model), model);
  assert.ok(trained.aliases && trained.aliases.keys.length > 0, "a model trained on pruned vectors keeps their key table");
  assert.ok(f1 > 70, `trained on pruned vectors: dev F1 ${f1}`);

  const small = path.join(dir, "small.safetensors");
  const ex = cli("export", "--model", model, "--prune", "3", "--dtype", "i8", "--out", small, "--dev", devFile);
  assert.equal(ex.code, 0, ex.stderr);
  const m = /dev F1 on .*: ([\d.]+) → ([\d.]+)/.exec(ex.stdout);
  assert.ok(m, ex.stdout);
  assert.equal(Number(m[1]), f1, "F1 before is the trained model's");
  assert.ok(Math.abs(Number(m[2]) - f1) <= 1, `F1 after ${m[2]} vs ${f1}`);
  const ev = cli("evaluate", "--model", small, "--data", devFile, "--json");
  assert.equal(ev.code, 0, ev.stderr);
  assert.equal((JSON.parse(ev.stdout) as { f1: number }).f1.toFixed(2), Number(m[2]).toFixed(2));

  const none = path.join(dir, "none.safetensors");
  for (const [args, msg] of [
    [["--prune", "0"], /--prune must be a positive number/],
    [["--prune", "100000"], /--prune 100000 is more than the model's \d+ words/],
    [["--dtype", "bf16"], /--dtype must be one of f32, f16, i8, got "bf16"/],
    [["--weights", "i8"], /--weights must be f32 or f16, got "i8"/],
  ] as const) {
    const r = cli("export", "--model", model, "--out", none, ...args);
    assert.equal(r.code, 1);
    assert.match(r.stderr, msg);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.ok(!existsSync(none));
  }
  const r = cli("vectors", "prune", glove, "--keep", "0", "--out", none);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /--keep must be a positive number/);
});

test("CLI: export --words and vectors prune --words read a Latin-1 CoNLL file with --encoding latin1 (refused in one line without it)", () => {
  const { trainFile, glove } = writeToyData(dir, 120, "g1.txt");
  const latin = path.join(dir, "latin1.txt");
  writeFileSync(latin, Buffer.concat([readFileSync(trainFile), Buffer.from("Caf\xe9 NNP I-NP B-LOC\n\n", "latin1")]));
  const model = path.join(dir, "l1.safetensors");
  assert.equal(cli("train", "--train", trainFile, "--embeddings", glove, "--epochs", "1", "--hidden", "8", "--no-report", "--no-progress", "--overwrite", "--out", model).code, 0);
  for (const args of [["vectors", "prune", glove, "--keep", "5", "--out", path.join(dir, "l1.vec")], ["export", "--model", model, "--prune", "3", "--out", path.join(dir, "l1.small")]]) {
    const refused = cli(...args, "--words", latin);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^lstm-ner: error: .*latin1\.txt:\d+: not valid UTF-8: .*read it with encoding latin1 if it is Latin-1\n$/);
    const read = cli(...args, "--words", latin, "--encoding", "latin1");
    assert.equal(read.code, 0, read.stderr);
  }
});

test("CLI: export and vectors prune refuse to write over the file they read (by ./ path or a symlink), which stays as it was", () => {
  const d = mkdtempSync(path.join(dir, "same-"));
  const { glove } = writeToyData(d, 20, "g.txt");
  const model = path.join(d, "m.safetensors");
  writeFileSync(model, concat(encodeModel(tinySaved().saved)));
  symlinkSync(model, path.join(d, "link.safetensors"));
  const modelBytes = readFileSync(model);
  const gloveBytes = readFileSync(glove);
  const one = (r: { code: number; stderr: string }, msg: RegExp): void => {
    assert.equal(r.code, 1);
    assert.match(r.stderr, msg);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  };
  for (const out of [path.join(d, ".", "m.safetensors"), path.join(d, "link.safetensors")]) {
    one(cli("export", "--model", model, "--out", out, "--dtype", "f16"), /^lstm-ner: error: .*: --out is the --model file, which would be overwritten; write to another file\n$/);
  }
  one(cli("vectors", "prune", glove, "--keep", "3", "--out", glove), /^lstm-ner: error: .*g\.txt: --out is the vectors file, which would be overwritten/);
  assert.deepEqual(readFileSync(model), modelBytes);
  assert.deepEqual(readFileSync(glove), gloveBytes);
  assert.deepEqual(readdirSync(d).filter((f) => f.includes(".tmp")), []);
});

test("compact storage: key rows as U16 below 65536 rows, I32 above; weights as F16 read back within half an ulp", () => {
  const small = encodeWords("v", ["a"], { keys: ["b"], rows: new Int32Array([0]) });
  assert.equal(small["v.key_rows"]!.dtype, "U16");
  const big = encodeWords("v", ["a"], { keys: ["b"], rows: new Int32Array([70000]) });
  assert.equal(big["v.key_rows"]!.dtype, "I32");
  assert.deepEqual([...decodeWords(decodeSafetensors(concat(encodeSafetensors(big, {})), "x").tensors, "v", 70001, bad).aliases!.rows], [70000]);

  const { model, saved } = tinySaved();
  const bytes = concat(encodeModel({ ...saved, paramsDtype: "f16" }));
  const file = decodeSafetensors(bytes, "m");
  assert.equal(file.metadata.format_version, "2");
  const back = parseModel(bytes, "m");
  assert.equal(back.paramsDtype, "f16");
  for (const [name, p] of Object.entries(saved.params)) {
    assert.equal(file.tensors.get(`param.${name}`)!.dtype, "F16");
    p.data.forEach((x, i) => assert.ok(Math.abs(back.params[name]!.data[i]! - x) <= Math.abs(x) * 2 ** -11 + 2 ** -25, `${name}[${i}]`));
  }
  assert.deepEqual(NerModel.fromSaved(back, referenceKernels, "m").tag([["w1", "w2", "w3"]]), model.tag([["w1", "w2", "w3"]]));
});

test("CLI: an export killed with -9 before its rename leaves a full-size temporary; the next export of that file removes it", async () => {
  const { file } = await toyModel();
  const out = path.join(mkdtempSync(path.join(tmpdir(), "lstm-ner-export-kill-")), "small.safetensors");
  const temps = (): string[] => readdirSync(path.dirname(out)).filter((n) => n.endsWith(".tmp"));
  const killed = runCli(["export", "--model", file, "--dtype", "f16", "--out", out], crashAt(out, "before-rename"));
  assert.equal(killed.code, -1, killed.stderr); // killed by the signal
  assert.equal(temps().length, 1);
  assert.ok(!existsSync(out));
  const size = statSync(path.join(path.dirname(out), temps()[0]!)).size;
  const again = runCli(["export", "--model", file, "--dtype", "f16", "--out", out]);
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(temps(), [], "the dead export's temporary is gone");
  assert.equal(statSync(out).size, size, "the temporary was the whole file");
});
