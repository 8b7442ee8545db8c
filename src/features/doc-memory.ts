/**
 * The document memory (Luo, Xiao & Zhao 2020) as columns beside the top
 * BiLSTM output: each token attends to the stored outputs of the other
 * occurrences of its word in its document (`DocMemoryAttention`), and the
 * output layer reads [h ; g]. Its per-token data are memory addresses over
 * whole documents (memory-addresses.ts), so tagging runs in two passes: one
 * fills the memory, one tags. Spec field `docMemory`: true, or false/absent.
 */
import { LstmNerError } from "../util/errors.js";
import type { Batch } from "../nn/batch.js";
import type { FeatureMaker, OutputFeature, TokenData } from "../nn/feature-layer.js";
import { DocMemoryAttention, MemoryStore, type BatchMemory } from "../nn/memory-attention.js";
import { collateMemory, memoryAddresses, type MemoryAddresses } from "./memory-addresses.js";
import { registerFeature } from "./kind.js";
import { checkValue } from "./spec.js";

declare module "./spec.js" {
  interface FeatureFields {
    /** Document memory (default false): each token also reads the other occurrences of its word in its document. */
    docMemory?: boolean;
  }
}

/** The `memory` per-token data: each token's slot and the slots it reads, over the documents of one call. */
function memoryData(skip: readonly number[]): TokenData<MemoryAddresses, BatchMemory> {
  return {
    key: "memory",
    documentWide: true,
    encode: (_sentences, ids, docs) => memoryAddresses(ids, docs, { skip }),
    collate: (items, batch) => collateMemory(items, batch.lengths, batch.maxLen),
  };
}

/** The batch's memory addresses, checked against its shape. */
function memoryOf(batch: Batch): BatchMemory {
  const m = batch.inputs?.memory as BatchMemory | undefined;
  if (m === undefined) throw new LstmNerError("batch.inputs.memory is missing (the model has a document memory: encode whole documents with encodeAll)");
  const rows = batch.maxLen * batch.size;
  if (m.slots.length !== rows || m.offsets.length !== rows + 1 || m.offsets[rows] !== m.refs.length) {
    throw new LstmNerError(`batch.inputs.memory does not fit the batch (${m.slots.length} slots and ${m.offsets.length} offsets for ${rows} rows, ${m.refs.length} refs)`);
  }
  if (m.refs.some((r) => !(r >= 0))) throw new LstmNerError("batch.inputs.memory.refs holds a negative slot");
  return m;
}

/**
 * The document memory feature (parameter `memory.w`; `out.w` is then 4·hidden wide). The stored outputs
 * are the top BiLSTM's (before dropout), kept without gradient in two stores: training's, written by every
 * training step after reading it (so a batch sees its sentences' outputs from the last time they were
 * trained on), and tagging's, filled with whole documents before they are tagged.
 */
export const docMemory = registerFeature({
  field: "docMemory",
  optional: true,
  label: "doc memory",
  on: (spec) => spec.docMemory === true,
  check: (spec, prefix, fail) => {
    if (spec.docMemory !== undefined) checkValue(spec.docMemory, "boolean", `${prefix}docMemory`, fail);
  },
  data: (env) => memoryData(env.skip),
  output: (env): FeatureMaker<OutputFeature> => {
    const D = 2 * env.hidden;
    return {
      width: D,
      draws: "first", // W starts as the identity: nothing is drawn
      build: (k): OutputFeature => {
        const attention = new DocMemoryAttention(k, D, "memory");
        const stores = { train: new MemoryStore(D), tag: new MemoryStore(D) };
        return {
          width: D,
          check: (batch) => void memoryOf(batch),
          forward: (h, batch, phase, keep) => attention.forward(h, batch.maxLen * batch.size, memoryOf(batch), phase === "tag" ? stores.tag : stores.train, keep),
          backward: (dy) => attention.backward(dy),
          observe: (h, batch, phase) => {
            // Store the output of every token that has a memory slot.
            const slots = memoryOf(batch).slots;
            const store = phase === "fill" ? stores.tag : stores.train;
            for (let i = 0; i < slots.length; i++) if (slots[i]! >= 0) store.write(slots[i]!, h.subarray(i * D, (i + 1) * D));
          },
          forget: (which) => stores[which].clear(),
          get held() {
            return { train: stores.train.size, tag: stores.tag.size };
          },
          params: () => attention.params(),
          quantize: () => undefined,
          dispose: () => {
            attention.dispose();
            stores.train.clear();
            stores.tag.clear();
          },
        };
      },
    };
  },
});
