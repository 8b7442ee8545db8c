/**
 * The classroom pipeline, step by step, with the library (docs/library.md's
 * example). In your own project, import from "lstm-ner" instead.
 *
 *   node dist/examples/classroom.js [DATASET] [VECTORS] [EPOCHS]
 * e.g. node dist/examples/classroom.js ../shared/data/conllpp ../shared/data/glove/glove.6B.100d.341k.txt.gz 10
 */
import {
  loadDataset, loadVectors, getKernels, NerModel, Rng, shuffled, batch,
  toIds, labelIds, padBatch, evaluate, formatConllevalReport, saveNerModel, createOptimizer,
} from "../src/index.js";

const [dataset = "conllpp", vectorsName = "glove-wiki-gigaword-50", epochs = "10", out = "models/classroom.safetensors"] = process.argv.slice(2);

// 1. CoNLL++: train / validation / test, labels O B-PER I-PER B-ORG I-ORG B-LOC I-LOC B-MISC I-MISC (ids 0..8)
const ds = await loadDataset(dataset);
// 2. GloVe; the model's embedding = GloVe rows + UNK (mean vector) + PAD (zeros)
const glove = await loadVectors(vectorsName);
// 4. frozen embedding → BiLSTM (256) → linear to labels + 1 outputs → log-softmax
const model = NerModel.create(await getKernels(), {
  vectors: glove, labels: ds.labels, scheme: "IOB2", hidden: 256, bidirectional: true,
  outputs: ds.labels.length + 1, trainableEmbeddings: false, seed: 1,
});
const enc = model.encoder(); // lowercase, unknown words → UNK; PAD id
const opt = createOptimizer(model.kernels, model.params(), 1e-3); // Adam
const rng = new Rng(1);
for (let epoch = 1; epoch <= Number(epochs); epoch++) {
  // 3. shuffle with a seed, batches of 32, ids, pad with PAD and label -1
  for (const sents of batch(shuffled(ds.train, rng), 32)) {
    const b = padBatch(sents.map((s) => ({ ids: toIds(s.tokens, enc.lookup), labels: labelIds(s.tags, ds.labels) })), enc.padId);
    model.lossAndGrad(b); // mean NLL over non-pad positions, gradients accumulated
    opt.step();
    opt.zeroGrad();
  }
  // 5. entity-level precision / recall / F1, exactly as conlleval computes them
  console.log(`epoch ${epoch}`);
  console.log(formatConllevalReport(evaluate(model, ds.validation, enc)));
}
await saveNerModel(out, model, { note: "classroom run" });
console.log(model.tag([["Ross", "works", "at", "Aarhus", "University", "."]]));
