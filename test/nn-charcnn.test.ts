import { test } from "node:test";
import assert from "node:assert/strict";
import { referenceKernels as k } from "../src/engine/reference.js";
import { Rng } from "../src/util/random.js";
import { LstmNerError } from "../src/util/errors.js";
import { CharCnn, type CharIds } from "../src/nn/charcnn.js";
import { assertGradClose, dot, numericGrad, randomArray, wasmKernels, zeroGrads } from "./nn-helpers.js";

/** Words as char-id arrays → a CharIds padded to `maxChars` with junk ids (which must be ignored). */
function charIds(words: number[][], maxChars: number, junk = 0): CharIds {
  const ids = new Int32Array(words.length * maxChars).fill(junk);
  words.forEach((w, i) => ids.set(w, i * maxChars));
  return { ids, lengths: Int32Array.from(words.map((w) => w.length)), maxChars };
}

const WORDS = [[1, 2, 3, 1], [4], [], [2, 2, 5, 0, 3], [5, 1]];

test("CharCnn: conv weight, bias and char-embedding gradients match finite differences (ragged words, an empty word)", () => {
  const rng = new Rng(1);
  const cnn = new CharCnn(k, 6, rng, "char", { dim: 3, filters: 4, window: 3 });
  const chars = charIds(WORDS, 6, 4);
  const r = randomArray(rng, WORDS.length * 4);
  const loss = (): number => dot(r, cnn.forward(chars, WORDS.length));
  zeroGrads(cnn.params());
  const out = cnn.forward(chars, WORDS.length).slice();
  cnn.backward(r);
  for (let f = 0; f < 4; f++) assert.equal(out[2 * 4 + f], 0, "an empty word has zero features");
  for (const p of cnn.params()) assertGradClose(p.grad.slice(), numericGrad(loss, p.value, 1e-3), `CharCnn ${p.name}`);
});

test("CharCnn with window 5 and a word shorter than the window: gradients still match", () => {
  const rng = new Rng(2);
  const cnn = new CharCnn(k, 6, rng, "c", { dim: 2, filters: 3, window: 5 });
  const words = [[1, 2], [3, 4, 5, 1, 2, 3], [0]];
  const chars = charIds(words, 7);
  const r = randomArray(rng, words.length * 3);
  zeroGrads(cnn.params());
  cnn.forward(chars, words.length);
  cnn.backward(r);
  const loss = (): number => dot(r, cnn.forward(chars, words.length));
  for (const p of cnn.params()) assertGradClose(p.grad.slice(), numericGrad(loss, p.value, 1e-3), `CharCnn(5) ${p.name}`);
});

test("CharCnn computes max over positions of the written-out convolution, independent of padding and batch", () => {
  const rng = new Rng(3);
  const D = 2, F = 3, W = 3;
  const cnn = new CharCnn(k, 6, rng, "char", { dim: D, filters: F, window: W });
  const out = cnn.forward(charIds(WORDS, 5), WORDS.length).slice();
  const e = cnn.emb.value, w = cnn.w.value, b = cnn.b.value;
  WORDS.forEach((word, i) => {
    for (let f = 0; f < F; f++) {
      let best = word.length === 0 ? 0 : -Infinity;
      for (let p = 0; p < word.length; p++) {
        let y = b[f]!;
        for (let o = 0; o < W; o++) {
          const q = p + o - 1;
          if (q < 0 || q >= word.length) continue;
          for (let d = 0; d < D; d++) y += e[word[q]! * D + d]! * w[(o * D + d) * F + f]!;
        }
        best = Math.max(best, y);
      }
      assert.ok(Math.abs(out[i * F + f]! - best) < 1e-5, `word ${i} filter ${f}: ${out[i * F + f]} vs ${best}`);
    }
  });
  // The same word alone, padded wider, gives the same features.
  const alone = cnn.forward(charIds([WORDS[3]!], 9, 5), 1);
  for (let f = 0; f < F; f++) assert.ok(Math.abs(alone[f]! - out[3 * F + f]!) < 1e-6);
});

test("CharCnn rejects bad char ids, lengths and options with clear errors", () => {
  const cnn = new CharCnn(k, 4, new Rng(4), "char", { dim: 2, filters: 2 });
  assert.throws(() => cnn.forward(charIds([[1, 4]], 3), 1), (e: unknown) => e instanceof LstmNerError && /chars.ids\[1\] = 4 \(word 0, char 1\) is outside the char vocabulary \(0..3\)/.test(e.message));
  assert.throws(() => cnn.forward({ ids: new Int32Array(4), lengths: Int32Array.from([3, 2]), maxChars: 2 }, 2), /chars.lengths\[0\] = 3 is outside 0..2/);
  assert.throws(() => cnn.forward({ ids: new Int32Array(3), lengths: Int32Array.from([1, 1]), maxChars: 2 }, 2), /chars.ids: expected at least 4/);
  // Junk past a word's length is never read, even if out of range.
  assert.doesNotThrow(() => cnn.forward(charIds([[1]], 3, 99), 1));
  assert.throws(() => new CharCnn(k, 4, new Rng(1), "c", { window: 2 }), /window must be odd/);
  assert.throws(() => new CharCnn(k, 0, new Rng(1)), /vocabSize must be a positive integer/);
});

test("CharCnn for tagging (keep false) works through the words in chunks and gives the same features bit for bit; no backward after it", async () => {
  const wasm = await wasmKernels();
  for (const kern of [k, ...(typeof wasm === "string" ? [] : [wasm])]) {
    const rng = new Rng(31);
    const cnn = new CharCnn(kern, 20, rng, "char", { dim: 5, filters: 4, window: 3 });
    // ~10k characters: three chunks of ≤ 4096, words of 0..17 chars.
    const words = Array.from({ length: 1200 }, () => Array.from({ length: rng.int(18) }, () => rng.int(20)));
    const chars = charIds(words, 17);
    const want = cnn.forward(chars, words.length).slice();
    const got = cnn.forward(chars, words.length, false);
    assert.equal(got.length, want.length);
    for (let i = 0; i < want.length; i++) assert.ok(Object.is(got[i], want[i]), `${kern.name}: feature ${i}: ${got[i]} vs ${want[i]}`);
    assert.throws(() => cnn.backward(new Float32Array(words.length * 4)), /backward called before forward/);
    cnn.dispose();
  }
});
