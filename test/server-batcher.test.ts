import { test } from "node:test";
import assert from "node:assert/strict";
import { Batcher } from "../src/server/batcher.js";

test("a big job is cut into passes and a later small job is served in the next pass", async () => {
  const passes: string[][] = [];
  const b = new Batcher<string>((texts) => {
    passes.push(texts);
    return texts.map((t) => t.toUpperCase());
  }, 3);
  const big = b.submit(["a", "b", "c", "d", "e", "f", "g"]);
  const small = b.submit(["x"]);
  assert.equal(b.pending, 8);
  assert.deepEqual(await small, ["X"]);
  assert.deepEqual(await big, ["A", "B", "C", "D", "E", "F", "G"]);
  assert.deepEqual(passes, [["a", "b", "c"], ["x", "d", "e"], ["f", "g"]]);
  assert.equal(b.pending, 0);
});

test("small jobs share a pass; a failing pass rejects only its jobs", async () => {
  let calls = 0;
  const b = new Batcher<number>((texts) => {
    calls++;
    if (texts.includes("boom")) throw new Error("tagging failed");
    return texts.map((t) => t.length);
  }, 4);
  const r = await Promise.all([b.submit(["a"]), b.submit(["bb", "ccc"]), b.submit([])]);
  assert.deepEqual(r, [[1], [2, 3], []]);
  assert.equal(calls, 1);
  const failing = b.submit(["boom"]);
  await assert.rejects(failing, /tagging failed/);
  assert.deepEqual(await b.submit(["dddd"]), [4]);
  assert.throws(() => new Batcher(() => [], 0), /maxBatch must be a positive integer/);
});
