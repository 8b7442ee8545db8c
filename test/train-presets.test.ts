import { test } from "node:test";
import assert from "node:assert/strict";
import { PRESETS, applyOverrides, checkPreset, getPreset } from "../src/train/presets.js";
import { LstmNerError } from "../src/util/errors.js";

const refused = (re: RegExp) => (e: unknown): boolean => e instanceof LstmNerError && re.test(e.message);

test("the shipped presets pass their own check", () => {
  for (const p of Object.values(PRESETS)) assert.equal(checkPreset(structuredClone(p)).name, p.name);
});

test("best is accurate with the document memory, nothing else: the same run as --preset accurate --set feature.docMemory=true", () => {
  const best = getPreset("best");
  const same = applyOverrides(getPreset("accurate"), ["feature.docMemory=true"]);
  assert.equal(best.feature?.docMemory, true);
  assert.deepEqual({ ...best, name: "accurate", description: same.description }, same);
  assert.equal(getPreset("accurate").feature?.docMemory, undefined, "accurate's recorded recipe is unchanged");
});

test("--set overrides reach nested fields, parse JSON values, and can switch parts off", () => {
  const p = applyOverrides(getPreset("accurate"), ["optimizer=adam", "lr=0.001", "feature.inputDropout=0.25", "feature.chars=null", "batching=plain"]);
  assert.equal(p.optimizer, "adam");
  assert.equal(p.lr, 0.001);
  assert.equal(p.feature?.inputDropout, 0.25);
  assert.equal(p.feature?.chars, null);
  assert.equal(p.batching, "plain");
  assert.equal(applyOverrides(getPreset("accurate"), ["feature.layers=2"]).feature?.layers, 2);
  assert.equal(getPreset("accurate").optimizer, "sgd", "the preset itself is untouched");
  assert.equal(applyOverrides(getPreset("accurate"), ["feature=null"]).feature, null, "the classroom softmax model");
  const chars = applyOverrides(getPreset("seed"), ["extraOutputs=0", 'feature={"chars":{"dim":8,"filters":8,"window":3},"casingDim":0,"inputDropout":0,"outputDropout":0,"output":"softmax","trainScheme":"IOB2","constrained":false}']);
  assert.deepEqual(chars.feature?.chars, { dim: 8, filters: 8, window: 3 });
});

test("a field the architecture would ignore is refused, naming the field", () => {
  const accurate = getPreset("accurate");
  assert.throws(() => applyOverrides(accurate, ["bidirectional=false"]),
    (e: unknown) => e instanceof LstmNerError && /^--set bidirectional=false: bidirectional=false \(--unidirectional\) does not apply to the feature architecture/.test(e.message));
  assert.throws(() => checkPreset({ ...accurate, bidirectional: false }, "recipe"),
    (e: unknown) => e instanceof LstmNerError && /^recipe: bidirectional=false/.test(e.message));
  assert.throws(() => checkPreset({ ...accurate, extraOutputs: 1 }),
    (e: unknown) => e instanceof LstmNerError && /^preset accurate: extraOutputs=1 does not apply to the feature architecture.*set extraOutputs=0/.test(e.message));
  // The softmax architecture uses both.
  assert.equal(checkPreset({ ...getPreset("seed"), bidirectional: false, extraOutputs: 2 }).bidirectional, false);
});

test("a typo or a wrong kind of value is refused with the field named, never trained on", () => {
  const cases: [string, RegExp][] = [
    ["optimizer=foo", /--set optimizer=foo: optimizer must be one of adam, sgd, got "foo"/],
    ["batching=buckets", /batching must be one of plain, bucket/],
    ["lr=abc", /lr must be a number, got "abc"/],
    ["lr=0", /lr must be a number > 0, got 0/],
    ["hidden=2.5", /hidden must be a whole number ≥ 1, got 2.5/],
    ["epochs=0", /epochs must be a whole number ≥ 1/],
    ["trainableEmbeddings=yes", /trainableEmbeddings must be true or false, got "yes"/],
    ["feature.inputDropout=1", /feature\.inputDropout must be a number in \[0, 1\), got 1/],
    ["feature.output=crf2", /feature\.output must be one of crf, softmax/],
    ["feature.trainScheme=BILOU", /feature\.trainScheme must be one of IOB1, IOB2, BIOES/],
    ["feature.chars.window=-3", /feature\.chars\.window must be a whole number ≥ 1, got -3/],
    ["feature=5", /feature must be an object or null, got 5/],
    ['feature.chars={"dim":8}', /feature\.chars\.filters must be a whole number ≥ 1, got nothing/],
    ['feature.chars={"dim":8,"filters":8,"window":3,"size":2}', /unknown field feature\.chars\.size/],
    ["feature.docContext=1", /^--set feature\.docContext=1: feature\.docContext \(document context\) was removed: it did not improve dev F1/],
    ["feature.wordDropout=0.1", /feature\.wordDropout \(word dropout\) was removed/],
    ["feature.lockedDropout=true", /feature\.lockedDropout \(locked dropout\) was removed/],
    ["feature.sentenceRep=50", /feature\.sentenceRep \(the sentence representation\) was removed/],
    ["feature.gazetteer=true", /feature\.gazetteer \(the gazetteer\) was removed/],
    ["feature.layers=0", /feature\.layers must be a whole number ≥ 1, got 0/],
    ["feature.layers=1.5", /feature\.layers must be a whole number ≥ 1, got 1\.5/],
    ["averageLast=1.5", /averageLast must be a whole number ≥ 0, got 1\.5/],
    ["nosuch=1", /the preset has no field nosuch/],
    ["lr", /expected key=value/],
  ];
  for (const [o, re] of cases) assert.throws(() => applyOverrides(getPreset("accurate"), [o]), refused(re), o);
  assert.throws(() => checkPreset({ ...getPreset("seed"), optimizer: "rmsprop" as "adam" }), refused(/^preset seed: optimizer must be one of adam, sgd/));
});

test("--set cannot reach Object.prototype: __proto__, constructor and prototype are refused", () => {
  const cases = ["__proto__.toString=1", '__proto__={"polluted":true}', "constructor.prototype.polluted=1", "feature.__proto__.polluted=1",
    "feature.constructor=1", "prototype=1", "toString=1", "hasOwnProperty=1"];
  for (const o of cases) {
    assert.throws(() => applyOverrides(getPreset("accurate"), [o]), (err: unknown) => err instanceof LstmNerError && err.message.startsWith(`--set ${o}: `), o);
  }
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(String({}), "[object Object]", "Object.prototype.toString is untouched");
  // JSON values are checked too: an own "__proto__" key in an object value is an unknown field.
  assert.throws(() => applyOverrides(getPreset("accurate"), ['feature.chars={"dim":8,"filters":8,"window":3,"__proto__":{"x":1}}']), /unknown field feature\.chars\.__proto__/);
});
