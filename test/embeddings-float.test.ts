import { test } from "node:test";
import assert from "node:assert/strict";
import { numberEnd, parseNumber } from "../src/embeddings/float.js";
import { Rng } from "../src/util/random.js";

const enc = new TextEncoder();

function parse(s: string): { value: number; end: number } {
  const value = parseNumber(enc.encode(s), 0, s.length);
  return { value, end: numberEnd };
}

test("parseNumber agrees exactly with parseFloat on GloVe-like values", () => {
  const rng = new Rng(7);
  for (let i = 0; i < 20000; i++) {
    const x = (rng.next() - 0.5) * 10 ** Math.floor(rng.next() * 8 - 5);
    for (const s of [x.toPrecision(1 + (i % 9)), x.toExponential(i % 7), String(Math.fround(x))]) {
      const { value, end } = parse(s);
      assert.equal(end, s.length, s);
      assert.ok(Object.is(value, parseFloat(s)), `${s}: ${value} vs ${parseFloat(s)}`);
    }
  }
});

test("parseNumber handles signs, bare dots, exponents and long mantissas", () => {
  const cases = ["-0", "+1.5", ".5", "5.", "-0.038194", "1e-05", "2.95153011", "3E+2", "0.12345678901234567890", "123456789012345678901234", "1e-30", "7e25", "000.000100"];
  for (const s of cases) {
    const { value, end } = parse(s);
    assert.equal(end, s.length, s);
    assert.ok(Object.is(value, parseFloat(s)), `${s}: ${value} vs ${parseFloat(s)}`);
  }
});

test("parseNumber reports where a number stops and NaN for non-numbers", () => {
  assert.ok(Number.isNaN(parse("abc").value));
  assert.equal(parse("abc").end, 0);
  assert.ok(Number.isNaN(parse("-").value));
  assert.ok(Number.isNaN(parse(".").value));
  // The caller sees the stop position and rejects what follows.
  assert.deepEqual(parse("1.2.3"), { value: 1.2, end: 3 });
  assert.deepEqual(parse("1e"), { value: 1, end: 1 });
  assert.deepEqual(parse("0.5abc"), { value: 0.5, end: 3 });
  const buf = enc.encode("x -2.5 y");
  assert.equal(parseNumber(buf, 2, buf.length), -2.5);
  assert.equal(numberEnd, 6);
});
