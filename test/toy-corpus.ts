/**
 * A small synthetic NER corpus and matching word vectors, made on the fly so
 * the end-to-end tests need no real data: template sentences with people,
 * organisations, places and events, in CoNLL-2003's 4-column layout.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { Rng } from "../src/util/random.js";

const PER = [["John", "Smith"], ["Maria", "Garcia"], ["Wei", "Zhang"], ["Ahmed", "Khan"], ["Anna"], ["Peter", "Jones"], ["Clinton"], ["Yeltsin"]];
const ORG = [["Reuters"], ["Aarhus", "University"], ["Bank", "of", "England"], ["Microsoft"], ["United", "Nations"], ["Ajax"], ["Red", "Cross"]];
const LOC = [["Denmark"], ["London"], ["New", "York"], ["Paris"], ["Moscow"], ["South", "Africa"], ["Tokyo"], ["Bonn"]];
const MISC = [["German"], ["French"], ["World", "Cup"], ["Olympic"], ["Scottish"], ["Nobel", "Prize"]];
const FILLER = ["the", "said", "on", "monday", "that", "it", "will", "be", "a", "good", "year", "for", "we", "and", "has", "new", "plans", "talks", "after"];

type Part = string | [string, string[][]];
const TEMPLATES: Part[][] = [
  [["PER", PER], "said", "on", "monday", "that", ["ORG", ORG], "will", "open", "in", ["LOC", LOC], "."],
  [["ORG", ORG], "hired", ["PER", PER], "after", "talks", "in", ["LOC", LOC], "."],
  ["the", ["MISC", MISC], "team", "beat", ["ORG", ORG], "in", ["LOC", LOC], "."],
  [["PER", PER], "lives", "in", ["LOC", LOC], "and", "works", "for", ["ORG", ORG], "."],
  ["it", "was", "a", "good", "year", "for", ["PER", PER], "."],
  [["LOC", LOC], "and", ["LOC", LOC], "held", "new", "talks", "on", "the", ["MISC", MISC], "plans", "."],
];

/** `n` sentences as CoNLL-2003 text (token POS chunk NER, IOB2), with a -DOCSTART- line. */
export function toyConll(n: number, seed: number): string {
  const rng = new Rng(seed);
  const lines = ["-DOCSTART- -X- -X- O", ""];
  for (let i = 0; i < n; i++) {
    const tpl = TEMPLATES[rng.int(TEMPLATES.length)]!;
    for (const part of tpl) {
      if (typeof part === "string") {
        lines.push(`${part} NN I-NP O`);
      } else {
        const [type, names] = part;
        const name = names[rng.int(names.length)]!;
        name.forEach((w, j) => lines.push(`${w} NNP I-NP ${j === 0 ? "B" : "I"}-${type}`));
      }
    }
    lines.push("");
  }
  return lines.join("\n");
}

/** GloVe-format text vectors (lowercased words) for the toy vocabulary, with some words left out (they become UNK). */
export function toyGlove(dim: number, seed: number): string {
  const rng = new Rng(seed);
  const words = new Set<string>();
  for (const list of [PER, ORG, LOC, MISC]) for (const name of list) for (const w of name) words.add(w.toLowerCase());
  for (const w of [...FILLER, "open", "in", "hired", "team", "beat", "lives", "works", "was", "held", ".", "of"]) words.add(w);
  words.delete("yeltsin"); // an out-of-vocabulary name
  const rows: string[] = [];
  for (const w of words) {
    const v: string[] = [];
    for (let j = 0; j < dim; j++) v.push((rng.normal() * 0.5).toFixed(5));
    rows.push(`${w} ${v.join(" ")}`);
  }
  return rows.join("\n") + "\n";
}

/**
 * Writes a toy train/dev CoNLL pair (`train.txt`, `dev.txt`: `trainSentences`
 * and 60 sentences) and matching vectors (`gloveName`) into `dir`, as the CLI
 * tests read them; returns their paths.
 */
export function writeToyData(dir: string, trainSentences = 240, gloveName = "toy.glove.txt"): { trainFile: string; devFile: string; glove: string } {
  const trainFile = path.join(dir, "train.txt");
  const devFile = path.join(dir, "dev.txt");
  const glove = path.join(dir, gloveName);
  writeFileSync(trainFile, toyConll(trainSentences, 1));
  writeFileSync(devFile, toyConll(60, 2));
  writeFileSync(glove, toyGlove(12, 3));
  return { trainFile, devFile, glove };
}
