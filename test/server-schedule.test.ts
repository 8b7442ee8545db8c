import { test } from "node:test";
import assert from "node:assert/strict";
import { tokenize } from "../src/data/tokenize.js";
import { createNlp } from "../src/pipeline/nlp.js";
import { tokenBounds } from "../src/server/limits.js";
import { TagScheduler, type Outcome } from "../src/server/schedule.js";
import { Rng } from "../src/util/random.js";
import { toyModel, TOY_TEXT } from "./pipeline-helpers.js";

test("tokenBounds brackets the tokenizer's count, also for zero-width characters, emoji, URLs and punctuation runs", () => {
  const pieces = ["John", " ", "Smith's", ",", "\n\n", "U.S.", "https://a.example/x?y=1", "\u200B", "\u200D", "👩‍👩‍👧", "...", "--", "a-b", "3.5", "x@y.example",
    "\t", "\u00A0", "\u3000", "\uFEFF", "🙂", "é", "can't", "(", ")", "\u2060", "“", "Mr.", "J.", " ", " "];
  const rng = new Rng(3);
  for (let n = 0; n < 400; n++) {
    let text = "";
    const len = 1 + Math.floor(rng.next() * 30);
    for (let i = 0; i < len; i++) text += pieces[Math.floor(rng.next() * pieces.length)]!;
    const count = tokenize(text).length;
    const { lower, upper } = tokenBounds(text);
    assert.ok(lower <= count && count <= upper, `${JSON.stringify(text)}: ${lower} <= ${count} <= ${upper}`);
  }
  assert.deepEqual(tokenBounds(",".repeat(1000)), { lower: 1, upper: 1000 });
  assert.deepEqual(tokenBounds("a b  c\n"), { lower: 3, upper: 3 });
  assert.deepEqual(tokenBounds("\u200B \u200B"), { lower: 0, upper: 0 });
  // With a cap, the scan stops as soon as the lower bound is over it.
  assert.equal(tokenBounds("a ".repeat(100_000), 10).lower, 11);
});

/** A scheduler over the toy model, recording outcomes in finishing order. */
async function scheduler(maxTokens: number, batchTokens: number): Promise<{ s: TagScheduler; done: [number, Outcome][]; run(): number }> {
  const { model } = await toyModel();
  const done: [number, Outcome][] = [];
  const s = new TagScheduler(model, { maxTokens, batchTokens }, (id, o) => done.push([id, o]));
  return {
    s, done,
    run: () => {
      let steps = 0;
      while (s.step()) steps++;
      return steps + 1;
    },
  };
}

test("results equal nlp.batch's however requests are cut into passes, and a small request does not wait for a big one", async () => {
  const nlp = createNlp((await toyModel()).model);
  const big = Array.from({ length: 30 }, (_, i) => `${TOY_TEXT} Anna lives in Paris ${i}. ${"Reuters hired Peter Jones . ".repeat(i % 4)}`);
  const { s, done, run } = await scheduler(100_000, 48);
  s.submit(1, big, true);
  s.submit(2, ["Anna lives in Paris."], false);
  run();
  assert.deepEqual(done.map(([id]) => id), [2, 1], "the small request finished first");
  const [, o2] = done[0]!;
  const [, o1] = done[1]!;
  assert.ok("body" in o1 && "body" in o2);
  assert.equal(o1.body, JSON.stringify({ docs: nlp.batch(big) }));
  assert.equal(o2.body, JSON.stringify(nlp("Anna lives in Paris.")));
  assert.ok(s.stats.passes > 10, `cut into ${s.stats.passes} passes of at most 48 tokens`);
  assert.equal(s.stats.tokensTagged, JSON.parse(o1.body).docs.reduce((n: number, d: { tokens: unknown[] }) => n + d.tokens.length, 0) + 5);
});

test("a request over maxTokens is refused after a bounded amount of tokenising, however it is built", async () => {
  const { s, done, run } = await scheduler(1000, 256);
  // One "word" of 200,000 commas: a single whitespace-free run, 200,000 tokens.
  s.submit(1, [",".repeat(200_000)], false);
  const steps = run();
  assert.ok(steps <= 2, `refused after ${steps} units of 4096 characters, not after tokenising all`);
  assert.deepEqual(done, [[1, { status: 413, error: "too many tokens: more than 1000 (the limit per request is maxTokens=1000)" }]]);
  assert.equal(s.stats.tokensTagged, 0);
  // Near the limit but under it: counted, then tagged.
  s.submit(2, ["ab ".repeat(450), "cd ".repeat(450)], true);
  run();
  assert.equal(done[1]![1].status, 200);
  assert.equal(s.stats.tokensTagged, 900);
  // Over it across texts.
  s.submit(3, ["ab ".repeat(600), "cd ".repeat(600)], true);
  run();
  assert.equal(done[2]![1].status, 413);
  assert.equal(s.stats.refused, 2);
});

test("a cancelled request is dropped: no result, no more work", async () => {
  const { s, done, run } = await scheduler(100_000, 64);
  s.submit(1, [TOY_TEXT.repeat(200)], false);
  s.submit(2, [TOY_TEXT], false);
  s.step();
  s.cancel(1);
  s.cancel(99);
  run();
  assert.deepEqual(done.map(([id]) => id), [2]);
  assert.deepEqual([s.stats.cancelled, s.stats.tokensTagged], [1, 10]);
});

test("each network pass tells the model which sentences belong to one text (a document, for models with document context)", () => {
  const calls: { sentences: string[][]; docs: readonly number[] | undefined }[] = [];
  const model = {
    scheme: "IOB2",
    tagWithScores(sentences: readonly (readonly string[])[], _batch: number, docs?: readonly number[]) {
      calls.push({ sentences: sentences.map((s) => [...s]), docs });
      return { tags: sentences.map((s) => s.map(() => "O")), scores: sentences.map((s) => s.map(() => NaN)) };
    },
  };
  const s = new TagScheduler(model, { maxTokens: 1000, batchTokens: 1000 }, () => undefined);
  s.submit(1, ["Ann came. She left.", "Bob stayed."], true);
  s.submit(2, ["Cy went. Di too."], false);
  while (s.step());
  const docs = calls.flatMap((c) => [...c.docs!]);
  const sentences = calls.flatMap((c) => c.sentences.map((x) => x.join(" ")));
  assert.deepEqual([...sentences].sort(), ["Ann came .", "Bob stayed .", "Cy went .", "Di too .", "She left ."]);
  const doc = (x: string): number => docs[sentences.indexOf(x)]!;
  assert.equal(doc("Ann came ."), doc("She left ."));
  assert.equal(doc("Cy went ."), doc("Di too ."));
  assert.equal(new Set([doc("Ann came ."), doc("Bob stayed ."), doc("Cy went .")]).size, 3, "three texts, three documents");
});
