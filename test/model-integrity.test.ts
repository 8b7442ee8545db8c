import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { crc32c, crcHex } from "../src/util/crc32c.js";
import { decodeSafetensors, encodeSafetensors, type Tensor } from "../src/tensors/safetensors.js";
import { parseModel } from "../src/model/format.js";
import { LstmNerError } from "../src/util/errors.js";
import { toyModel } from "./pipeline-helpers.js";
import { toyConll } from "./toy-corpus.js";
import { runCli, type CliRun } from "./helpers.js";

const dir = mkdtempSync(path.join(tmpdir(), "lstm-ner-integrity-"));
const devFile = path.join(dir, "dev.txt");
writeFileSync(devFile, toyConll(60, 2));

const concat = (chunks: Uint8Array[]): Buffer => Buffer.concat(chunks.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength)));

/** Byte offset in the file, and byte length, of a tensor's data. */
function tensorBytes(file: Buffer, name: string): { at: number; length: number } {
  const headerLen = Number(file.readBigUInt64LE(0));
  const header = JSON.parse(file.subarray(8, 8 + headerLen).toString("utf8")) as Record<string, { data_offsets: [number, number] }>;
  const [begin, end] = header[name]!.data_offsets;
  return { at: 8 + headerLen + begin, length: end - begin };
}

/** The same file as an older lstm-ner wrote it: no checksums. */
function withoutChecksum(file: Buffer, edit: (meta: Record<string, string>) => void = () => {}): Buffer {
  const f = decodeSafetensors(new Uint8Array(file.buffer, file.byteOffset, file.byteLength), "x");
  const tensors: Record<string, Tensor> = {};
  for (const [name, t] of f.tensors) tensors[name] = t;
  const meta = { ...f.metadata };
  edit(meta);
  return concat(encodeSafetensors(tensors, meta, { checksum: false }));
}

const cli = (...args: string[]): CliRun => runCli(args, { timeout: 60_000 });

/** `evaluate`, `serve` and `predict` all refuse the file with exactly one line matching `why`. */
function assertRefused(file: string, why: RegExp): void {
  for (const args of [["evaluate", "--model", file, "--data", devFile], ["serve", "--model", file, "--port", "0"], ["predict", "--model", file, "John lives in London"]]) {
    const r = cli(...args);
    assert.equal(r.code, 1, `${args[0]} must refuse ${path.basename(file)}: ${r.stderr}`);
    assert.equal(r.stderr.split("\n").filter((l) => l !== "").length, 1, `${args[0]}: one line: ${r.stderr}`);
    assert.match(r.stderr.trimEnd(), new RegExp(`^lstm-ner: error: ${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: ${why.source}`));
  }
}

test("CRC-32C: the standard check value, chunked and unaligned input give the same result", () => {
  const nine = new TextEncoder().encode("123456789");
  assert.equal(crc32c(nine), 0xe3069283);
  assert.equal(crc32c(new Uint8Array(0)), 0);
  const big = new Uint8Array(1000).map((_, i) => (i * 7919) & 0xff);
  const whole = crc32c(big);
  for (const cut of [1, 3, 8, 13, 500, 999]) assert.equal(crc32c(big.subarray(cut), crc32c(big.subarray(0, cut))), whole);
  const shifted = new Uint8Array(1003);
  shifted.set(big, 3);
  assert.equal(crc32c(shifted.subarray(3)), whole);
  assert.equal(crcHex(0xe3069283), "e3069283");
});

test("a saved model carries checksums; an intact file with or without them loads", async () => {
  const { file } = await toyModel();
  const bytes = readFileSync(file);
  const f = decodeSafetensors(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), file);
  assert.equal(f.checked, true);
  assert.ok(!("crc32c_header" in f.metadata), "checksum fields are not handed on as metadata");
  const old = path.join(dir, "old.safetensors");
  writeFileSync(old, withoutChecksum(bytes));
  assert.equal(decodeSafetensors(new Uint8Array(readFileSync(old)), old).checked, false);
  const a = cli("evaluate", "--model", file, "--data", devFile, "--json");
  const b = cli("evaluate", "--model", old, "--data", devFile, "--json");
  assert.equal(a.code, 0, a.stderr);
  assert.equal(b.code, 0, b.stderr);
  assert.equal(a.stdout, b.stdout);
});

test("one flipped exponent bit in a weight: refused by evaluate and serve, naming the tensor", async () => {
  const { file } = await toyModel();
  const bytes = readFileSync(file);
  const { at } = tensorBytes(bytes, "param.out.w");
  const flipped = Buffer.from(bytes);
  flipped[at + 3]! ^= 0x40; // float 0, bit 30: the top exponent bit
  assert.notEqual(flipped.readFloatLE(at), bytes.readFloatLE(at));
  assert.ok(Number.isFinite(flipped.readFloatLE(at)), "a finite value: only the checksum can notice");
  const damaged = path.join(dir, "flipped.safetensors");
  writeFileSync(damaged, flipped);
  assertRefused(damaged, /damaged model file: tensor param\.out\.w fails its CRC-32C check \(stored [0-9a-f]{8}, computed [0-9a-f]{8}\)$/);

  // Without the checksum the same damage goes unnoticed and scores differently: why the checksum is needed.
  const old = path.join(dir, "flipped-old.safetensors");
  const oldBytes = withoutChecksum(bytes);
  const o = tensorBytes(oldBytes, "param.out.w").at;
  const intactScore = cli("evaluate", "--model", file, "--data", devFile, "--json");
  oldBytes[o + 3]! ^= 0x40;
  writeFileSync(old, oldBytes);
  const silent = cli("evaluate", "--model", old, "--data", devFile, "--json");
  assert.equal(silent.code, 0);
  assert.notEqual(silent.stdout, intactScore.stdout);
});

test("a NaN in a bias: refused by its checksum, and by the finiteness check in a file without checksums", async () => {
  const { file } = await toyModel();
  const bytes = readFileSync(file);
  const nan = Buffer.from(bytes);
  nan.writeFloatLE(NaN, tensorBytes(nan, "param.out.b").at + 4 * 2);
  const damaged = path.join(dir, "nan.safetensors");
  writeFileSync(damaged, nan);
  assertRefused(damaged, /damaged model file: tensor param\.out\.b fails its CRC-32C check/);

  const old = withoutChecksum(bytes);
  old.writeFloatLE(NaN, tensorBytes(old, "param.out.b").at + 4 * 2);
  const oldFile = path.join(dir, "nan-old.safetensors");
  writeFileSync(oldFile, old);
  assertRefused(oldFile, /damaged model file: tensor param\.out\.b holds NaN at index 2$/);
  const inf = withoutChecksum(bytes);
  inf.writeFloatLE(-Infinity, tensorBytes(inf, "embedding.weight").at);
  assert.throws(() => parseModel(new Uint8Array(inf), "m"), /^LstmNerError: m: damaged model file: tensor embedding\.weight holds -Infinity at index 0$/);
});

test("an edited header fails the header checksum", async () => {
  const { file } = await toyModel();
  const bytes = Buffer.from(readFileSync(file));
  const i = bytes.indexOf('\\"hidden\\":16');
  assert.ok(i > 0);
  bytes.write('\\"hidden\\":17', i);
  const edited = path.join(dir, "edited.safetensors");
  writeFileSync(edited, bytes);
  assertRefused(edited, /damaged model file: the header fails its CRC-32C check/);
});

test("a flipped bit in the __metadata__ key (a file without checksums, as checkpoints are) is named as a damaged header entry", () => {
  const good = concat(encodeSafetensors({ w: { dtype: "F32", shape: [2], data: new Float32Array([1, 2]) } }, { format: "x" }, { checksum: false }));
  const at = good.indexOf("__metadata__");
  assert.ok(at > 0);
  const flipped = Buffer.from(good);
  flipped[at + 8] ^= 0x01; // "__metadata__" → "__metadaua__"
  assert.throws(() => decodeSafetensors(new Uint8Array(flipped), "ckpt"),
    (e: unknown) => e instanceof LstmNerError && /header entry "__metadaua__" is neither a tensor nor __metadata__ \(a damaged header\?\)/.test(e.message));
});

test("every header field is checked on load: one line naming the field", async () => {
  const { file } = await toyModel();
  const bytes = readFileSync(file);
  const load = (edit: (meta: Record<string, string>) => void): void => {
    const b = withoutChecksum(bytes, edit);
    parseModel(new Uint8Array(b.buffer, b.byteOffset, b.byteLength), "m.safetensors");
  };
  const config = (change: (c: Record<string, unknown>) => void) => (meta: Record<string, string>): void => {
    const c = JSON.parse(meta.config!) as Record<string, unknown>;
    change(c);
    meta.config = JSON.stringify(c);
  };
  const labels = (change: (l: string[]) => string[]) => (meta: Record<string, string>): void => {
    meta.labels = JSON.stringify(change(JSON.parse(meta.labels!) as string[]));
  };
  const cases: [string, (meta: Record<string, string>) => void, RegExp][] = [
    ["unknown tag scheme", (m) => { m.scheme = "IOBX"; }, /metadata field "scheme" must be one of IOB1, IOB2, BIOES, got "IOBX"/],
    ["label list shorter than the outputs", labels((l) => l.slice(0, -1)), /labels has 8 entries but config.outputs is 10 \(at most one extra output\)/],
    ["label list longer than the outputs", labels((l) => [...l, "B-DATE", "I-DATE"]), /labels has 11 entries but config.outputs is 10/],
    ["a label that is not a tag", labels((l) => l.map((x) => (x === "B-PER" ? "PERSON" : x))), /labels\[1\] "PERSON" is not a IOB2 tag/],
    ["a label of another scheme", labels((l) => l.map((x) => (x === "B-PER" ? "S-PER" : x))), /labels\[1\] "S-PER" is not a IOB2 tag/],
    ["a label twice", labels((l) => l.map((x) => (x === "I-PER" ? "B-PER" : x))), /labels\[2\] "B-PER" appears twice/],
    ["labels not a list", (m) => { m.labels = '"O"'; }, /labels must be a non-empty list of strings/],
    ["unknown architecture", config((c) => { c.arch = "transformer"; }), /config.arch must be one of softmax, feature, got "transformer"/],
    ["hidden as a string", config((c) => { c.hidden = "16"; }), /config.hidden must be a whole number ≥ 1, got "16"/],
    ["bidirectional as a number", config((c) => { c.bidirectional = 1; }), /config.bidirectional must be true or false, got 1/],
    ["outputs missing", config((c) => { delete c.outputs; }), /config.outputs must be a whole number ≥ 1, got nothing/],
    ["unknown data scheme", config((c) => { c.dataScheme = "XML"; }), /config.dataScheme must be one of IOB1, IOB2, BIOES/],
    ["feature arch without its spec", config((c) => { c.arch = "feature"; }), /config.tagger must be an object/],
    ["config not an object", (m) => { m.config = "[]"; }, /config must be a JSON object/],
    ["training not an object", (m) => { m.training = "3"; }, /metadata field "training" must be a JSON object/],
    ["config not JSON", (m) => { m.config = "{"; }, /metadata field "config" is missing or not JSON/],
  ];
  for (const [what, edit, why] of cases) {
    assert.throws(() => load(edit), (err: unknown) => err instanceof LstmNerError && err.message.startsWith("m.safetensors: ") && why.test(err.message), what);
  }
  // The CLI refuses such a file up front (it used to load, then predict failed as an internal error and serve answered 500).
  for (const [name, edit, why] of [
    ["scheme.safetensors", (m: Record<string, string>) => { m.scheme = "IOBX"; }, /not a valid lstm-ner model \(metadata field "scheme" must be one of IOB1, IOB2, BIOES, got "IOBX"\)$/],
    ["labels.safetensors", labels((l) => l.slice(0, -1)), /not a valid lstm-ner model \(labels has 8 entries but config.outputs is 10 \(at most one extra output\)\)$/],
  ] as const) {
    const f = path.join(dir, name);
    writeFileSync(f, withoutChecksum(bytes, edit));
    assertRefused(f, why);
  }
  // The classroom model's one extra output is by design; its recipe may record another count.
  load(() => {});
  assert.throws(() => load((m) => { m.training = JSON.stringify({ recipe: { extraOutputs: 0 } }); }), /config.outputs is 10 \(the recipe has 0 extra outputs\)/);
});
