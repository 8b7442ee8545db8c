import { test } from "node:test";
import assert from "node:assert/strict";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import { decodeBytes, decodeStream, validUtf8Prefix } from "../src/util/decode.js";
import { readText } from "../src/util/read-text.js";
import { readConll } from "../src/data/conll.js";
import { LstmNerError } from "../src/util/errors.js";
import { Rng } from "../src/util/random.js";

const SAMPLE = "Zürich B-LOC\n東京 B-LOC\n😀 O\n\nnaïve O\n";

async function collect(chunks: Uint8Array[], file = "in.txt", encoding: "utf8" | "latin1" = "utf8"): Promise<string> {
  let out = "";
  for await (const s of decodeStream(Readable.from(chunks), file, encoding)) out += s;
  return out;
}

test("valid UTF-8 decodes the same whole or split at every byte, BOM dropped", async () => {
  const bytes = Buffer.from("\uFEFF" + SAMPLE, "utf8");
  assert.equal(decodeBytes(bytes, "x"), SAMPLE);
  for (let cut = 0; cut <= bytes.length; cut++) {
    assert.equal(await collect([bytes.subarray(0, cut), bytes.subarray(cut)]), SAMPLE, `split at ${cut}`);
  }
  // One byte per chunk: every multi-byte character crosses chunks.
  assert.equal(await collect(Array.from(bytes, (b) => Uint8Array.of(b))), SAMPLE);
  // A BOM that is not at the start is text, not a marker.
  assert.equal(decodeBytes(Buffer.from("a\uFEFFb"), "x"), "a\uFEFFb");
});

test("an invalid byte is refused with file, line and byte offset, whole or streamed", async () => {
  const good = Buffer.from("one O\ntwo O\n", "utf8");
  const bad = Buffer.concat([good, Buffer.from("caf"), Uint8Array.of(0xe9), Buffer.from(" O\n")]); // Latin-1 é
  const offset = good.length + 3;
  const expected = (e: unknown): boolean => {
    assert.ok(e instanceof LstmNerError);
    assert.equal(e.file, "data/train.txt");
    assert.equal(e.line, 3);
    assert.match(e.message, new RegExp(`^data/train\\.txt:3: not valid UTF-8: byte 0xe9 at byte offset ${offset};`));
    return true;
  };
  assert.throws(() => decodeBytes(bad, "data/train.txt"), expected);
  for (let cut = 1; cut < bad.length; cut++) {
    await assert.rejects(collect([bad.subarray(0, cut), bad.subarray(cut)], "data/train.txt"), expected, `split at ${cut}`);
  }
});

test("a NUL byte (binary data, UTF-16 without a BOM) is refused with file, line and byte offset, in UTF-8 and Latin-1, whole or streamed", async () => {
  const utf16 = Buffer.from("one O\ntwo O\n", "utf16le"); // valid UTF-8 and Latin-1 byte for byte: "o\0n\0e\0..."
  const bad = Buffer.concat([Buffer.from("first O\nsecond O\n"), utf16]);
  const offset = bad.indexOf(0);
  for (const encoding of ["utf8", "latin1"] as const) {
    const expected = (e: unknown): boolean => {
      assert.ok(e instanceof LstmNerError);
      assert.equal(e.line, 3);
      assert.equal(e.message, `u.txt:3: a NUL byte at byte offset ${offset}: this is not a text file (or it is UTF-16; convert it to UTF-8)`);
      return true;
    };
    assert.throws(() => decodeBytes(bad, "u.txt", encoding), expected);
    for (let cut = 1; cut < bad.length; cut += 3) {
      await assert.rejects(collect([bad.subarray(0, cut), bad.subarray(cut)], "u.txt", encoding), expected, `${encoding}, split at ${cut}`);
    }
  }
  const file = path.join(await fs.mkdtemp(path.join(os.tmpdir(), "lstm-ner-nul-")), "nul.conll");
  await fs.writeFile(file, Buffer.from("EU B-ORG\nrejects O\x00\n"));
  await assert.rejects(readConll(file), (e: Error) => e instanceof LstmNerError && e.message === `${file}:2: a NUL byte at byte offset 18: this is not a text file (or it is UTF-16; convert it to UTF-8)`);
});

test("input that ends inside a character is refused at its offset", async () => {
  const bytes = Buffer.concat([Buffer.from("a\nb "), Buffer.from("😀").subarray(0, 3)]);
  assert.throws(() => decodeBytes(bytes, "f"), /f:2: not valid UTF-8: the input ends inside a character at byte offset 4;/);
  await assert.rejects(collect([bytes.subarray(0, 5), bytes.subarray(5)], "f"), /f:2: not valid UTF-8: the input ends inside a character at byte offset 4;/);
});

test("an invalid byte or sequence at the very end is named as such, not as a cut character", async () => {
  for (const tail of [[0xff], [0xe0, 0x80], [0xc3, 0x28]]) {
    const bytes = Buffer.concat([Buffer.from("ok\nab"), Uint8Array.from(tail)]);
    const msg = new RegExp(`f:2: not valid UTF-8: byte 0x${tail[0]!.toString(16)} at byte offset 5;`);
    assert.throws(() => decodeBytes(bytes, "f"), msg);
    await assert.rejects(collect([bytes.subarray(0, 6), bytes.subarray(6)], "f"), msg);
  }
});

test("validUtf8Prefix agrees with a fatal TextDecoder on random bytes (overlongs, surrogates, > U+10FFFF)", () => {
  const fatal = new TextDecoder("utf-8", { fatal: true });
  const rng = new Rng(5);
  const rnd = (): number => rng.next();
  const pieces = [[0xc0, 0x80], [0xe0, 0x80, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xf5, 0x80, 0x80, 0x80], [0xef, 0xbf, 0xbd], [0xf0, 0x9f, 0x98, 0x80], [0xc3, 0xa9], [0x41], [0x80], [0xff]];
  for (let trial = 0; trial < 3000; trial++) {
    const bytes: number[] = [];
    const n = Math.floor(rnd() * 6);
    for (let k = 0; k < n; k++) {
      if (rnd() < 0.5) bytes.push(...pieces[Math.floor(rnd() * pieces.length)]!);
      else bytes.push(Math.floor(rnd() * 256));
    }
    const buf = Uint8Array.from(bytes);
    const p = validUtf8Prefix(buf);
    let ok = true;
    try {
      fatal.decode(buf);
    } catch {
      ok = false;
    }
    assert.equal(p === buf.length, ok, `bytes ${bytes.map((b) => b.toString(16))}`);
    fatal.decode(buf.subarray(0, p)); // the prefix itself is valid
    if (p < buf.length) assert.throws(() => fatal.decode(buf.subarray(0, p + 4)));
  }
});

test("latin1 maps every byte (but NUL, see above) to the character with its code", async () => {
  const bytes = Uint8Array.from({ length: 255 }, (_, i) => i + 1);
  const expected = String.fromCharCode(...bytes);
  assert.equal(decodeBytes(bytes, "x", "latin1"), expected);
  assert.equal(await collect([bytes.subarray(0, 100), bytes.subarray(100)], "x", "latin1"), expected);
  assert.throws(() => decodeBytes(bytes, "x", "cp1252" as "latin1"), /unknown encoding "cp1252"/);
});

test("readConll and readText refuse a Latin-1 file (plain or .gz) unless asked for latin1", async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "lstm-ner-decode-"));
  const latin = Buffer.from("-DOCSTART- O\n\nEl O\nPaís B-LOC\n\nSão B-LOC\n", "latin1");
  const plainFile = path.join(dir, "esp.train");
  const gzFile = path.join(dir, "esp.train.gz");
  await fs.writeFile(plainFile, latin);
  await fs.writeFile(gzFile, gzipSync(latin));
  const offset = latin.indexOf(0xed); // í
  for (const f of [plainFile, gzFile]) {
    await assert.rejects(readConll(f), (e: unknown) => {
      assert.ok(e instanceof LstmNerError);
      assert.equal(e.message.split("\n").length, 1);
      assert.match(e.message, new RegExp(`^${f.replace(/[.\\/]/g, "\\$&")}:4: not valid UTF-8: byte 0xed at byte offset ${offset};`));
      return true;
    });
    const sentences = await readConll(f, { encoding: "latin1" });
    assert.deepEqual(sentences.map((s) => s.tokens), [["El", "País"], ["São"]]);
  }
  assert.equal(await readText(plainFile, { encoding: "latin1" }), latin.toString("latin1"));
});
