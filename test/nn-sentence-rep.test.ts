import { test } from "node:test";
import assert from "node:assert/strict";
import { referenceKernels as k } from "../src/engine/reference.js";
import { Rng } from "../src/util/random.js";
import { LabelAttention, SentenceRep } from "../src/nn/sentence-rep.js";
import { assertGradClose, dot, numericGrad, randomArray } from "./nn-helpers.js";

const T = 5, B = 3, D = 4, L = 5;
/** Rows of 5, 3 and 0 real tokens: pads after row 1's third token and everywhere in row 2. */
const LENGTHS = Int32Array.from([5, 3, 0]);
const real = (i: number): boolean => Math.floor(i / B) < LENGTHS[i % B]!;

/** A label attention and word vectors with every real token at least `margin` away from a kink of relu/max (the first seed from `from` that is). */
function attentionSetup(from: number, margin = 0.05) {
  for (let seed = from; seed < from + 200; seed++) {
    const rng = new Rng(seed);
    const layer = new LabelAttention(k, D, L, rng, "sent");
    // Larger label vectors and conv weights than the initial ones, so several tokens' maxima are positive.
    layer.labels.value.set(randomArray(rng, L * D));
    layer.convW.value.set(randomArray(rng, L * L * 3, 0.8));
    layer.convB.value.set(randomArray(rng, L, 0.3));
    const e = randomArray(rng, T * B * D);
    layer.forward(e, T, B, LENGTHS, true);
    if (layer.kinkMargin() > margin) return { layer, e, rng, seed };
    layer.dispose();
  }
  throw new Error("no seed gives a margin");
}

test("LabelAttention: a is a softmax over each row's real tokens (0 at pads, 0 for an empty row); pads' word vectors change nothing", () => {
  const { layer, e } = attentionSetup(1);
  const a = layer.forward(e, T, B, LENGTHS, false).slice();
  for (let b = 0; b < B; b++) {
    let s = 0;
    for (let t = 0; t < T; t++) s += a[t * B + b]!;
    assert.ok(LENGTHS[b]! > 0 ? Math.abs(s - 1) < 1e-6 : s === 0, `row ${b} sums to ${s}`);
  }
  for (let i = 0; i < T * B; i++) if (!real(i)) assert.equal(a[i], 0);
  const e2 = e.slice();
  for (let i = 0; i < T * B; i++) if (!real(i)) e2.fill(7, i * D, (i + 1) * D);
  assert.deepEqual(layer.forward(e2, T, B, LENGTHS, false).slice(), a);
  // A real token with a zero word vector (the PAD row, say) has c = 0: finite weights, no gradient into it.
  const e3 = e.slice();
  e3.fill(0, 0, D);
  const a3 = layer.forward(e3, T, B, LENGTHS, true).slice();
  assert.ok(a3.every(Number.isFinite));
  const de = layer.backward(randomArray(new Rng(9), T * B));
  assert.ok(de.subarray(0, D).every((v) => v === 0));
  layer.dispose();
});

test("LabelAttention: dL/de, dL/dE, dL/dW, dL/db match finite differences (test point away from the relu/max kinks)", () => {
  const { layer, e, rng } = attentionSetup(1);
  const r = randomArray(rng, T * B);
  const loss = (): number => dot(r, layer.forward(e, T, B, LENGTHS, false));
  const a = layer.forward(e, T, B, LENGTHS, true);
  assert.ok(layer.kinkMargin() > 0.05);
  assert.ok(a.some((v, i) => real(i) && Math.abs(v - 1 / LENGTHS[i % B]!) > 1e-3), "the weights are not uniform");
  for (const p of layer.params()) p.grad.fill(0);
  const de = layer.backward(r).slice();
  assertGradClose(de, numericGrad(loss, e), "LabelAttention dL/de");
  for (let i = 0; i < T * B; i++) if (!real(i)) assert.ok(de.subarray(i * D, (i + 1) * D).every((v) => v === 0), `pad ${i} gets no gradient`);
  for (const p of layer.params()) assertGradClose(p.grad.slice(), numericGrad(loss, p.value), `LabelAttention ${p.name}`);
  layer.dispose();
});

test("LabelAttention: a tie in the max over labels sends the gradient to the first maximal label only, and dL/de still matches finite differences", () => {
  const { layer, e, rng } = attentionSetup(3);
  // Labels 0 and 1 made identical (their embeddings and their conv filters and biases): y_{t,0} = y_{t,1} at every token.
  const E = layer.labels.value, W = layer.convW.value, b = layer.convB.value;
  E.copyWithin(D, 0, D);
  W.copyWithin(L * 3, 0, L * 3); // output channel 1 := channel 0
  for (let o = 0; o < L; o++) for (let kk = 0; kk < 3; kk++) W[(o * L + 1) * 3 + kk] = W[(o * L + 0) * 3 + kk]!; // input channel 1 := channel 0
  b[1] = b[0]!;
  // Channel 0 (so also 1) the largest at every real token: a tie in the max everywhere.
  b[0] = b[1] = 3;
  layer.forward(e, T, B, LENGTHS, true);
  assert.equal(layer.kinkMargin(), 0, "every token's max is a tie");
  const r = randomArray(rng, T * B);
  for (const p of layer.params()) p.grad.fill(0);
  const de = layer.backward(r).slice();
  const dW = layer.convW.grad, db = layer.convB.grad;
  // (Σ_t du_t = 0 in a row, softmax being shift-invariant, so with label 0 the max everywhere db_0 is ~0 too: it says nothing here.)
  assert.equal(db[1], 0);
  assert.ok(dW.subarray(0, L * 3).some((v) => v !== 0) && dW.subarray(L * 3, 2 * L * 3).every((v) => v === 0), "only channel 0's filter learns");
  // Moving e keeps the two labels tied, so u (and the loss) stays smooth in e: the gradient is exact there.
  const loss = (): number => dot(r, layer.forward(e, T, B, LENGTHS, false));
  assertGradClose(de, numericGrad(loss, e), "LabelAttention dL/de with ties");
  layer.dispose();
});

/** A sentence representation over random inputs x (width 3) and word vectors e (width D), hidden 2, away from the kinks (the first seed from `from`). */
function repSetup(from: number, p = 0) {
  for (let seed = from; seed < from + 200; seed++) {
    const rng = new Rng(seed);
    const rep = new SentenceRep(k, 3, D, 2, L, rng, new Rng(seed + 100), p, "sent");
    rep.attention.labels.value.set(randomArray(rng, L * D));
    rep.attention.convW.value.set(randomArray(rng, L * L * 3, 0.8));
    rep.attention.convB.value.set(randomArray(rng, L, 0.3));
    const e = randomArray(rng, T * B * D);
    const x = randomArray(rng, T * B * 3);
    rep.forward(x, e, T, B, LENGTHS, { dropout: false, locked: false, keep: false });
    if (rep.attention.kinkMargin() > 0.05) return { rep, x, e, g: randomArray(rng, B * 4) };
    rep.dispose();
  }
  throw new Error("no seed gives a margin");
}

for (const [p, locked] of [[0, false], [0.4, false], [0.4, true]] as const) {
  test(`SentenceRep (dropout ${p}${locked ? ", locked" : ""}${p > 0 ? ", frozen mask" : ""}): dL/dx, dL/de and every parameter's gradient match finite differences; pads and empty rows give r = 0 contributions`, () => {
    const { rep, x, e, g } = repSetup(5, p);
    const o = { dropout: p > 0, locked, keep: true };
    rep.forward(x, e, T, B, LENGTHS, o); // draws the mask
    rep.dropout.frozen = true;
    const r = rep.forward(x, e, T, B, LENGTHS, o).slice();
    assert.ok(rep.attention.kinkMargin() > 0.05);
    assert.ok(r.subarray(2 * 4, 3 * 4).every((v) => v === 0), "the empty row's r is 0");
    assert.deepEqual(rep.params().map((q) => q.name), ["sent.lstm.fwd.w_ih", "sent.lstm.fwd.w_hh", "sent.lstm.fwd.b", "sent.lstm.bwd.w_ih",
      "sent.lstm.bwd.w_hh", "sent.lstm.bwd.b", "sent.labels", "sent.conv.w", "sent.conv.b"]);
    for (const q of rep.params()) q.grad.fill(0);
    const back = rep.backward(g, true);
    const dx = back.dx!.slice(), de = back.de.slice();
    const loss = (): number => dot(g, rep.forward(x, e, T, B, LENGTHS, { ...o, keep: false }));
    assertGradClose(dx, numericGrad(loss, x), "SentenceRep dL/dx");
    assertGradClose(de, numericGrad(loss, e), "SentenceRep dL/de");
    for (const q of rep.params()) assertGradClose(q.grad.slice(), numericGrad(loss, q.value), `SentenceRep ${q.name}`);
    if (p > 0) {
      rep.dropout.frozen = false;
      assert.notDeepEqual(rep.forward(x, e, T, B, LENGTHS, o).slice(), r, "a new mask each forward in training");
    }
    // Pads' inputs change nothing.
    const x2 = x.slice(), e2 = e.slice();
    for (let i = 0; i < T * B; i++) if (!real(i)) { x2.fill(5, i * 3, (i + 1) * 3); e2.fill(5, i * D, (i + 1) * D); }
    rep.dropout.frozen = true;
    assert.deepEqual(rep.forward(x2, e2, T, B, LENGTHS, o).slice(), rep.forward(x, e, T, B, LENGTHS, o).slice());
    rep.dispose();
  });
}
