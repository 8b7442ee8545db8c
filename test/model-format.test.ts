import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { gzipSync } from "node:zlib";
import * as path from "node:path";
import { referenceKernels } from "../src/engine/reference.js";
import { NerModel } from "../src/model/ner.js";
import { loadNerModel, saveNerModel } from "../src/model/file.js";
import { readAligned } from "../src/tensors/read-aligned.js";
import { decodeSafetensors, encodeSafetensors } from "../src/tensors/safetensors.js";
import { CONLL_LABELS } from "../src/data/types.js";
import { LstmNerError } from "../src/util/errors.js";
import { Rng } from "../src/util/random.js";
import { concatBytes as concat } from "./helpers.js";

const dir = mkdtempSync(path.join(tmpdir(), "lstm-ner-model-"));

function tinyModel(seed = 1): NerModel {
  const rng = new Rng(9);
  const words = ["the", "london", "john", "reuters"];
  const data = new Float32Array(words.length * 4).map(() => rng.uniform(-1, 1));
  return NerModel.create(referenceKernels, {
    vectors: { words, dim: 4, data }, labels: CONLL_LABELS, scheme: "IOB2", hidden: 3,
    bidirectional: true, outputs: CONLL_LABELS.length + 1, trainableEmbeddings: false, seed,
  });
}


test("safetensors: round trip of tensors and metadata; data starts 8-byte aligned", () => {
  const bytes = concat(encodeSafetensors({
    a: { dtype: "F32", shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) },
    b: { dtype: "I32", shape: [2], data: new Int32Array([-7, 9]) },
    c: { dtype: "U8", shape: [3], data: new Uint8Array([1, 2, 255]) },
  }, { k: "v" }));
  const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal((8 + headerLen) % 8, 0);
  const f = decodeSafetensors(bytes, "x");
  assert.deepEqual(f.metadata, { k: "v" });
  assert.deepEqual([...f.tensors.get("a")!.data], [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(f.tensors.get("a")!.shape, [2, 3]);
  assert.deepEqual([...f.tensors.get("b")!.data], [-7, 9]);
  assert.deepEqual([...f.tensors.get("c")!.data], [1, 2, 255]);
});

test("safetensors: tensors written in any order are each aligned to their element size, so loading views the file's bytes instead of copying", () => {
  const bytes = concat(encodeSafetensors({
    words: { dtype: "U8", shape: [5], data: new Uint8Array([1, 2, 3, 4, 5]) },
    half: { dtype: "U16", shape: [3], data: new Uint16Array([1, 2, 3]) },
    table: { dtype: "F32", shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) },
    q: { dtype: "I8", shape: [3], data: new Int8Array([-1, 0, 1]) },
    rows: { dtype: "I32", shape: [1], data: new Int32Array([7]) },
  }, {}));
  const f = decodeSafetensors(bytes, "x");
  for (const [name, t] of f.tensors) assert.equal(t.data.buffer, bytes.buffer, `${name} is a view of the file's bytes`);
  assert.deepEqual([...f.tensors.get("table")!.data], [1, 2, 3, 4]);
  assert.deepEqual([...f.tensors.get("half")!.data], [1, 2, 3]);
  assert.deepEqual([...f.tensors.get("q")!.data], [-1, 0, 1]);
});

test("a file with its float32 tensor after odd-length bytes (as older versions wrote models) is read so that the tensor is used in place, not copied", async () => {
  let json = JSON.stringify({ w: { dtype: "U8", shape: [3], data_offsets: [0, 3] }, t: { dtype: "F32", shape: [2], data_offsets: [3, 11] } });
  json += " ".repeat((8 - ((8 + json.length) % 8)) % 8);
  const head = new Uint8Array(8);
  new DataView(head.buffer).setBigUint64(0, BigInt(json.length), true);
  const file = path.join(dir, "unaligned.safetensors");
  writeFileSync(file, concat([head, new TextEncoder().encode(json), new Uint8Array([7, 8, 9]), new Uint8Array(new Float32Array([1.5, -2]).buffer)]));
  const plain = decodeSafetensors(new Uint8Array(readFileSync(file)), "x");
  assert.notEqual(plain.tensors.get("t")!.data.buffer, plain.tensors.get("w")!.data.buffer, "read plainly, the tensor is a copy");
  const bytes = await readAligned(file);
  assert.deepEqual([...bytes], [...readFileSync(file)]);
  const f = decodeSafetensors(bytes, "x");
  assert.equal(f.tensors.get("t")!.data.buffer, bytes.buffer);
  assert.deepEqual([...f.tensors.get("t")!.data], [1.5, -2]);
  assert.deepEqual([...f.tensors.get("w")!.data], [7, 8, 9]);
});

test("a saved model loads with identical weights, vocabulary, labels and predictions", async () => {
  const m = tinyModel();
  const file = path.join(dir, "m.safetensors");
  await saveNerModel(file, m, { preset: "test", seed: 1 });
  const back = await loadNerModel(file, referenceKernels);
  assert.deepEqual(back.labels, m.labels);
  assert.deepEqual(back.words, m.words);
  assert.deepEqual(back.config, m.config);
  assert.deepEqual(back.training, { preset: "test", seed: 1 });
  const a = m.snapshot();
  const b = back.snapshot();
  assert.deepEqual(Object.keys(b).sort(), Object.keys(a).sort());
  for (const k of Object.keys(a)) assert.deepEqual(b[k], a[k], k);
  const sents = [["John", "lives", "in", "London"], ["the", "Reuters"]];
  assert.deepEqual(back.tag(sents), m.tag(sents));
  // A differently seeded model really differs, so the comparison above means something.
  assert.notDeepEqual(tinyModel(2).snapshot(), a);
  assert.ok(!readdirSync(dir).some((f) => f.endsWith(".tmp")));
});

test("corrupt, truncated, foreign and wrong-version files are refused with the file named", async () => {
  const file = path.join(dir, "ok.safetensors");
  await saveNerModel(file, tinyModel(), {});
  const good = readFileSync(file);
  const check = async (name: string, bytes: Uint8Array, pattern: RegExp): Promise<void> => {
    const f = path.join(dir, name);
    writeFileSync(f, bytes);
    await assert.rejects(loadNerModel(f, referenceKernels), (err: unknown) => {
      assert.ok(err instanceof LstmNerError, String(err));
      assert.ok(err.message.startsWith(f + ": "), err.message);
      assert.match(err.message, pattern);
      return true;
    });
  };
  await check("empty.safetensors", new Uint8Array(0), /shorter than its 8-byte header/);
  await check("truncated.safetensors", good.subarray(0, good.length - 100), /outside the \d+ data bytes \(truncated file\?\)/);
  await check("garbage.safetensors", Buffer.from("\x10\x00\x00\x00\x00\x00\x00\x00{not json......}"), /header is not JSON/);
  await check("text.safetensors", Buffer.from("hello world, this is text"), /header length \d+ does not fit/);
  await check("gzipped.safetensors.gz", gzipSync(good), /: not a valid model file \(it is gzip-compressed: gunzip it first\)$/);
  const other = concat(encodeSafetensors({ w: { dtype: "F32", shape: [1], data: new Float32Array([1]) } }, { format: "pt" }));
  await check("foreign.safetensors", other, /metadata "format" is "pt", expected "lstm-ner"/);
  // A newer writer's file: intact (its checksums match), but a version this reader does not know.
  const parsed = decodeSafetensors(good, "ok");
  const v9 = concat(encodeSafetensors(Object.fromEntries(parsed.tensors), { ...parsed.metadata, format_version: "9" }));
  await check("v9.safetensors", v9, /format version 9 is not supported; this lstm-ner reads versions 1 to 2/);
});
