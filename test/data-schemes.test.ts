import { test } from "node:test";
import assert from "node:assert/strict";
import { chunks, chunksToTags, convert, detectScheme, entityTypes, labelsForScheme, toBioes, toIob1, toIob2 } from "../src/data/schemes.js";
import { CONLL_LABELS, type TagScheme } from "../src/data/types.js";
import { LstmNerError } from "../src/util/errors.js";

const t = (s: string): string[] => (s === "" ? [] : s.split(" "));

/** The same sentences written in each scheme, by hand. */
const CASES: { iob1: string; iob2: string; bioes: string }[] = [
  { iob1: "O I-PER I-PER O", iob2: "O B-PER I-PER O", bioes: "O B-PER E-PER O" },
  { iob1: "I-PER", iob2: "B-PER", bioes: "S-PER" },
  // Two adjacent chunks of the same type: the only place IOB1 writes B-.
  { iob1: "I-PER B-PER O", iob2: "B-PER B-PER O", bioes: "S-PER S-PER O" },
  { iob1: "I-PER I-PER B-PER I-PER", iob2: "B-PER I-PER B-PER I-PER", bioes: "B-PER E-PER B-PER E-PER" },
  // Adjacent chunks of different types need no B- in IOB1.
  { iob1: "I-ORG I-LOC I-LOC I-LOC", iob2: "B-ORG B-LOC I-LOC I-LOC", bioes: "S-ORG B-LOC I-LOC E-LOC" },
  { iob1: "O O", iob2: "O O", bioes: "O O" },
  { iob1: "", iob2: "", bioes: "" },
  { iob1: "I-MISC O I-WORK-OF-ART I-WORK-OF-ART", iob2: "B-MISC O B-WORK-OF-ART I-WORK-OF-ART", bioes: "S-MISC O B-WORK-OF-ART E-WORK-OF-ART" },
];

test("hand-made sequences convert between every pair of schemes", () => {
  for (const c of CASES) {
    const by: Record<TagScheme, string[]> = { IOB1: t(c.iob1), IOB2: t(c.iob2), BIOES: t(c.bioes) };
    for (const from of ["IOB1", "IOB2", "BIOES"] as const) {
      for (const to of ["IOB1", "IOB2", "BIOES"] as const) {
        assert.deepEqual(convert(by[from], from, to), by[to], `${from}→${to}: ${by[from].join(" ")}`);
      }
    }
    assert.deepEqual(toIob2(by.IOB1, "IOB1"), by.IOB2);
    assert.deepEqual(toBioes(by.IOB2, "IOB2"), by.BIOES);
    assert.deepEqual(toIob1(by.BIOES, "BIOES"), by.IOB1);
  }
});

test("chunks are read the same way from every scheme", () => {
  const expected = [
    { type: "ORG", start: 0, end: 1 },
    { type: "LOC", start: 1, end: 4 },
  ];
  assert.deepEqual(chunks(t("I-ORG I-LOC I-LOC I-LOC"), "IOB1"), expected);
  assert.deepEqual(chunks(t("B-ORG B-LOC I-LOC I-LOC"), "IOB2"), expected);
  assert.deepEqual(chunks(t("S-ORG B-LOC I-LOC E-LOC"), "BIOES"), expected);
  assert.deepEqual(chunksToTags(expected, 5, "BIOES"), t("S-ORG B-LOC I-LOC E-LOC O"));
});

test("stray I- tags in IOB2 start a chunk, as conlleval reads them", () => {
  assert.deepEqual(toIob2(t("O I-PER I-PER O"), "IOB2"), t("O B-PER I-PER O"));
  assert.deepEqual(toIob2(t("B-PER I-LOC I-LOC"), "IOB2"), t("B-PER B-LOC I-LOC"));
  assert.deepEqual(toIob2(t("I-PER"), "IOB2"), t("B-PER"));
  assert.deepEqual(toBioes(t("B-ORG I-ORG O I-ORG"), "IOB2"), t("B-ORG E-ORG O S-ORG"));
  assert.deepEqual(chunks(t("O I-PER B-PER I-LOC"), "IOB2"), [
    { type: "PER", start: 1, end: 2 },
    { type: "PER", start: 2, end: 3 },
    { type: "LOC", start: 3, end: 4 },
  ]);
});

test("loose BIOES (missing E-, stray E-) is read leniently", () => {
  assert.deepEqual(toIob2(t("B-PER I-PER O"), "BIOES"), t("B-PER I-PER O"));
  assert.deepEqual(toIob2(t("O E-PER E-PER"), "BIOES"), t("O B-PER B-PER"));
  assert.deepEqual(toIob2(t("S-PER I-PER"), "BIOES"), t("B-PER B-PER"));
});

test("tags outside the source scheme or malformed are errors naming the position", () => {
  assert.throws(() => toBioes(t("O S-PER"), "IOB2"), (e: unknown) => e instanceof LstmNerError && /tags\[1\].*'S-PER' is not valid in IOB2/.test(e.message));
  assert.throws(() => toIob2(t("PER"), "IOB2"), /tags\[0\].*invalid tag 'PER'/);
  assert.throws(() => toIob2(t("B-"), "BIOES"), /invalid tag 'B-'/);
  assert.throws(() => chunksToTags([{ type: "X", start: 1, end: 3 }], 2, "IOB2"), LstmNerError);
  assert.throws(
    () =>
      chunksToTags(
        [
          { type: "X", start: 0, end: 2 },
          { type: "Y", start: 1, end: 2 },
        ],
        3,
        "IOB2",
      ),
    /overlaps/,
  );
});

test("detectScheme", () => {
  assert.equal(detectScheme(t("O B-PER I-PER O")), "IOB2");
  assert.equal(detectScheme(t("O I-PER I-PER O")), "IOB1");
  assert.equal(detectScheme(t("I-PER B-PER O")), "IOB1");
  assert.equal(detectScheme(t("O B-PER E-PER")), "BIOES");
  assert.equal(detectScheme(t("O O")), "IOB2");
  assert.equal(detectScheme([]), "IOB2");
  // Many sentences; a stray I- in IOB2 data does not make it IOB1.
  assert.equal(detectScheme([t("O I-PER"), t("B-LOC O")]), "IOB2");
  assert.equal(detectScheme([t("O I-PER"), t("I-LOC O"), t("O S-X")]), "BIOES");
  assert.equal(detectScheme([t("O I-PER"), t("I-LOC B-LOC")]), "IOB1");
});

test("entityTypes and labelsForScheme", () => {
  assert.deepEqual(entityTypes(CONLL_LABELS), ["PER", "ORG", "LOC", "MISC"]);
  assert.deepEqual(labelsForScheme(["PER", "ORG", "LOC", "MISC"], "IOB2"), [...CONLL_LABELS]);
  assert.deepEqual(labelsForScheme(["PER"], "BIOES"), ["O", "B-PER", "I-PER", "E-PER", "S-PER"]);
  assert.deepEqual(labelsForScheme(["PER"], "IOB1"), ["O", "B-PER", "I-PER"]);
  assert.deepEqual(entityTypes(["O", "S-A", "B-B", "E-A"]), ["A", "B"]);
});
