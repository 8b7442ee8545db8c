import { test } from "node:test";
import assert from "node:assert/strict";
import { referenceKernels as k } from "../src/engine/reference.js";
import { Sgd, inverseTimeDecay } from "../src/nn/sgd.js";
import { Embedding } from "../src/nn/embedding.js";
import type { Param } from "../src/nn/param.js";

function param(name: string, values: number[], grads: number[]): Param {
  return { name, shape: [values.length], value: Float32Array.from(values), grad: Float32Array.from(grads) };
}

const close = (a: number, b: number, what: string): void => assert.ok(Math.abs(a - b) < 1e-6, `${what}: ${a} vs ${b}`);

test("SGD with momentum: two steps by hand (plain, Nesterov, weight decay, no momentum)", () => {
  // p = 1, g = 0.5 each step, lr 0.1, μ 0.9.
  // plain:    v = 0.5, p = 0.95;   v = 0.95, p = 0.855
  // Nesterov: v = 0.5, p = 1 − 0.1·(0.5 + 0.45) = 0.905;   v = 0.95, p = 0.905 − 0.1·(0.5 + 0.855) = 0.7695
  const cases: [string, ConstructorParameters<typeof Sgd>[1], number, number][] = [
    ["momentum", { lr: 0.1, momentum: 0.9 }, 0.95, 0.855],
    ["nesterov", { lr: 0.1, momentum: 0.9, nesterov: true }, 0.905, 0.7695],
    // wd 0.1: g = 0.6, v = 0.6, p = 0.94;  g = 0.5 + 0.094 = 0.594, v = 0.54 + 0.594 = 1.134, p = 0.94 − 0.1134 = 0.8266
    ["weight decay", { lr: 0.1, momentum: 0.9, weightDecay: 0.1 }, 0.94, 0.8266],
    ["plain SGD", { lr: 0.1, momentum: 0 }, 0.95, 0.9],
  ];
  for (const [what, opts, after1, after2] of cases) {
    const p = param("p", [1, -2], [0.5, 0]);
    const opt = new Sgd([p], opts);
    opt.step();
    close(p.value[0]!, after1, `${what} step 1`);
    opt.step(); // the gradient was not zeroed: still 0.5
    close(p.value[0]!, after2, `${what} step 2`);
    if (what !== "weight decay") assert.equal(p.value[1], -2, `${what}: zero gradient, no move`);
    opt.zeroGrad();
    assert.equal(p.grad[0], 0);
    assert.equal(opt.steps, 2);
  }
});

test("SGD learning-rate schedule: Ma & Hovy's lr0 / (1 + decay·epoch)", () => {
  const p = param("p", [1], [1]);
  const opt = new Sgd([p], { lr: 0.015, momentum: 0.9, schedule: inverseTimeDecay(0.05) });
  close(opt.setEpoch(0), 0.015, "epoch 0");
  close(opt.setEpoch(10), 0.015 / 1.5, "epoch 10");
  opt.step();
  close(p.value[0]!, 1 - 0.01, "step uses the scheduled rate");
  assert.throws(() => inverseTimeDecay(-1), /decay must be ≥ 0/);
  assert.throws(() => new Sgd([p], { momentum: 1 }), /momentum must be in \[0, 1\)/);
  assert.throws(() => new Sgd([p, p]), /two parameters are named "p"/);
});

test("SGD on a trainable embedding: only touched rows move (lazy momentum), zeroGrad clears them; state round-trips", () => {
  const table = Float32Array.from([1, 1, 2, 2, 3, 3]);
  const emb = new Embedding(k, table, 3, 2, { trainable: true });
  const w = emb.weight!;
  const opt = new Sgd(emb.params(), { lr: 0.1, momentum: 0.5 });
  emb.forward(Int32Array.from([0]));
  emb.backward(Float32Array.from([1, 2]));
  opt.step();
  opt.zeroGrad();
  assert.deepEqual(table, Float32Array.from([1 - 0.1, 1 - 0.2, 2, 2, 3, 3]));
  emb.forward(Int32Array.from([2]));
  emb.backward(Float32Array.from([1, 1]));
  const saved = opt.exportState();
  opt.step();
  // Row 0 is not touched this step: it does not keep moving on its old velocity.
  close(table[0]!, 0.9, "row 0 stays");
  close(table[4]!, 2.9, "row 2 moved");
  assert.deepEqual([...saved.rows["embedding.weight"]!], [0]);
  // Restoring the state into a fresh optimiser reproduces the step.
  const table2 = Float32Array.from([0.9, 0.8, 2, 2, 3, 3]);
  const emb2 = new Embedding(k, table2, 3, 2, { trainable: true });
  const opt2 = new Sgd(emb2.params(), { lr: 0.1, momentum: 0.5 });
  opt2.importState(saved);
  emb2.forward(Int32Array.from([2]));
  emb2.backward(Float32Array.from([1, 1]));
  opt2.step();
  assert.deepEqual([...table2], [...table]);
  assert.equal(opt2.steps, 2);
  assert.throws(() => opt2.importState({ ...saved, velocity: {} }), /no velocity for parameter "embedding.weight"/);
});
