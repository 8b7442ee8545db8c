import { test } from "node:test";
import assert from "node:assert/strict";
import { referenceKernels as k } from "../src/engine/reference.js";
import { Rng } from "../src/util/random.js";
import { LstmNerError } from "../src/util/errors.js";
import { Crf, allowedTransitions, isAllowedPath, type AllowedTransitions } from "../src/nn/crf.js";
import { assertGradClose, numericGrad, randomArray, zeroGrads } from "./nn-helpers.js";

/** Every tag path of length L over K tags. */
function* paths(K: number, L: number): Generator<number[]> {
  const p = new Array<number>(L).fill(0);
  for (;;) {
    yield p.slice();
    let i = L - 1;
    while (i >= 0 && p[i] === K - 1) p[i--] = 0;
    if (i < 0) return;
    p[i]!++;
  }
}

/** s(y) of sentence b written out directly from the definition; −∞ for a forbidden path. */
function pathScore(crf: Crf, em: Float32Array, B: number, b: number, y: number[]): number {
  const K = crf.numTags;
  const a = crf.allowed;
  if (a !== null && !isAllowedPath(a, y)) return -Infinity;
  let s = crf.start.value[y[0]!]! + crf.end.value[y[y.length - 1]!]!;
  for (let t = 0; t < y.length; t++) s += em[(t * B + b) * K + y[t]!]!;
  for (let t = 1; t < y.length; t++) s += crf.transitions.value[y[t - 1]! * K + y[t]!]!;
  return s;
}

function bruteLogZ(crf: Crf, em: Float32Array, B: number, b: number, L: number): number {
  let z = 0;
  for (const y of paths(crf.numTags, L)) z += Math.exp(pathScore(crf, em, B, b, y));
  return Math.log(z);
}

function bruteBest(crf: Crf, em: Float32Array, B: number, b: number, L: number): number[] {
  let best: number[] = [];
  let bestScore = -Infinity;
  for (const y of paths(crf.numTags, L)) {
    const s = pathScore(crf, em, B, b, y);
    if (s > bestScore) { bestScore = s; best = y; }
  }
  return best;
}

const IOB2 = ["O", "B-A", "I-A", "B-B", "I-B"];
const BIOES = ["O", "B-A", "I-A", "E-A", "S-A", "B-B", "I-B", "E-B", "S-B"];

/** A random gold path that the constraints allow (rejection sampling). */
function allowedPath(rng: Rng, K: number, L: number, allowed: AllowedTransitions | null): number[] {
  for (;;) {
    const y = Array.from({ length: L }, () => rng.int(K));
    if (allowed === null || isAllowedPath(allowed, y)) return y;
  }
}

function setup(seed: number, labels: readonly string[], lengths: number[], constrained: boolean) {
  const rng = new Rng(seed);
  const K = labels.length;
  const allowed = constrained ? allowedTransitions(labels, "IOB2") : null;
  const crf = new Crf(k, K, rng, "crf", { allowed });
  for (const p of crf.params()) rng.fillUniform(p.value, -1, 1); // bigger than the init, so the check is not trivial
  const B = lengths.length;
  const T = Math.max(...lengths);
  const em = randomArray(rng, T * B * K, 2);
  const labelIds = new Int32Array(T * B).fill(-1);
  lengths.forEach((L, b) => allowedPath(rng, K, L, allowed).forEach((y, t) => { labelIds[t * B + b] = y; }));
  return { crf, em, labels: labelIds, T, B, lengths: Int32Array.from(lengths) };
}

for (const constrained of [false, true]) {
  const tag = constrained ? "with IOB2 constraints" : "unconstrained";

  test(`CRF log Z and loss match brute-force enumeration of all paths (${tag}, ragged lengths)`, () => {
    const { crf, em, labels, T, B, lengths } = setup(1, IOB2, [4, 1, 3, 0], constrained);
    const logZ = crf.logPartition(em, T, B, lengths);
    let expected = 0;
    for (let b = 0; b < B; b++) {
      const L = lengths[b]!;
      if (L === 0) { assert.equal(logZ[b], 0); continue; }
      const z = bruteLogZ(crf, em, B, b, L);
      assert.ok(Math.abs(logZ[b]! - z) < 1e-9 * (1 + Math.abs(z)), `sentence ${b}: ${logZ[b]} vs ${z}`);
      const gold = Array.from({ length: L }, (_, t) => labels[t * B + b]!);
      expected += z - pathScore(crf, em, B, b, gold);
    }
    const { loss, count } = crf.forward(em, labels, T, B, lengths);
    assert.equal(count, 8);
    assert.ok(Math.abs(loss - expected / 3) < 1e-6, `${loss} vs ${expected / 3} (mean over the 3 non-empty sentences)`);
    const sum = new Crf(k, IOB2.length, new Rng(1), "crf", { allowed: crf.allowed, reduction: "sum" });
    for (const [i, p] of sum.params().entries()) p.value.set(crf.params()[i]!.value);
    assert.ok(Math.abs(sum.forward(em, labels, T, B, lengths).loss - expected) < 1e-5);
  });

  test(`CRF gradients w.r.t. emissions, transitions, start and end match finite differences (${tag})`, () => {
    const { crf, em, labels, T, B, lengths } = setup(2, IOB2, [4, 2, 3], constrained);
    zeroGrads(crf.params());
    crf.forward(em, labels, T, B, lengths);
    const dEm = crf.backward().slice();
    const loss = (): number => crf.forward(em, labels, T, B, lengths, false).loss;
    assertGradClose(dEm, numericGrad(loss, em, 1e-3), "CRF d(emissions)");
    for (let t = 0; t < T; t++) {
      for (let b = 0; b < B; b++) {
        if (t < lengths[b]!) continue;
        for (let j = 0; j < crf.numTags; j++) assert.equal(dEm[(t * B + b) * crf.numTags + j], 0, "pad rows get no gradient");
      }
    }
    for (const p of crf.params()) assertGradClose(p.grad.slice(), numericGrad(loss, p.value, 1e-3), `CRF ${p.name}`);
    if (constrained) {
      const a = crf.allowed!;
      for (let i = 0; i < a.transitions.length; i++) if (a.transitions[i] === 0) assert.equal(crf.transitions.grad[i], 0, "forbidden transition got a gradient");
      for (let j = 0; j < a.start.length; j++) if (a.start[j] === 0) assert.equal(crf.start.grad[j], 0, "forbidden start got a gradient");
    }
  });

  test(`CRF Viterbi finds the brute-force best path (${tag})`, () => {
    for (let seed = 10; seed < 30; seed++) {
      const { crf, em, T, B, lengths } = setup(seed, IOB2, [5, 1, 3, 0], constrained);
      const pred = crf.viterbi(em, T, B, lengths);
      for (let b = 0; b < B; b++) {
        const L = lengths[b]!;
        const got = Array.from({ length: T }, (_, t) => pred[t * B + b]!);
        const want = L === 0 ? [] : bruteBest(crf, em, B, b, L);
        assert.deepEqual(got, [...want, ...new Array<number>(T - L).fill(-1)], `seed ${seed}, sentence ${b}`);
      }
    }
  });
}

test("CRF gradient accumulates across calls and the 'mean' loss is the 'sum' loss over the sentence count", () => {
  const { crf, em, labels, T, B, lengths } = setup(3, IOB2, [3, 2], false);
  zeroGrads(crf.params());
  crf.forward(em, labels, T, B, lengths);
  const once = crf.transitions.grad.slice();
  crf.forward(em, labels, T, B, lengths);
  for (let i = 0; i < once.length; i++) assert.ok(Math.abs(crf.transitions.grad[i]! - 2 * once[i]!) < 1e-6);
});

test("CRF forward algorithm is stable for huge emissions: shifting one token's scores by a constant leaves the loss unchanged", () => {
  const { crf, em, labels, T, B, lengths } = setup(4, IOB2, [4, 3], true);
  const base = crf.forward(em, labels, T, B, lengths, false).loss;
  const shifted = em.slice();
  const K = crf.numTags;
  for (let j = 0; j < K; j++) { shifted[j]! += 5000; shifted[(2 * B + 1) * K + j]! -= 8000; }
  const loss = crf.forward(shifted, labels, T, B, lengths, false).loss;
  assert.ok(Number.isFinite(loss));
  assert.ok(Math.abs(loss - base) < 1e-2, `${loss} vs ${base}`);
  const z = crf.logPartition(shifted, T, B, lengths);
  assert.ok(Number.isFinite(z[0]!) && Number.isFinite(z[1]!));
});

test("allowedTransitions: IOB2, IOB1 and BIOES rules by hand", () => {
  const at = (a: AllowedTransitions, labels: readonly string[], from: string, to: string): number =>
    a.transitions[labels.indexOf(from) * labels.length + labels.indexOf(to)]!;
  const i2 = allowedTransitions(IOB2, "IOB2");
  assert.equal(at(i2, IOB2, "O", "I-A"), 0);
  assert.equal(at(i2, IOB2, "B-B", "I-A"), 0);
  assert.equal(at(i2, IOB2, "I-B", "I-A"), 0);
  assert.equal(at(i2, IOB2, "B-A", "I-A"), 1);
  assert.equal(at(i2, IOB2, "I-A", "I-A"), 1);
  assert.equal(at(i2, IOB2, "I-A", "B-B"), 1);
  assert.equal(at(i2, IOB2, "O", "B-A"), 1);
  assert.deepEqual([...i2.start], [1, 1, 0, 1, 0]);
  assert.deepEqual([...i2.end], [1, 1, 1, 1, 1]);

  const i1 = allowedTransitions(IOB2, "IOB1");
  assert.equal(at(i1, IOB2, "O", "B-A"), 0);
  assert.equal(at(i1, IOB2, "I-B", "B-A"), 0);
  assert.equal(at(i1, IOB2, "I-A", "B-A"), 1);
  assert.equal(at(i1, IOB2, "O", "I-A"), 1);
  assert.deepEqual([...i1.start], [1, 0, 1, 0, 1]);

  const bs = allowedTransitions(BIOES, "BIOES");
  assert.deepEqual([...bs.start], [1, 1, 0, 0, 1, 1, 0, 0, 1]);
  assert.deepEqual([...bs.end], [1, 0, 0, 1, 1, 0, 0, 1, 1]);
  const allowedAfter = (from: string): string[] => BIOES.filter((to) => at(bs, BIOES, from, to) === 1);
  const outside = ["O", "B-A", "S-A", "B-B", "S-B"];
  assert.deepEqual(allowedAfter("O"), outside);
  assert.deepEqual(allowedAfter("E-A"), outside);
  assert.deepEqual(allowedAfter("S-B"), outside);
  assert.deepEqual(allowedAfter("B-A"), ["I-A", "E-A"]);
  assert.deepEqual(allowedAfter("I-B"), ["I-B", "E-B"]);

  assert.throws(() => allowedTransitions(BIOES, "IOB2"), (e: unknown) => e instanceof LstmNerError && /labels\[3\].*'E-A'/.test(e.message));
  assert.throws(() => allowedTransitions(["O", "PER"], "IOB2"), /labels\[1\]/);
  assert.throws(() => new Crf(k, 4, new Rng(1), "crf", { allowed: i2 }), /for 5 labels, the CRF has 4/);
});

for (const [scheme, labels] of [["IOB2", IOB2], ["BIOES", BIOES], ["IOB1", IOB2]] as const) {
  test(`with ${scheme} constraints Viterbi never outputs an invalid sequence (random emissions and parameters, many trials)`, () => {
    const rng = new Rng(99);
    const K = labels.length;
    const allowed = allowedTransitions(labels, scheme);
    const crf = new Crf(k, K, rng, "crf", { allowed });
    const free = new Crf(k, K, rng, "crf");
    let freeInvalid = 0;
    for (let trial = 0; trial < 300; trial++) {
      for (const [i, p] of crf.params().entries()) {
        rng.fillUniform(p.value, -3, 3);
        free.params()[i]!.value.set(p.value);
      }
      const lengths = Int32Array.from({ length: 4 }, () => 1 + rng.int(8));
      const T = Math.max(...lengths);
      const em = randomArray(rng, T * 4 * K, 4);
      const pred = crf.viterbi(em, T, 4, lengths);
      const unconstrained = free.viterbi(em, T, 4, lengths);
      for (let b = 0; b < 4; b++) {
        const path = Array.from({ length: lengths[b]! }, (_, t) => pred[t * 4 + b]!);
        assert.ok(isAllowedPath(allowed, path), `trial ${trial}: ${path.map((y) => labels[y]).join(" ")}`);
        if (!isAllowedPath(allowed, Array.from({ length: lengths[b]! }, (_, t) => unconstrained[t * 4 + b]!))) freeInvalid++;
      }
    }
    // Without the constraints the same scores do produce invalid sequences: the test is not vacuous.
    assert.ok(freeInvalid > 100, `only ${freeInvalid} invalid unconstrained paths`);
  });
}

test("CRF rejects unlabelled real tokens, out-of-range labels, forbidden gold paths and bad lengths", () => {
  const { crf, em, labels, T, B, lengths } = setup(5, IOB2, [3, 2], true);
  const bad = labels.slice();
  bad[1 * B + 1] = -1;
  assert.throws(() => crf.forward(em, bad, T, B, lengths), (e: unknown) => e instanceof LstmNerError && /labels\[3\] = -1 \(sentence 1, token 1\)/.test(e.message));
  bad[1 * B + 1] = 7;
  assert.throws(() => crf.forward(em, bad, T, B, lengths), /outside 0\.\.4/);
  const forbidden = labels.slice();
  forbidden[0] = 2; // I-A first
  assert.throws(() => crf.forward(em, forbidden, T, B, lengths), /sentence 0 .* forbid/);
  assert.throws(() => crf.viterbi(em, T, B, Int32Array.from([3, 4])), /lengths\[1\] = 4 is outside 0\.\.3/);
  assert.throws(() => crf.viterbi(em.subarray(1), T, B, lengths), /CRF emissions/);
});
