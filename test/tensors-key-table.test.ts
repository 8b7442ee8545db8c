import { test } from "node:test";
import assert from "node:assert/strict";
import { KeyTable } from "../src/tensors/key-table.js";
import { wordLookup } from "../src/embeddings/vocab.js";
import { decodeWords, encodeWords } from "../src/tensors/storage.js";
import { decodeSafetensors, encodeSafetensors } from "../src/tensors/safetensors.js";
import { LstmNerError } from "../src/util/errors.js";
import { Rng } from "../src/util/random.js";
import { concatBytes } from "./helpers.js";

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

test("a key table finds every key's row, and nothing else, like a Map of the same keys", () => {
  const rng = new Rng(7);
  const alphabet = ["a", "b", "é", "ß", "東", "京", "😀", "-", "'", "0"];
  const keys: string[] = [];
  for (let i = 0; i < 5000; i++) {
    let w = "";
    const len = 1 + Math.floor(rng.next() * 8);
    for (let j = 0; j < len; j++) w += alphabet[Math.floor(rng.next() * alphabet.length)]!;
    keys.push(w);
  }
  const rows = Int32Array.from(keys, (_, i) => (i * 7919) % 1000);
  const map = new Map<string, number>();
  keys.forEach((k, i) => map.has(k) || map.set(k, rows[i]!)); // a repeated key reads its first row
  const table = new KeyTable(bytes(keys.join("\n")), rows);
  assert.equal(table.size, keys.length);
  for (const k of map.keys()) assert.equal(table.get(k), map.get(k), k);
  // Near misses: prefixes, extensions, other case, a long word (past the scratch buffer), the empty string.
  for (const w of ["", "A", "ab".repeat(200), ...keys.slice(0, 300).flatMap((k) => [k + "a", k.slice(0, -1), k.toUpperCase()])]) {
    assert.equal(table.get(w), map.get(w), JSON.stringify(w));
  }
  assert.deepEqual(table.keys, keys, "the strings, made on demand, in order");
});

test("an empty key table and a one-key table; the empty key is a key", () => {
  const empty = new KeyTable(new Uint8Array(0), new Int32Array(0));
  assert.equal(empty.size, 0);
  assert.equal(empty.get("a"), undefined);
  assert.deepEqual(empty.keys, []);
  const one = KeyTable.fromKeys(["x"], Int32Array.of(3));
  assert.equal(one.get("x"), 3);
  assert.equal(one.get(""), undefined);
  const withEmpty = new KeyTable(bytes("a\n\nb"), Int32Array.of(1, 2, 3));
  assert.equal(withEmpty.size, 3);
  assert.equal(withEmpty.get(""), 2);
  assert.equal(withEmpty.get("b"), 3);
});

test("a file's aliases are read into a key table: words with their own row win, the bytes are written back as they were", () => {
  const t = encodeWords("v", ["paris", "london"], { keys: ["lyon", "paris", "leeds"], rows: Int32Array.of(0, 1, 1) });
  const back = decodeWords(decodeSafetensors(concatBytes(encodeSafetensors(t, {})), "x").tensors, "v", 4, (why) => new LstmNerError(why));
  assert.ok(back.aliases instanceof KeyTable);
  const lookup = wordLookup(back.words, back.aliases);
  assert.deepEqual(["paris", "london", "lyon", "leeds", "berlin"].map((w) => lookup.get(w)), [0, 1, 0, 1, undefined]);
  const again = encodeWords("v", back.words, back.aliases);
  assert.deepEqual(again["v.keys"]!.data, t["v.keys"]!.data);
  assert.deepEqual(again["v.key_rows"]!.data, t["v.key_rows"]!.data);
});

test("a key_rows tensor whose length is not the number of keys is refused", () => {
  const t = encodeWords("v", ["a"], { keys: ["b", "c"], rows: Int32Array.of(0, 0) });
  t["v.key_rows"] = { dtype: "I32", shape: [1], data: Int32Array.of(0) };
  assert.throws(() => decodeWords(decodeSafetensors(concatBytes(encodeSafetensors(t, {})), "x").tensors, "v", 3, (why) => new LstmNerError(why)),
    /v\.key_rows has 1 entries for 2 keys/);
});
