import { test } from "node:test";
import assert from "node:assert/strict";
import { buildEmbedding, tokenId, tokenIds } from "../src/embeddings/vocab.js";

const vectors = { words: ["the", "paris", "0000", "1990"], dim: 2, data: new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]) };

test("matrix = vector rows, then UNK = mean, then PAD = zeros", () => {
  const e = buildEmbedding(vectors);
  assert.equal(e.unkId, 4);
  assert.equal(e.padId, 5);
  assert.equal(e.size, 6);
  assert.equal(e.dim, 2);
  assert.deepEqual(Array.from(e.matrix), [1, 2, 3, 4, 5, 6, 7, 8, 4, 5, 0, 0]);
  assert.deepEqual([...e.vocab], [["the", 0], ["paris", 1], ["0000", 2], ["1990", 3]]);
});

test("tokens are lowercased; unknown tokens map to UNK", () => {
  const e = buildEmbedding(vectors);
  assert.equal(tokenId(e.vocab, "Paris", e.unkId), 1);
  assert.equal(tokenId(e.vocab, "THE", e.unkId), 0);
  assert.equal(tokenId(e.vocab, "Aarhus", e.unkId), e.unkId);
  assert.deepEqual(Array.from(tokenIds(e.vocab, ["The", "Paris", "x"], e.unkId)), [0, 1, 4]);
});

test("digit normalisation is a fallback, off by default", () => {
  const e = buildEmbedding(vectors);
  assert.equal(tokenId(e.vocab, "2024", e.unkId), e.unkId);
  assert.equal(tokenId(e.vocab, "2024", e.unkId, { normalizeDigits: true }), 2);
  // An exact entry wins over the normalised one.
  assert.equal(tokenId(e.vocab, "1990", e.unkId, { normalizeDigits: true }), 3);
});

test("inconsistent or empty vectors are rejected", () => {
  assert.throws(() => buildEmbedding({ words: [], dim: 2, data: new Float32Array(0) }), /zero word vectors/);
  assert.throws(() => buildEmbedding({ words: ["a"], dim: 2, data: new Float32Array(3) }), /expected 1 words × 2/);
});
