/**
 * `predict --workers N`, gzip and JSON-lines input (issue 13, part 1), with
 * real processes; and the ordering/memory bound of tagInOrder itself.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync, readFileSync } from "node:fs";
import { gzipSync, gunzipSync } from "node:zlib";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { CLI, parseGlove, toyModel, TOY_TEXT } from "./pipeline-helpers.js";
import { toyGlove } from "./toy-corpus.js";
import { tagInOrder } from "../src/predict/run.js";
import { defaultThreads, maxWorkers, readShared, TaggerPool, type GroupTagger } from "../src/predict/pool.js";
import { tagItems, type PredictItem, type TaggedGroup } from "../src/predict/items.js";
import { getKernels } from "../src/engine/index.js";
import { NerModel } from "../src/model/ner.js";
import { parseModel } from "../src/model/format.js";
import { decodeSafetensors } from "../src/tensors/safetensors.js";
import { saveNerModel } from "../src/model/file.js";
import { createNlp } from "../src/pipeline/nlp.js";
import { load } from "../src/pipeline/load.js";
import { CONLL_LABELS } from "../src/data/types.js";
import { runCli, type CliRun } from "./helpers.js";

const dir = mkdtempSync(path.join(tmpdir(), "lstm-ner-predict-workers-"));

const cli = (args: string[], input?: string): CliRun => runCli(args, { input, home: path.join(dir, "home") });

const NAMES = ["Anna", "John Smith", "Peter Jones", "Clinton", "Maria Garcia"];
const PLACES = ["Paris", "London", "Moscow", "New York", "Tokyo"];
const ORGS = ["Microsoft", "Reuters", "Ajax", "Red Cross"];
/** Varied lines (different lengths, so groups finish out of order on different threads). */
const line = (i: number): string => i % 7 === 0
  ? `${NAMES[i % 5]} lives in ${PLACES[i % 5]} and works for ${ORGS[i % 4]}. ${ORGS[(i + 1) % 4]} hired ${NAMES[(i + 2) % 5]} after talks in ${PLACES[(i + 3) % 5]}. it was a good year for ${NAMES[(i + 4) % 5]}.`
  : `${NAMES[i % 5]} said on monday that ${ORGS[i % 4]} will open in ${PLACES[(i + 1) % 5]} ${i}.`;

test("--workers 1, 2 and 3 give byte-identical output, in input order, over many groups", async () => {
  const { file } = await toyModel();
  const input = path.join(dir, "many.txt");
  const lines = Array.from({ length: 900 }, (_, i) => line(i));
  writeFileSync(input, lines.join("\n") + "\n");
  // The reference: the same groups tagged on this thread, with the library.
  const nlp = await load(file);
  for (const [format, counts] of [["jsonl", ["2", "3"]], ["conll", ["2"]]] as const) {
    const one = cli(["predict", "--model", file, "--input", input, "--format", format, "--workers", "1"]);
    assert.equal(one.code, 0, one.stderr);
    const here = Array.from({ length: Math.ceil(lines.length / 256) }, (_, g) =>
      tagItems(nlp, lines.slice(g * 256, (g + 1) * 256).map((text) => ({ kind: "text" as const, text })), format).out).join("");
    assert.ok(one.stdout === here, `--workers 1 --format ${format} differs from tagging in-process`);
    for (const w of counts) {
      const many = cli(["predict", "--model", file, "--input", input, "--format", format, "--workers", w]);
      assert.equal(many.code, 0, many.stderr);
      assert.equal(many.stderr, ""); // piped: no progress bar
      assert.ok(many.stdout === one.stdout, `--workers ${w} --format ${format} differs from --workers 1`);
    }
    if (format === "jsonl") assert.deepEqual(one.stdout.trimEnd().split("\n").map((l) => (JSON.parse(l) as { text: string }).text), lines);
  }
});

test("gzip in and out, JSON lines keeping the id, --text-field", async () => {
  const { file } = await toyModel();
  const recs = Array.from({ length: 700 }, (_, i) => ({ id: i % 2 ? `doc-${i}` : i, body: line(i), other: true }));
  const jsonl = recs.map((r) => JSON.stringify(r)).join("\n") + "\n";
  const gz = path.join(dir, "corpus.jsonl.gz");
  writeFileSync(gz, gzipSync(jsonl));
  const out = path.join(dir, "tagged.jsonl.gz");
  const r = cli(["predict", "--model", file, "--input", gz, "--text-field", "body", "--format", "jsonl", "--output", out]);
  assert.equal(r.code, 0, r.stderr);
  const docs = gunzipSync(readFileSync(out)).toString("utf8").trimEnd().split("\n").map((l) => JSON.parse(l) as { id: unknown; text: string; ents: { text: string; label: string }[] });
  assert.deepEqual(docs.map((d) => d.id), recs.map((x) => x.id));
  assert.deepEqual(docs.map((d) => d.text), recs.map((x) => x.body));
  assert.deepEqual(docs[3]!.ents.map((e) => `${e.text}/${e.label}`), ["Clinton/PER", "Red Cross/ORG", "Tokyo/LOC"]);
  // The same corpus uncompressed, from stdin, gives the same tagging; CoNLL output marks the id as a comment.
  const plain = cli(["predict", "--model", file, "--input-format", "jsonl", "--text-field", "body", "--format", "jsonl"], jsonl);
  assert.equal(plain.stdout, gunzipSync(readFileSync(out)).toString("utf8"));
  const conll = cli(["predict", "--model", file, "--input-format", "jsonl", "--text-field", "body"], jsonl.split("\n").slice(0, 2).join("\n"));
  assert.match(conll.stdout, /^# id = 0\nAnna B-PER\n[^]*\n\n# id = doc-1\n/);
});

test("bad JSON lines: one clear line naming the file, the line and the field", async () => {
  const { file } = await toyModel();
  const cases: [string, RegExp][] = [
    [`{"id":1,"text":"Anna"}\n{"id":2,"text":"Paris"\n`, /bad\.jsonl:2: not valid JSON/],
    [`{"id":1,"text":"Anna"}\n\n{"id":3}\n`, /bad\.jsonl:3: field "text" must be a string, got undefined/],
    [`{"id":1,"text":42}\n`, /bad\.jsonl:1: field "text" must be a string, got number/],
    [`["Anna"]\n`, /bad\.jsonl:1: expected a JSON object per line/],
    [`{"id":{"a":1},"text":"Anna"}\n`, /bad\.jsonl:1: field "id" must be a string or a number, got object/],
  ];
  for (const [k, [content, re]] of cases.entries()) {
    const f = path.join(dir, "bad.jsonl");
    writeFileSync(f, content);
    const r = cli(["predict", "--model", file, "--input", f, "--workers", k === 0 ? "2" : "1"]);
    assert.equal(r.code, 1, content);
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  }
  const w = cli(["predict", "--model", file, "--workers", "0", TOY_TEXT]);
  assert.equal(w.code, 1);
  assert.match(w.stderr, /--workers must be a positive integer, got 0/);
  // A mistyped count is refused before any thread starts (a million workers would only exhaust memory).
  const many = path.join(dir, "many.txt");
  writeFileSync(many, `${TOY_TEXT}\n`);
  const huge = cli(["predict", "--model", file, "--input", many, "--workers", "1000000"]);
  assert.equal(huge.code, 1);
  assert.equal(huge.stderr, `lstm-ner: error: --workers must be at most ${maxWorkers()} (4 per core), got 1000000\n`);
  assert.equal(huge.stdout, "");
  await assert.rejects(TaggerPool.start(file, { workers: maxWorkers() + 1, format: "conll" }), /workers must be at most \d+ \(4 per core\)/);
  const input = path.join(dir, "ok.txt");
  writeFileSync(input, `${TOY_TEXT}\n`);
  for (const [v, re] of [["0", /--threads must be 1 or 2, got 0/], ["two", /--threads must be an integer, got "two"/]] as const) {
    const t = cli(["predict", "--model", file, "--input", input, "--workers", "2", "--threads", v]);
    assert.equal(t.code, 1, v);
    assert.equal(t.stderr.trim().split("\n").length, 1, t.stderr);
    assert.match(t.stderr, re);
  }
});

test("on a terminal: a progress bar with docs/s, tokens/s and an ETA; none when stderr is piped", async (t) => {
  const script = "/usr/bin/script";
  const { file } = await toyModel();
  const input = path.join(dir, "bar.txt");
  writeFileSync(input, Array.from({ length: 3000 }, (_, i) => line(i)).join("\n"));
  const out = path.join(dir, "bar.conll");
  // util-linux `script` runs the command on a real pseudo-terminal and copies what it shows.
  const r = spawnSync(script, ["-qec", `"${process.execPath}" "${CLI}" predict --model "${file}" --input "${input}" --output "${out}" --workers 2`, "/dev/null"], { encoding: "utf8" });
  if (r.error) {
    t.skip(`${script} not available (${r.error.message})`);
    return;
  }
  assert.equal(r.status, 0, r.stdout);
  assert.match(r.stdout, /\d+ docs \| \d+ docs\/s \| \d+ tokens\/s \| ETA/);
  assert.match(r.stdout, /100%/);
  const piped = cli(["predict", "--model", file, "--input", input, "--output", out]);
  assert.equal(piped.stderr, "");
});

test("tagInOrder: output in input order however groups finish, never more than inFlight groups held", async () => {
  let held = 0;
  let maxHeld = 0;
  let calls = 0;
  const tagger: GroupTagger = {
    async tag(items: PredictItem[]): Promise<TaggedGroup> {
      held++;
      maxHeld = Math.max(maxHeld, held);
      const n = calls++;
      // Later groups often finish first.
      await new Promise((r) => setTimeout(r, (n * 7919) % 13));
      return { out: items.map((it) => (it.kind === "text" ? `${it.text}\n` : "")).join(""), docs: items.length, tokens: items.length };
    },
    async close() {},
  };
  let written = "";
  async function* items(): AsyncGenerator<PredictItem> {
    for (let i = 0; i < 5000; i++) yield { kind: "text", text: String(i) };
  }
  const totals = await tagInOrder(items(), tagger, async (s) => {
    written += s;
    held--;
  }, { groupSize: 10, inFlight: 4 });
  assert.equal(written, Array.from({ length: 5000 }, (_, i) => `${i}\n`).join(""));
  assert.equal(totals.docs, 5000);
  assert.equal(calls, 500);
  assert.ok(maxHeld <= 4 && maxHeld >= 2, `held at most ${maxHeld} groups`);
});

/**
 * A model file laid out as versions before tensors were ordered by width
 * wrote them: the word list first, each tensor right after the previous one
 * (no checksums, as the oldest files had none). With a word list of odd
 * length, every float32 tensor sits off 4-byte alignment.
 */
function writeOldLayout(from: string, to: string): void {
  const { tensors, metadata } = decodeSafetensors(new Uint8Array(readFileSync(from)), from);
  const order = [...tensors.keys()].sort((a, b) => Number(b === "vocab.words") - Number(a === "vocab.words"));
  const header: Record<string, unknown> = { __metadata__: metadata };
  const chunks: Uint8Array[] = [];
  let at = 0;
  for (const name of order) {
    const t = tensors.get(name)!;
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [at, at + bytes.length] };
    chunks.push(bytes.slice());
    at += bytes.length;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  writeFileSync(to, Buffer.concat([len, Buffer.from(json), ...chunks]));
}

test("worker threads share the model's word table: readShared aligns an older file whose tensors sit off 4-byte boundaries, and tagging is unchanged", async () => {
  // A word list whose "\n"-joined UTF-8 is 1 mod 4 bytes long.
  const base = parseGlove(toyGlove(12, 3));
  const joined = new TextEncoder().encode(base.words.join("\n")).length;
  const extra = "q".repeat(((1 - (joined + 1)) % 4 + 4) % 4 || 4); // plus its "\n"
  const vectors = { words: [...base.words, extra], dim: base.dim, data: new Float32Array([...base.data, ...new Float32Array(base.dim).fill(0.1)]) };
  const kernels = await getKernels("auto");
  const model = NerModel.create(kernels, {
    vectors, labels: CONLL_LABELS, scheme: "IOB2", hidden: 8, bidirectional: true, outputs: CONLL_LABELS.length + 1, trainableEmbeddings: false, seed: 5,
  });
  const current = path.join(dir, "current.safetensors");
  await saveNerModel(current, model, { preset: "test" });
  const file = path.join(dir, "misaligned.safetensors");
  writeOldLayout(current, file);
  const raw = readFileSync(file);
  const headerLen = Number(raw.readBigUInt64LE(0));
  const header = JSON.parse(raw.subarray(8, 8 + headerLen).toString("utf8")) as Record<string, { data_offsets: [number, number] }>;
  assert.notEqual((8 + headerLen + header["embedding.weight"]!.data_offsets[0]) % 4, 0, "the test file must be misaligned");

  const bytes = await readShared(file);
  assert.ok(bytes.buffer instanceof SharedArrayBuffer);
  assert.deepEqual(Buffer.from(bytes), raw);
  const saved = parseModel(bytes, file);
  // Views of the one shared copy, not copies of their own (what each worker would otherwise hold).
  assert.equal(saved.embedding.buffer, bytes.buffer);
  for (const [name, p] of Object.entries(saved.params)) assert.equal(p.data.buffer, bytes.buffer, name);

  const items: PredictItem[] = Array.from({ length: 300 }, (_, i) => ({ kind: "text", text: line(i) }));
  const here = tagItems(createNlp(NerModel.fromBytes(new Uint8Array(readFileSync(current)), kernels, current)), items, "jsonl");
  // The old and the current layout, as a path, shared bytes or bytes outside shared memory: all tag alike.
  for (const source of [bytes, file, current, new Uint8Array(raw)]) {
    const pool = await TaggerPool.start(source, { workers: 2, format: "jsonl" });
    try {
      const got = await Promise.all([pool.tag(items.slice(0, 150)), pool.tag(items.slice(150))]);
      assert.ok(got.map((g) => g.out).join("") === here.out, `pool on ${typeof source === "string" ? source : source.buffer instanceof SharedArrayBuffer ? "shared bytes" : "bytes"} differs`);
    } finally {
      await pool.close();
    }
  }
});

test("kernel threads per worker: the cores shared out (at most 2), bad values refused", async () => {
  assert.deepEqual([1, 2, 3].map((w) => defaultThreads(w, 2)), [2, 1, 1]);
  assert.deepEqual([1, 2, 4, 5, 8].map((w) => defaultThreads(w, 8)), [2, 2, 2, 1, 1]);
  assert.equal(defaultThreads(1, 1), 1);
  const { file } = await toyModel();
  await assert.rejects(TaggerPool.start(file, { workers: 1, format: "conll", threads: 3 }), /threads must be 1 or 2, got 3/);
  await assert.rejects(TaggerPool.start(path.join(dir, "missing.safetensors"), { workers: 1, format: "conll" }), /missing\.safetensors: cannot read model file \(ENOENT\)/);
});
